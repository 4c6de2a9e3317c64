//! `POST /v1/classify`: texts in (`input`, a string or a list), each text's label with its
//! probability and every class's probability out.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{JsonBody, texts_of};
use crate::app::AppState;
use crate::error::ApiError;

/// The request body.
#[derive(Debug, Deserialize)]
pub struct ClassifyRequest {
    /// A string or a list of strings.
    #[serde(default)]
    pub input: Value,
    /// The model (absent: the one served).
    #[serde(default)]
    pub model: Option<String>,
    /// Cut texts longer than the model reads, as in training (the default); `false` refuses
    /// them with 422.
    #[serde(default = "cut_by_default")]
    pub truncate: bool,
}

fn cut_by_default() -> bool {
    true
}

/// Classifies the inputs.
pub async fn classify(
    State(state): State<Arc<AppState>>,
    JsonBody(request): JsonBody<ClassifyRequest>,
) -> Result<Json<Value>, ApiError> {
    let (served, labels) = state
        .classifier
        .as_ref()
        .ok_or_else(|| ApiError::not_loaded("classifier", "--classifier RUN_DIR"))?;
    served.check_model(request.model.as_deref())?;
    let texts = texts_of(&request.input, state.config.max_inputs)?;
    let out = served.inner.submit(texts, request.truncate).await?;
    let mut data = Vec::with_capacity(out.vectors.len());
    for (index, probabilities) in out.vectors.iter().enumerate() {
        if probabilities.len() != labels.len() {
            return Err(ApiError::internal(format!(
                "the classifier gave {} probabilities for {} labels",
                probabilities.len(),
                labels.len()
            )));
        }
        let best = (0..labels.len())
            .max_by(|&a, &b| probabilities[a].total_cmp(&probabilities[b]))
            .unwrap_or(0);
        let all: Vec<Value> = labels
            .iter()
            .zip(probabilities)
            .map(|(label, p)| json!({"label": label, "score": p}))
            .collect();
        data.push(json!({
            "object": "classification",
            "index": index,
            "label": labels[best],
            "score": probabilities[best],
            "probabilities": all,
        }));
    }
    Ok(Json(json!({
        "object": "list",
        "data": data,
        "model": served.id,
        "usage": {"prompt_tokens": out.tokens, "total_tokens": out.tokens},
    })))
}
