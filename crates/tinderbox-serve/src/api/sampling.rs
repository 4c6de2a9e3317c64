//! OpenAI's sampling settings and what they become: one [`GenerationConfig`] per choice, checked
//! against the server's limits and the model's context (`temperature` 0 is greedy; `top_k`,
//! `min_p` and `repetition_penalty` as vLLM takes them; `stop` as up to four strings).

use serde::Deserialize;
use serde_json::Value;
use tinderbox_generate::GenerationConfig;

use super::kind_of;
use crate::app::AppState;
use crate::error::ApiError;
use crate::generation::Generator;

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

/// One configuration per choice (never none), from the request's settings and the server's
/// limits.
pub(super) fn configs(
    state: &AppState,
    generator: &Generator,
    sampling: &Sampling,
    prompt_tokens: usize,
    default_max: usize,
) -> Result<Vec<GenerationConfig>, ApiError> {
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
    let config = GenerationConfig {
        max_new_tokens: max_new,
        do_sample,
        temperature: if do_sample { temperature } else { 1.0 },
        top_k: sampling.top_k.unwrap_or(0),
        top_p: sampling.top_p.unwrap_or(1.0),
        min_p: sampling.min_p.unwrap_or(0.0),
        repetition_penalty: sampling.repetition_penalty.unwrap_or(1.0),
        eos_token_ids: generator.eos_token_ids.clone(),
        stop_strings: stops,
        seed,
        ..GenerationConfig::default()
    };
    config.validate().map_err(|e| match e {
        tinderbox_generate::GenerateError::Config { name, .. } => {
            ApiError::invalid(name, e.to_string())
        }
        other => ApiError::bad_request(other.to_string()),
    })?;
    // Choice i samples with seed + i; the rest is the same for every choice.
    Ok((0..n as u64)
        .map(|i| GenerationConfig {
            seed: seed.wrapping_add(i),
            ..config.clone()
        })
        .collect())
}
