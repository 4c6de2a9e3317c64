//! `POST /v1/embeddings`, in OpenAI's shapes: `input` a string or a list of strings,
//! `encoding_format` `float` (default) or `base64` (little-endian f32, what the official Python
//! client asks for), `data[i].embedding`, `usage.prompt_tokens`. `truncate: true` (as
//! text-embeddings-inference takes it) cuts long texts instead of refusing them.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use base64::Engine;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{JsonBody, texts_of};
use crate::app::AppState;
use crate::error::ApiError;

/// The request body.
#[derive(Debug, Deserialize)]
pub struct EmbeddingsRequest {
    /// A string or a list of strings.
    #[serde(default)]
    pub input: Value,
    /// The model (absent: the one served).
    #[serde(default)]
    pub model: Option<String>,
    /// `float` or `base64`.
    #[serde(default)]
    pub encoding_format: Option<String>,
    /// Output size: only the model's own is possible.
    #[serde(default)]
    pub dimensions: Option<usize>,
    /// Cut texts longer than the model reads instead of refusing them.
    #[serde(default)]
    pub truncate: bool,
}

/// Embeds the inputs.
pub async fn embeddings(
    State(state): State<Arc<AppState>>,
    JsonBody(request): JsonBody<EmbeddingsRequest>,
) -> Result<Json<Value>, ApiError> {
    let served = state
        .embeddings
        .as_ref()
        .ok_or_else(|| ApiError::not_loaded("embeddings", "--embeddings"))?;
    served.check_model(request.model.as_deref())?;
    let base64 = match request.encoding_format.as_deref() {
        None | Some("float") => false,
        Some("base64") => true,
        Some(other) => {
            return Err(ApiError::invalid(
                "encoding_format",
                format!("encoding_format {other:?} is not one of \"float\", \"base64\""),
            ));
        }
    };
    let texts = texts_of(&request.input, state.config.max_inputs)?;
    let out = served.inner.submit(texts, request.truncate).await?;
    let width = out.vectors.first().map_or(0, Vec::len);
    if let Some(d) = request.dimensions
        && d != width
    {
        return Err(ApiError::invalid(
            "dimensions",
            format!("this model's embeddings have {width} dimensions, not {d}"),
        ));
    }
    let data: Vec<Value> = out
        .vectors
        .iter()
        .enumerate()
        .map(|(index, vector)| {
            let embedding = if base64 {
                let bytes: Vec<u8> = vector.iter().flat_map(|x| x.to_le_bytes()).collect();
                json!(base64::engine::general_purpose::STANDARD.encode(bytes))
            } else {
                json!(vector)
            };
            json!({"object": "embedding", "index": index, "embedding": embedding})
        })
        .collect();
    Ok(Json(json!({
        "object": "list",
        "data": data,
        "model": served.id,
        "usage": {"prompt_tokens": out.tokens, "total_tokens": out.tokens},
    })))
}
