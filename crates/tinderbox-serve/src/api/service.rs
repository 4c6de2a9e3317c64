//! `GET /health`, `GET /v1/models`, `GET /metrics`, the page at `/`, and the JSON 404.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde_json::{Value, json};

use crate::app::AppState;
use crate::error::ApiError;

/// 200 `{"status": "ok"}` while serving, 503 `{"status": "shutting_down"}` after a shutdown
/// signal.
pub async fn health(State(state): State<Arc<AppState>>) -> Response {
    if state.draining.load(Ordering::Relaxed) {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "shutting_down"})),
        )
            .into_response()
    } else {
        Json(json!({"status": "ok"})).into_response()
    }
}

/// The models served, as OpenAI lists them.
pub async fn models(State(state): State<Arc<AppState>>) -> Json<Value> {
    let data: Vec<Value> = state
        .model_ids()
        .into_iter()
        .map(|(id, kind)| {
            json!({
                "id": id,
                "object": "model",
                "created": state.started,
                "owned_by": "tinderbox",
                "kind": kind,
            })
        })
        .collect();
    Json(json!({"object": "list", "data": data}))
}

/// Prometheus' text format.
pub async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.render(),
    )
        .into_response()
}

/// A page to try the server: embeddings similarity, a classification, a streamed chat answer.
pub async fn page() -> Html<&'static str> {
    Html(include_str!("../../static/index.html"))
}

/// Any other path.
pub async fn not_found() -> ApiError {
    ApiError {
        status: StatusCode::NOT_FOUND,
        kind: "not_found_error",
        message: "no such endpoint; see GET /v1/models and docs/serving.md".into(),
        param: None,
        retry_after: None,
    }
}
