//! `POST /v1/completions` and `POST /v1/chat/completions`, in OpenAI's shapes: the request
//! bodies, and prompts or chat messages (through the model's chat template) turned into token
//! ids. [`sampling`](super::sampling) maps the settings to generation configurations and
//! `answer` runs the request and answers it, whole or streamed.

use std::sync::Arc;

use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;
use serde_json::Value;
use tinderbox_tokenize::ChatMessage;

use super::answer::{Kind, respond};
use super::sampling::Sampling;
use super::{JsonBody, kind_of};
use crate::app::AppState;
use crate::error::ApiError;
use crate::generation::Generator;

/// `/v1/completions`' body.
#[derive(Debug, Deserialize)]
pub struct CompletionRequest {
    /// The model (absent: the one served).
    #[serde(default)]
    pub model: Option<String>,
    /// A string, a list of one string, or a list of token ids.
    #[serde(default)]
    pub prompt: Value,
    /// Not supported.
    #[serde(default)]
    pub echo: bool,
    /// The sampling settings.
    #[serde(flatten)]
    pub sampling: Sampling,
}

/// One chat message: `content` a string or a list of `{"type": "text", "text": ...}` parts.
#[derive(Debug, Deserialize)]
pub struct MessageIn {
    /// `system`, `user` or `assistant`.
    pub role: String,
    /// The text.
    #[serde(default)]
    pub content: Value,
}

/// `/v1/chat/completions`' body.
#[derive(Debug, Deserialize)]
pub struct ChatRequest {
    /// The model (absent: the one served).
    #[serde(default)]
    pub model: Option<String>,
    /// The conversation.
    pub messages: Vec<MessageIn>,
    /// The sampling settings.
    #[serde(flatten)]
    pub sampling: Sampling,
}

/// `POST /v1/completions`.
pub async fn completions(
    State(state): State<Arc<AppState>>,
    JsonBody(request): JsonBody<CompletionRequest>,
) -> Result<Response, ApiError> {
    let served = generator(&state)?;
    served.check_model(request.model.as_deref())?;
    if request.echo {
        return Err(ApiError::invalid("echo", "echo is not supported"));
    }
    let gen_ = &served.inner;
    let ids = match &request.prompt {
        Value::String(text) => encode(gen_, text)?,
        Value::Array(items) if items.len() == 1 && items[0].is_string() => {
            encode(gen_, items[0].as_str().unwrap_or_default())?
        }
        Value::Array(items) if !items.is_empty() && items.iter().all(Value::is_u64) => items
            .iter()
            .map(|v| {
                let id = v.as_u64().unwrap_or(u64::MAX);
                u32::try_from(id)
                    .ok()
                    .filter(|&id| (id as usize) < gen_.vocab_size)
                    .ok_or_else(|| {
                        ApiError::invalid(
                            "prompt",
                            format!(
                                "token id {id} is past the vocabulary of {}",
                                gen_.vocab_size
                            ),
                        )
                    })
            })
            .collect::<Result<Vec<u32>, _>>()?,
        Value::Array(_) => {
            return Err(ApiError::invalid(
                "prompt",
                "prompt must be a string, a list of one string, or a list of token ids (one \
                 prompt per request)",
            ));
        }
        other => {
            return Err(ApiError::invalid(
                "prompt",
                format!("prompt is {}; send a string", kind_of(other)),
            ));
        }
    };
    // OpenAI's default for this endpoint is 16 new tokens.
    respond(
        &state,
        Kind::Completion,
        &served.id,
        ids,
        &request.sampling,
        16,
    )
    .await
}

/// `POST /v1/chat/completions`.
pub async fn chat_completions(
    State(state): State<Arc<AppState>>,
    JsonBody(request): JsonBody<ChatRequest>,
) -> Result<Response, ApiError> {
    let served = generator(&state)?;
    served.check_model(request.model.as_deref())?;
    let gen_ = &served.inner;
    let template = gen_.chat_template.as_ref().ok_or_else(|| {
        ApiError::bad_request("this model has no chat template; use /v1/completions")
    })?;
    if request.messages.is_empty() {
        return Err(ApiError::invalid("messages", "messages is an empty list"));
    }
    let mut messages = Vec::with_capacity(request.messages.len());
    for (i, message) in request.messages.iter().enumerate() {
        if !matches!(
            message.role.as_str(),
            "system" | "user" | "assistant" | "developer"
        ) {
            return Err(ApiError::invalid(
                "messages",
                format!(
                    "messages[{i}].role is {:?}; expected system, developer, user or assistant",
                    message.role
                ),
            ));
        }
        let role = if message.role == "developer" {
            "system"
        } else {
            message.role.as_str()
        };
        messages.push(ChatMessage::new(role, content_text(&message.content, i)?));
    }
    let text = template
        .render(&messages, true)
        .map_err(|e| ApiError::bad_request(format!("rendering the chat template: {e}")))?;
    let ids = encode(gen_, &text)?;
    let default = state.config.max_tokens;
    respond(
        &state,
        Kind::Chat,
        &served.id,
        ids,
        &request.sampling,
        default,
    )
    .await
}

pub(super) fn generator(state: &AppState) -> Result<&super::Served<Generator>, ApiError> {
    state
        .generator
        .as_ref()
        .ok_or_else(|| ApiError::not_loaded("generation", "--generator"))
}

fn encode(generator: &Generator, text: &str) -> Result<Vec<u32>, ApiError> {
    if text.is_empty() {
        return Err(ApiError::invalid("prompt", "the prompt is empty"));
    }
    let ids = generator
        .tokenizer
        .encode(text, true)
        .map_err(|e| ApiError::bad_request(format!("tokenizing the prompt: {e}")))?;
    if ids.is_empty() {
        return Err(ApiError::invalid("prompt", "the prompt is empty"));
    }
    Ok(ids)
}

/// A message's text: a string, or the text parts of a list joined.
fn content_text(content: &Value, i: usize) -> Result<String, ApiError> {
    match content {
        Value::String(s) => Ok(s.clone()),
        Value::Array(parts) => parts
            .iter()
            .map(
                |part| match (part["type"].as_str(), part["text"].as_str()) {
                    (Some("text"), Some(text)) => Ok(text.to_string()),
                    _ => Err(ApiError::invalid(
                        "messages",
                        format!("messages[{i}].content holds a part that is not text"),
                    )),
                },
            )
            .collect::<Result<Vec<_>, _>>()
            .map(|parts| parts.join("\n")),
        other => Err(ApiError::invalid(
            "messages",
            format!("messages[{i}].content is {}; send a string", kind_of(other)),
        )),
    }
}
