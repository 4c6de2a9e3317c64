//! `POST /v1/completions` and `POST /v1/chat/completions`, in OpenAI's shapes: sampling settings
//! mapped to [`GenerationConfig`] (`temperature` 0 is greedy; `top_k`, `min_p` and
//! `repetition_penalty` as vLLM takes them), `n` choices, `stop` (cut before, not included),
//! `max_tokens`, `seed`, and `stream: true` as server-sent events, one chunk per piece of text,
//! ended by `data: [DONE]`.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Json;
use axum::extract::State;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use tinderbox_generate::{FinishReason, GenerationConfig};
use tinderbox_tokenize::ChatMessage;
use tokio::sync::mpsc;

use super::stop::StopFilter;
use super::{JsonBody, kind_of, unix_now};
use crate::app::AppState;
use crate::error::ApiError;
use crate::generation::{GenEvent, Generator};

/// The sampling settings both endpoints take.
#[derive(Debug, Default, Deserialize)]
pub struct Sampling {
    /// New tokens at most.
    pub max_tokens: Option<usize>,
    /// The chat endpoint's newer name for `max_tokens`.
    pub max_completion_tokens: Option<usize>,
    /// 0 to 2; 0 is greedy decoding. Default 1.
    pub temperature: Option<f64>,
    /// Nucleus sampling's mass, `(0, 1]`.
    pub top_p: Option<f64>,
    /// Keep the k most likely tokens (0: all; an extension, as vLLM's).
    pub top_k: Option<usize>,
    /// Drop tokens below `min_p` times the most likely one (an extension).
    pub min_p: Option<f64>,
    /// CTRL's repetition penalty (an extension; 1 for none).
    pub repetition_penalty: Option<f64>,
    /// Choices to generate.
    pub n: Option<usize>,
    /// Stream server-sent events.
    pub stream: Option<bool>,
    /// `{"include_usage": true}` adds a last chunk with the usage.
    pub stream_options: Option<Value>,
    /// A string or up to four strings.
    pub stop: Option<Value>,
    /// The sampler's seed (absent: a random one).
    pub seed: Option<u64>,
    /// Not supported unless 0.
    pub presence_penalty: Option<f64>,
    /// Not supported unless 0.
    pub frequency_penalty: Option<f64>,
    /// Not supported.
    pub logprobs: Option<Value>,
}

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

/// Which endpoint, for the shapes of its answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Completion,
    Chat,
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

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

