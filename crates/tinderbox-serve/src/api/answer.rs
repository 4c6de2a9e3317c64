//! Answering a generation request: whole (`chat.completion`, `text_completion`) or as
//! server-sent events, one chunk per piece of text, a chunk with `finish_reason` per choice, a
//! usage chunk when asked, then `data: [DONE]`. Stop strings are cut here ([`StopFilter`]).

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Json;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tinderbox_generate::FinishReason;
use tokio::sync::mpsc;

use super::completions::generator;
use super::sampling::{Sampling, configs};
use super::stop::StopFilter;
use super::unix_now;
use crate::app::AppState;
use crate::error::ApiError;
use crate::generation::GenEvent;

/// Which endpoint, for the shapes of its answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// `/v1/completions`.
    Completion,
    /// `/v1/chat/completions`.
    Chat,
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

fn finish_reason(finish: FinishReason) -> &'static str {
    match finish {
        FinishReason::Length => "length",
        FinishReason::Eos | FinishReason::StopString => "stop",
    }
}

/// Runs the request and answers it whole or as a stream.
pub(super) async fn respond(
    state: &AppState,
    kind: Kind,
    model: &str,
    ids: Vec<u32>,
    sampling: &Sampling,
    default_max: usize,
) -> Result<Response, ApiError> {
    let generator = &generator(state)?.inner;
    let prompt_tokens = ids.len();
    let configs = configs(state, generator, sampling, prompt_tokens, default_max)?;
    let (n, stops) = (configs.len(), configs[0].stop_strings.clone());
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
        answer.absorb(event)?;
        if answer.open == 0 {
            break;
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

    /// Records one worker event: the choice's text, cut at stop strings, and its end. Returns
    /// the choice, the text released and the end, if it ended; the request's error if it failed.
    fn absorb(
        &mut self,
        event: Option<GenEvent>,
    ) -> Result<(usize, String, Option<FinishReason>), ApiError> {
        match event {
            Some(GenEvent::Text { index, text }) => {
                let out = self.filters[index].push(&text);
                self.texts[index].push_str(&out);
                Ok((index, out, None))
            }
            Some(GenEvent::Done {
                index,
                finish,
                tokens,
            }) => {
                let rest = self.filters[index].finish();
                self.texts[index].push_str(&rest);
                self.finish[index] = Some(finish);
                self.tokens += tokens;
                self.open -= 1;
                Ok((index, rest, Some(finish)))
            }
            Some(GenEvent::Failed(e)) => Err(e),
            None => Err(ApiError::internal("the generation worker stopped")),
        }
    }

    /// Turns one worker event into chunks; true once the stream is over.
    fn stream_event(
        &mut self,
        event: Option<GenEvent>,
        queue: &mut VecDeque<String>,
        include_usage: bool,
    ) -> bool {
        let (index, text, finish) = match self.absorb(event) {
            Ok(update) => update,
            Err(e) => {
                queue.push_back(e.body().to_string());
                queue.push_back("[DONE]".into());
                return true;
            }
        };
        if !text.is_empty() {
            queue.push_back(self.chunk(index, Some(&text), None, false).to_string());
        }
        let Some(finish) = finish else {
            return false;
        };
        let reason = finish_reason(finish);
        queue.push_back(self.chunk(index, None, Some(reason), false).to_string());
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
}
