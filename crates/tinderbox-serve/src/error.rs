//! Errors: [`ApiError`] is what a client is answered (a status and OpenAI's error object),
//! [`ServeError`] what stops a server from starting.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// An error answered to a client, as OpenAI's API shapes it:
/// `{"error": {"message", "type", "param", "code"}}` with a status that fits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// OpenAI's error type: `invalid_request_error`, `not_found_error`, `server_error`...
    pub kind: &'static str,
    /// What went wrong, naming the field, value or limit.
    pub message: String,
    /// The request field at fault, if one is.
    pub param: Option<String>,
    /// Seconds after which retrying may succeed (sent as `Retry-After`).
    pub retry_after: Option<u64>,
}

impl ApiError {
    fn new(status: StatusCode, kind: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            kind,
            message: message.into(),
            param: None,
            retry_after: None,
        }
    }

    /// 400: a request that is malformed or asks for something out of range.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request_error", message)
    }

    /// 400 about one field.
    pub fn invalid(param: &str, message: impl Into<String>) -> Self {
        Self {
            param: Some(param.to_string()),
            ..Self::bad_request(message)
        }
    }

    /// 404: a model this server does not serve.
    pub fn unknown_model(model: &str, served: &[String]) -> Self {
        Self {
            param: Some("model".into()),
            ..Self::new(
                StatusCode::NOT_FOUND,
                "not_found_error",
                format!(
                    "the model `{model}` is not served here for this endpoint; served: {}",
                    if served.is_empty() {
                        "none".to_string()
                    } else {
                        served.join(", ")
                    }
                ),
            )
        }
    }

    /// 404: an endpoint whose model was not loaded.
    pub fn not_loaded(what: &str, option: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found_error",
            format!("this server has no {what} model; start it with {option}"),
        )
    }

    /// 413: a body over the size limit.
    pub fn body_too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid_request_error",
            format!("the request body is larger than the limit of {limit} bytes"),
        )
    }

    /// 422: an input over a limit on tokens or items.
    pub fn too_long(param: &str, message: impl Into<String>) -> Self {
        Self {
            param: Some(param.to_string()),
            ..Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_request_error",
                message,
            )
        }
    }

    /// 503 with `Retry-After`: the queue is full.
    pub fn overloaded(queue: &str, capacity: usize, retry_after: u64) -> Self {
        Self {
            retry_after: Some(retry_after),
            ..Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "server_overloaded",
                format!(
                    "the {queue} queue is full ({capacity} requests waiting); retry after \
                     {retry_after} s"
                ),
            )
        }
    }

    /// 503: the server is shutting down.
    pub fn shutting_down() -> Self {
        Self {
            retry_after: Some(1),
            ..Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "server_shutting_down",
                "the server is shutting down and takes no new requests",
            )
        }
    }

    /// 500: the model failed.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "server_error", message)
    }

    /// The JSON body.
    pub fn body(&self) -> serde_json::Value {
        json!({
            "error": {
                "message": self.message,
                "type": self.kind,
                "param": self.param,
                "code": self.status.as_u16(),
            }
        })
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.status, self.message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, axum::Json(self.body())).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// Why a server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The address could not be bound.
    #[error("cannot listen on {address}: {source}")]
    Bind {
        /// The address.
        address: String,
        /// Why.
        source: std::io::Error,
    },
    /// Serving failed.
    #[error("serving: {0}")]
    Io(#[from] std::io::Error),
    /// A setting out of range.
    #[error("{name} = {value}: {expected}")]
    Config {
        /// The setting.
        name: &'static str,
        /// Its value.
        value: String,
        /// What it must be.
        expected: &'static str,
    },
    /// A model thread could not be started.
    #[error("starting the {0} worker thread: {1}")]
    Worker(&'static str, std::io::Error),
}
