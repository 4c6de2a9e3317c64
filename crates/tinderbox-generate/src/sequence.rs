//! One sequence being decoded, on the host: its context (prompt and new tokens), the text it has
//! released, and whether it has ended. Batched generation ([`sample`](crate::sample)) and
//! continuous batching ([`ContinuousBatch`](crate::ContinuousBatch)) both advance sequences
//! through it, one row of logits at a time.

use rand::distr::{Distribution, weighted::WeightedIndex};
use rand::rngs::StdRng;
use tinderbox_tokenize::TextTokenizer;

use crate::config::GenerationConfig;
use crate::error::GenerateError;
use crate::generate::FinishReason;
use crate::processors::{argmax, process, softmax};
use crate::stream::TextStream;

/// A token chosen for a sequence, and the text it completed (empty while a character is
/// unfinished).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// The id.
    pub id: u32,
    /// New text that is whole.
    pub text: String,
}

/// The decoding state of one sequence.
#[derive(Debug, Clone)]
pub struct Sequence {
    config: GenerationConfig,
    prompt_len: usize,
    context: Vec<u32>,
    stream: TextStream,
    text: String,
    finish: Option<FinishReason>,
}

impl Sequence {
    /// A sequence that continues `prompt` as `config` says.
    pub fn new(prompt: Vec<u32>, config: GenerationConfig) -> Self {
        Self {
            config,
            prompt_len: prompt.len(),
            context: prompt,
            stream: TextStream::default(),
            text: String::new(),
            finish: None,
        }
    }

    /// Chooses the next token from `scores` (this sequence's next-token logits, processed in
    /// place as the configuration says), drawing from `rng` when sampling, and records it.
    /// The sequence ends on an end token, a stop string or `max_new_tokens`.
    pub fn push_logits(
        &mut self,
        scores: &mut [f32],
        rng: &mut StdRng,
        tokenizer: &dyn TextTokenizer,
    ) -> Result<Token, GenerateError> {
        process(scores, &self.context, &self.config);
        let id = if self.config.do_sample {
            WeightedIndex::new(softmax(scores))
                .map(|w| w.sample(rng) as u32)
                .unwrap_or_else(|_| argmax(scores) as u32)
        } else {
            argmax(scores) as u32
        };
        self.context.push(id);
        let text = self.stream.push(tokenizer, id)?;
        self.text.push_str(&text);
        if self.config.eos_token_ids.contains(&id) {
            self.finish = Some(FinishReason::Eos);
        } else if self
            .config
            .stop_strings
            .iter()
            .any(|s| self.text.contains(s.as_str()))
        {
            self.finish = Some(FinishReason::StopString);
        } else if self.generated().len() >= self.config.max_new_tokens {
            self.finish = Some(FinishReason::Length);
        }
        Ok(Token { id, text })
    }

    /// The text held back at the end (an unfinished character, shown as is); call once it
    /// has ended.
    pub fn flush(&mut self, tokenizer: &dyn TextTokenizer) -> Result<String, GenerateError> {
        let rest = self.stream.finish(tokenizer)?;
        self.text.push_str(&rest);
        Ok(rest)
    }

    /// Why it ended, once it has.
    pub fn finish(&self) -> Option<FinishReason> {
        self.finish
    }

    /// The prompt it continues.
    pub fn prompt(&self) -> &[u32] {
        &self.context[..self.prompt_len]
    }

    /// The new ids, the end token included when it stopped on one.
    pub fn generated(&self) -> &[u32] {
        &self.context[self.prompt_len..]
    }

    /// The new text released so far.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Its settings.
    pub fn config(&self) -> &GenerationConfig {
        &self.config
    }

    /// New tokens it may still produce.
    pub fn remaining(&self) -> usize {
        if self.finish.is_some() {
            0
        } else {
            self.config
                .max_new_tokens
                .saturating_sub(self.generated().len())
        }
    }
}