fn generator(state: &AppState) -> Result<&super::Served<Generator>, ApiError> {
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

/// The stop strings of `stop`: a string or up to four non-empty strings.
fn stop_strings(stop: Option<&Value>) -> Result<Vec<String>, ApiError> {
    let bad = |m: String| Err(ApiError::invalid("stop", m));
    let stops: Vec<String> = match stop {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => {
            if items.len() > 4 {
                return bad(format!("stop has {} strings; at most 4", items.len()));
            }
            items
                .iter()
                .map(|v| v.as_str().map(str::to_string))
                .collect::<Option<Vec<_>>>()
                .map_or_else(|| bad("stop must hold strings".into()), Ok)?
        }
        Some(other) => {
            return bad(format!(
                "stop is {}; send a string or a list",
                kind_of(other)
            ));
        }
    };
    if stops.iter().any(String::is_empty) {
        return bad("stop strings must not be empty".into());
    }
    Ok(stops)
}

/// One configuration per choice, from the request's settings and the server's limits.
fn configs(
    state: &AppState,
    generator: &Generator,
    sampling: &Sampling,
    prompt_tokens: usize,
    default_max: usize,
) -> Result<(Vec<GenerationConfig>, Vec<String>), ApiError> {
    let limits = &state.config;
    let n = sampling.n.unwrap_or(1);
    if n == 0 || n > limits.max_sequences {
        return Err(ApiError::invalid(
            "n",
            format!("n = {n}: expected 1 to {}", limits.max_sequences),
        ));
    }
    for (name, value) in [
        ("presence_penalty", sampling.presence_penalty),
        ("frequency_penalty", sampling.frequency_penalty),
    ] {
        if value.is_some_and(|v| v != 0.0) {
            return Err(ApiError::invalid(
                name,
                format!("{name} is not supported; use repetition_penalty"),
            ));
        }
    }
    if sampling
        .logprobs
        .as_ref()
        .is_some_and(|v| !v.is_null() && v != &Value::Bool(false))
    {
        return Err(ApiError::invalid("logprobs", "logprobs are not supported"));
    }
    let room = generator.context.saturating_sub(prompt_tokens);
    let asked = sampling.max_completion_tokens.or(sampling.max_tokens);
    if asked.is_none() && room == 0 {
        return Err(ApiError::too_long(
            "messages",
            format!(
                "the context is {} tokens and the prompt has {prompt_tokens}: no room for an answer",
                generator.context
            ),
        ));
    }
    let max_new = asked.unwrap_or(default_max.min(room));
    if max_new == 0 {
        return Err(ApiError::invalid(
            "max_tokens",
            "max_tokens must be at least 1",
        ));
    }
    if max_new > limits.max_tokens {
        return Err(ApiError::too_long(
            "max_tokens",
            format!(
                "max_tokens = {max_new} is more than this server's limit of {}",
                limits.max_tokens
            ),
        ));
    }
    if prompt_tokens + max_new > generator.context {
        return Err(ApiError::too_long(
            if asked.is_some() {
                "max_tokens"
            } else {
                "messages"
            },
            format!(
                "the context is {} tokens: the prompt has {prompt_tokens} and max_tokens asks \
                 for {max_new}; shorten the prompt or lower max_tokens",
                generator.context
            ),
        ));
    }
    let temperature = sampling.temperature.unwrap_or(1.0);
    if !(0.0..=2.0).contains(&temperature) {
        return Err(ApiError::invalid(
            "temperature",
            format!("temperature = {temperature}: expected 0 to 2"),
        ));
    }
    let stops = stop_strings(sampling.stop.as_ref())?;
    let seed = sampling.seed.unwrap_or_else(rand::random);
    let do_sample = temperature > 0.0;
    let configs = (0..n as u64)
        .map(|i| {
            let config = GenerationConfig {
                max_new_tokens: max_new,
                do_sample,
                temperature: if do_sample { temperature } else { 1.0 },
                top_k: sampling.top_k.unwrap_or(0),
                top_p: sampling.top_p.unwrap_or(1.0),
                min_p: sampling.min_p.unwrap_or(0.0),
                repetition_penalty: sampling.repetition_penalty.unwrap_or(1.0),
                eos_token_ids: generator.eos_token_ids.clone(),
                stop_strings: stops.clone(),
                seed: seed.wrapping_add(i),
                ..GenerationConfig::default()
            };
            config.validate().map_err(|e| match e {
                tinderbox_generate::GenerateError::Config { name, .. } => {
                    ApiError::invalid(name, e.to_string())
                }
                other => ApiError::bad_request(other.to_string()),
            })?;
            Ok(config)
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    Ok((configs, stops))
}

fn finish_reason(finish: FinishReason) -> &'static str {
    match finish {
        FinishReason::Length => "length",
        FinishReason::Eos | FinishReason::StopString => "stop",
    }
}

/// Runs the request and answers it whole or as a stream.
async fn respond(
    state: &AppState,
    kind: Kind,
    model: &str,
    ids: Vec<u32>,
    sampling: &Sampling,
    default_max: usize,
) -> Result<Response, ApiError> {
    let generator = &generator(state)?.inner;
    let prompt_tokens = ids.len();
    let (configs, stops) = configs(state, generator, sampling, prompt_tokens, default_max)?;
    let n = configs.len();
    let mut rx = generator.submit(ids, configs)?;
    // The first event before any answer: a request the worker refuses gets its status.
    let first = rx.recv().await;
    if let Some(GenEvent::Failed(e)) = first {
        return Err(e);
    }
    let mut answer = Answer {
        kind,
        id: format!(
            "{}-{}",
            if kind == Kind::Chat {
                "chatcmpl"
            } else {
                "cmpl"
            },
            NEXT_ID.fetch_add(1, Ordering::Relaxed)
        ),
        model: model.to_string(),
        created: unix_now(),
        filters: vec![StopFilter::new(stops); n],
        texts: vec![String::new(); n],
        finish: vec![None; n],
        tokens: 0,
        prompt_tokens,
        open: n,
    };
    if sampling.stream.unwrap_or(false) {
        let include_usage = sampling
            .stream_options
            .as_ref()
            .and_then(|o| o["include_usage"].as_bool())
            .unwrap_or(false);
        let mut queue: VecDeque<String> = VecDeque::new();
        if kind == Kind::Chat {
            for index in 0..n {
                queue.push_back(answer.chunk(index, Some(""), None, true).to_string());
            }
        }
        let done = answer.stream_event(first, &mut queue, include_usage);
        let stream = Streamed {
            answer,
            rx,
            queue,
            done,
            include_usage,
        };
        let events = futures_util::stream::unfold(stream, |mut s| async move {
            loop {
                if let Some(data) = s.queue.pop_front() {
                    return Some((Ok::<_, Infallible>(SseEvent::default().data(data)), s));
                }
                if s.done {
                    return None;
                }
                let event = s.rx.recv().await;
                s.done = s.answer.stream_event(event, &mut s.queue, s.include_usage);
            }
        });
        return Ok(Sse::new(events)
            .keep_alive(KeepAlive::default())
            .into_response());
    }
    let mut event = first;
    loop {
        match event {
            Some(GenEvent::Text { index, text }) => {
                let out = answer.filters[index].push(&text);
                answer.texts[index].push_str(&out);
            }
            Some(GenEvent::Done {
                index,
                finish,
                tokens,
            }) => {
                let rest = answer.filters[index].finish();
                answer.texts[index].push_str(&rest);
                answer.finish[index] = Some(finish);
                answer.tokens += tokens;
                answer.open -= 1;
                if answer.open == 0 {
                    break;
                }
            }
            Some(GenEvent::Failed(e)) => return Err(e),
            None => return Err(ApiError::internal("the generation worker stopped")),
        }
        event = rx.recv().await;
    }
    Ok(Json(answer.whole()).into_response())
}

/// What a request has gathered.
struct Answer {
    kind: Kind,
    id: String,
    model: String,
    created: u64,
    filters: Vec<StopFilter>,
    texts: Vec<String>,
    finish: Vec<Option<FinishReason>>,
    tokens: usize,
    prompt_tokens: usize,
    open: usize,
}

struct Streamed {
    answer: Answer,
    rx: mpsc::UnboundedReceiver<GenEvent>,
    queue: VecDeque<String>,
    done: bool,
    include_usage: bool,
}

impl Answer {
    fn usage(&self) -> Value {
        json!({
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.tokens,
            "total_tokens": self.prompt_tokens + self.tokens,
        })
    }

    /// The whole answer.
    fn whole(&self) -> Value {
        let choices: Vec<Value> = (0..self.texts.len())
            .map(|index| {
                let reason = self.finish[index].map(finish_reason);
                match self.kind {
                    Kind::Chat => json!({
                        "index": index,
                        "message": {"role": "assistant", "content": self.texts[index]},
                        "finish_reason": reason,
                        "logprobs": null,
                    }),
                    Kind::Completion => json!({
                        "index": index,
                        "text": self.texts[index],
                        "finish_reason": reason,
                        "logprobs": null,
                    }),
                }
            })
            .collect();
        json!({
            "id": self.id,
            "object": if self.kind == Kind::Chat { "chat.completion" } else { "text_completion" },
            "created": self.created,
            "model": self.model,
            "choices": choices,
            "usage": self.usage(),
        })
    }

    /// One streamed chunk for choice `index`.
    fn chunk(&self, index: usize, text: Option<&str>, finish: Option<&str>, role: bool) -> Value {
        let choice = match self.kind {
            Kind::Chat => {
                let mut delta = json!({});
                if role {
                    delta["role"] = json!("assistant");
                }
                if let Some(text) = text {
                    delta["content"] = json!(text);
                }
                json!({"index": index, "delta": delta, "finish_reason": finish, "logprobs": null})
            }
            Kind::Completion => json!({
                "index": index,
                "text": text.unwrap_or(""),
                "finish_reason": finish,
                "logprobs": null,
            }),
        };
        json!({
            "id": self.id,
            "object": if self.kind == Kind::Chat { "chat.completion.chunk" } else { "text_completion" },
            "created": self.created,
            "model": self.model,
            "choices": [choice],
        })
    }

    /// Turns one worker event into chunks; true once the stream is over.
    fn stream_event(
        &mut self,
        event: Option<GenEvent>,
        queue: &mut VecDeque<String>,
        include_usage: bool,
    ) -> bool {
        match event {
            Some(GenEvent::Text { index, text }) => {
                let out = self.filters[index].push(&text);
                if !out.is_empty() {
                    queue.push_back(self.chunk(index, Some(&out), None, false).to_string());
                }
                false
            }
            Some(GenEvent::Done {
                index,
                finish,
                tokens,
            }) => {
                let rest = self.filters[index].finish();
                if !rest.is_empty() {
                    queue.push_back(self.chunk(index, Some(&rest), None, false).to_string());
                }
                let reason = finish_reason(finish);
                queue.push_back(self.chunk(index, None, Some(reason), false).to_string());
                self.tokens += tokens;
                self.open -= 1;
                if self.open > 0 {
                    return false;
                }
                if include_usage {
                    let mut last = self.chunk(0, None, None, false);
                    last["choices"] = json!([]);
                    last["usage"] = self.usage();
                    queue.push_back(last.to_string());
                }
                queue.push_back("[DONE]".into());
                true
            }
            Some(GenEvent::Failed(e)) => {
                queue.push_back(e.body().to_string());
                queue.push_back("[DONE]".into());
                true
            }
            None => {
                queue.push_back(
                    ApiError::internal("the generation worker stopped")
                        .body()
                        .to_string(),
                );
                queue.push_back("[DONE]".into());
                true
            }
        }
    }
}
