//! The HTTP handlers: OpenAI's shapes for embeddings and (chat) completions, ours for
//! classification, and the service endpoints.

mod answer;
pub mod classify;
pub mod completions;
pub mod embeddings;
pub mod sampling;
pub mod service;
mod stop;

use axum::extract::{FromRequest, Request};
use futures_util::StreamExt;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::app::AppState;
use crate::error::ApiError;
use std::sync::Arc;

/// A JSON body parsed by serde, with our errors: 413 over the size limit, 400 for malformed
/// JSON or fields (serde's message names the field, line and column).
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned> FromRequest<Arc<AppState>> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &Arc<AppState>) -> Result<Self, ApiError> {
        let limit = state.config.max_body_bytes;
        // An oversized body is read on (and dropped) up to a bound, so that the client, which
        // is still sending it, receives the 413 instead of a broken connection.
        let drain = limit.saturating_mul(8).max(64 << 20);
        let mut stream = req.into_body().into_data_stream();
        let (mut body, mut total) = (Vec::new(), 0usize);
        while let Some(chunk) = stream.next().await {
            let chunk =
                chunk.map_err(|e| ApiError::bad_request(format!("reading the body: {e}")))?;
            total += chunk.len();
            if total <= limit {
                body.extend_from_slice(&chunk);
            } else if total > drain {
                break;
            }
        }
        if total > limit {
            return Err(ApiError::body_too_large(limit));
        }
        if body.is_empty() {
            return Err(ApiError::bad_request(
                "the body is empty; send a JSON object",
            ));
        }
        serde_json::from_slice(&body)
            .map(JsonBody)
            .map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))
    }
}

/// A served model and its id.
#[derive(Debug)]
pub struct Served<T> {
    /// The id clients name it by.
    pub id: String,
    /// Its queue.
    pub inner: T,
}

impl<T> Served<T> {
    /// Checks the request's `model` (absent: this one).
    pub fn check_model(&self, model: Option<&str>) -> Result<(), ApiError> {
        match model {
            Some(m) if m != self.id => {
                Err(ApiError::unknown_model(m, std::slice::from_ref(&self.id)))
            }
            _ => Ok(()),
        }
    }
}

/// The texts of `input`: a string or a non-empty list of at most `max` strings.
pub fn texts_of(input: &Value, max: usize) -> Result<Vec<String>, ApiError> {
    match input {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) => {
            if items.is_empty() {
                return Err(ApiError::invalid("input", "input is an empty list"));
            }
            if items.len() > max {
                return Err(ApiError::too_long(
                    "input",
                    format!(
                        "input has {} items; the limit is {max} per request",
                        items.len()
                    ),
                ));
            }
            items
                .iter()
                .enumerate()
                .map(|(i, item)| match item {
                    Value::String(s) => Ok(s.clone()),
                    other => Err(ApiError::invalid(
                        "input",
                        format!(
                            "input[{i}] is {}, not a string (token ids are not accepted; send text)",
                            kind_of(other)
                        ),
                    )),
                })
                .collect()
        }
        Value::Null => Err(ApiError::invalid("input", "input is missing")),
        other => Err(ApiError::invalid(
            "input",
            format!(
                "input is {}; send a string or a list of strings",
                kind_of(other)
            ),
        )),
    }
}

/// A JSON value's kind, for messages.
pub fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
