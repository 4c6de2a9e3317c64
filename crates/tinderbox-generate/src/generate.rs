//! Greedy decoding and sampling (`transformers`' `_sample`): prompts left-padded into one batch,
//! one forward pass over the prompts, then one position per step from the cache, each row
//! processed, chosen and checked for its end on the host.

use burn::prelude::*;
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};
use tinderbox_nn::decoder::CausalLm;
use tinderbox_tokenize::TextTokenizer;

use crate::config::GenerationConfig;
use crate::error::GenerateError;
use crate::sequence::Sequence;

/// Why a sequence ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FinishReason {
    /// It produced an end token (kept as its last id).
    Eos,
    /// Its text came to contain a stop string.
    StopString,
    /// It reached `max_new_tokens`.
    Length,
}

/// One generated sequence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Generated {
    /// The prompt it continues (its index in the input).
    pub prompt: usize,
    /// The new ids, the end token included when it stopped on one (as `transformers` returns it).
    pub ids: Vec<u32>,
    /// The new text, without special tokens.
    pub text: String,
    /// Why it ended.
    pub finish: FinishReason,
    /// For beam search, the sequence's score (its summed log-probability over its length to the
    /// power `length_penalty`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score: Option<f32>,
}

/// What a generation produced, and how long its two phases took.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Generation {
    /// The sequences, grouped by prompt in prompt order.
    pub sequences: Vec<Generated>,
    /// Prompt tokens run through the model (padding not counted).
    pub prompt_tokens: usize,
    /// Seconds of the forward pass over the prompts (the first token's logits included).
    pub prompt_seconds: f64,
    /// Tokens generated (end tokens included).
    pub new_tokens: usize,
    /// Seconds of the decoding steps after the prompt pass.
    pub decode_seconds: f64,
}

impl Generation {
    /// Prompt tokens per second.
    pub fn prompt_tokens_per_second(&self) -> f64 {
        self.prompt_tokens as f64 / self.prompt_seconds.max(1e-9)
    }

    /// Generated tokens per second of decoding (the first token, produced by the prompt pass,
    /// is not counted).
    pub fn tokens_per_second(&self) -> f64 {
        let decoded = self.new_tokens.saturating_sub(self.sequences.len());
        decoded as f64 / self.decode_seconds.max(1e-9)
    }
}

/// A piece of text for the sequence `row` (in output order), released as soon as it is whole.
pub type OnText<'a> = dyn FnMut(usize, &str) + 'a;

/// Checks the prompts against the model before anything runs.
pub(crate) fn check_prompts<M: CausalLm, P: AsRef<[u32]>>(
    model: &M,
    prompts: &[P],
    config: &GenerationConfig,
) -> Result<(), GenerateError> {
    config.validate()?;
    let vocab = model.vocab_size();
    let context = model.max_positions();
    for (index, prompt) in prompts.iter().enumerate() {
        let prompt = prompt.as_ref();
        if prompt.is_empty() {
            return Err(GenerateError::EmptyPrompt { index });
        }
        if let Some(&id) = prompt.iter().find(|&&id| id as usize >= vocab) {
            return Err(GenerateError::UnknownToken { index, id, vocab });
        }
        if prompt.len() + config.max_new_tokens > context {
            return Err(GenerateError::TooLong {
                index,
                tokens: prompt.len(),
                max_new_tokens: config.max_new_tokens,
                context,
            });
        }
    }
    Ok(())
}

/// `[B, L]` ids and `[B][L]` padding flags of `rows` left-padded with `pad` to the longest.
pub(crate) fn left_padded(
    rows: &[&[u32]],
    pad: u32,
    device: &Device,
) -> (Tensor<2, Int>, Vec<Vec<bool>>) {
    let longest = rows.iter().map(|r| r.len()).max().unwrap_or(0);
    let mut ids = Vec::with_capacity(rows.len() * longest);
    let mut padding = Vec::with_capacity(rows.len());
    for row in rows {
        let fill = longest - row.len();
        ids.extend(std::iter::repeat_n(i64::from(pad), fill));
        ids.extend(row.iter().map(|&id| i64::from(id)));
        padding.push((0..longest).map(|i| i < fill).collect());
    }
    (
        Tensor::from_data(TensorData::new(ids, [rows.len(), longest]), device),
        padding,
    )
}

/// Rows of `logits [B, vocab]` on the host.
pub(crate) fn rows_of(logits: Tensor<2>) -> Result<Vec<Vec<f32>>, GenerateError> {
    let [_, vocab] = logits.dims();
    let flat: Vec<f32> = logits
        .into_data()
        .convert::<f32>()
        .try_to_vec()
        .map_err(|e| GenerateError::Read(format!("{e:?}")))?;
    Ok(flat.chunks(vocab.max(1)).map(<[f32]>::to_vec).collect())
}

/// Continues every prompt (`num_return_sequences` times each) greedily or by sampling, as
/// `config` says; `on_text` receives each sequence's text as it grows (pass `None` not to
/// stream). Returns the sequences grouped by prompt, in order.
pub fn sample<M: CausalLm>(
    model: &M,
    tokenizer: &dyn TextTokenizer,
    prompts: &[Vec<u32>],
    config: &GenerationConfig,
    pad_id: u32,
    mut on_text: Option<&mut OnText<'_>>,
) -> Result<Generation, GenerateError> {
    check_prompts(model, prompts, config)?;
    let device = model.device();
    let started = std::time::Instant::now();
    // Each prompt repeated num_return_sequences times, as transformers expands the batch.
    let rows: Vec<usize> = (0..prompts.len())
        .flat_map(|p| std::iter::repeat_n(p, config.num_return_sequences))
        .collect();
    let inputs: Vec<&[u32]> = rows.iter().map(|&p| prompts[p].as_slice()).collect();
    let longest = inputs.iter().map(|r| r.len()).max().unwrap_or(0);
    let mut cache = model.new_cache(rows.len(), longest + config.max_new_tokens);
    let (ids, padding) = left_padded(&inputs, pad_id, &device);
    let mut logits = rows_of(model.forward_last(ids, &padding, &mut cache)?)?;
    let prompt_seconds = started.elapsed().as_secs_f64();
    let decoding = std::time::Instant::now();
    let mut rng = StdRng::seed_from_u64(config.seed);
    let mut sequences: Vec<Sequence> = inputs
        .iter()
        .map(|r| Sequence::new(r.to_vec(), config.clone()))
        .collect();
    for _ in 0..config.max_new_tokens {
        let mut next = Vec::with_capacity(rows.len());
        for (row, scores) in logits.iter_mut().enumerate() {
            let sequence = &mut sequences[row];
            if sequence.finish().is_some() {
                next.push(pad_id);
                continue;
            }
            // One generator for the batch, drawn from row after row as transformers does.
            let token = sequence.push_logits(scores, &mut rng, tokenizer)?;
            next.push(token.id);
            if let Some(on_text) = on_text.as_deref_mut()
                && !token.text.is_empty()
            {
                on_text(row, &token.text);
            }
        }
        if sequences.iter().all(|s| s.finish().is_some()) {
            break;
        }
        let ids = Tensor::<1, Int>::from_data(
            TensorData::new(
                next.iter().map(|&t| i64::from(t)).collect::<Vec<_>>(),
                [rows.len()],
            ),
            &device,
        )
        .reshape([rows.len(), 1]);
        let step_padding = vec![vec![false]; rows.len()];
        logits = rows_of(model.forward_last(ids, &step_padding, &mut cache)?)?;
    }
    let decode_seconds = decoding.elapsed().as_secs_f64();
    let prompt_tokens = inputs.iter().map(|r| r.len()).sum();
    let mut out = Vec::with_capacity(rows.len());
    for ((row, prompt), mut sequence) in rows.into_iter().enumerate().zip(sequences) {
        let rest = sequence.flush(tokenizer)?;
        if let Some(on_text) = on_text.as_deref_mut()
            && !rest.is_empty()
        {
            on_text(row, &rest);
        }
        out.push(Generated {
            prompt,
            ids: sequence.generated().to_vec(),
            text: sequence.text().to_string(),
            finish: sequence.finish().unwrap_or(FinishReason::Length),
            score: None,
        });
    }
    Ok(Generation {
        new_tokens: out.iter().map(|g| g.ids.len()).sum(),
        sequences: out,
        prompt_tokens,
        prompt_seconds,
        decode_seconds,
    })
}
