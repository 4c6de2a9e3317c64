//! What a generation does, with Hugging Face's `GenerationConfig` names and meanings.

use serde::{Deserialize, Serialize};

use crate::error::GenerateError;

/// How to continue a prompt. The defaults are `transformers`': greedy, 20 new tokens... except
/// `max_new_tokens`, which is 50 here.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GenerationConfig {
    /// Tokens to generate at most, after the prompt.
    pub max_new_tokens: usize,
    /// Sample from the (processed) distribution instead of taking the most likely token.
    pub do_sample: bool,
    /// Divides the logits before sampling (`> 0`; 1 leaves them).
    pub temperature: f64,
    /// Keep only the `k` most likely tokens when sampling (0: all).
    pub top_k: usize,
    /// Keep the smallest set of most likely tokens whose probability reaches `top_p` (`(0, 1]`).
    pub top_p: f64,
    /// Drop tokens less likely than `min_p` times the most likely one (`[0, 1]`; 0: none).
    pub min_p: f64,
    /// CTRL's penalty on tokens already in the sequence (prompt included); 1 for none.
    pub repetition_penalty: f64,
    /// Never repeat an n-gram of this size (0: no rule).
    pub no_repeat_ngram_size: usize,
    /// Tokens that end a sequence (kept at its end, as `transformers` keeps them).
    pub eos_token_ids: Vec<u32>,
    /// Texts that end a sequence when its generated text contains them.
    pub stop_strings: Vec<String>,
    /// The seed of the sampler.
    pub seed: u64,
    /// Sequences to return per prompt (sampled independently, or the best beams).
    pub num_return_sequences: usize,
    /// Beams of beam search (1: no beam search).
    pub num_beams: usize,
    /// Beam scores are divided by `length ^ length_penalty`.
    pub length_penalty: f64,
    /// Stop beam search as soon as `num_beams` finished hypotheses exist.
    pub early_stopping: bool,
}

impl Default for GenerationConfig {
    fn default() -> Self {
        Self {
            max_new_tokens: 50,
            do_sample: false,
            temperature: 1.0,
            top_k: 50,
            top_p: 1.0,
            min_p: 0.0,
            repetition_penalty: 1.0,
            no_repeat_ngram_size: 0,
            eos_token_ids: Vec::new(),
            stop_strings: Vec::new(),
            seed: 42,
            num_return_sequences: 1,
            num_beams: 1,
            length_penalty: 1.0,
            early_stopping: false,
        }
    }
}

impl GenerationConfig {
    /// Greedy decoding of up to `max_new_tokens` tokens.
    pub fn greedy(max_new_tokens: usize) -> Self {
        Self {
            max_new_tokens,
            ..Self::default()
        }
    }

    /// Checks every setting, naming the first out of range.
    pub fn validate(&self) -> Result<(), GenerateError> {
        let bad = |name: &'static str, value: String, expected: &'static str| {
            Err(GenerateError::Config {
                name,
                value,
                expected,
            })
        };
        if !(self.temperature > 0.0 && self.temperature.is_finite()) {
            return bad("temperature", self.temperature.to_string(), "a number > 0");
        }
        if !(self.top_p > 0.0 && self.top_p <= 1.0) {
            return bad("top_p", self.top_p.to_string(), "a number in (0, 1]");
        }
        if !(0.0..=1.0).contains(&self.min_p) {
            return bad("min_p", self.min_p.to_string(), "a number in [0, 1]");
        }
        if !(self.repetition_penalty > 0.0 && self.repetition_penalty.is_finite()) {
            return bad(
                "repetition_penalty",
                self.repetition_penalty.to_string(),
                "a number > 0",
            );
        }
        if self.num_beams == 0 {
            return bad("num_beams", "0".into(), "at least 1");
        }
        if self.num_return_sequences == 0 {
            return bad("num_return_sequences", "0".into(), "at least 1");
        }
        if self.num_beams > 1 && self.num_return_sequences > self.num_beams {
            return bad(
                "num_return_sequences",
                self.num_return_sequences.to_string(),
                "at most num_beams with beam search",
            );
        }
        if self.num_beams > 1 && self.do_sample {
            return bad(
                "do_sample",
                "true".into(),
                "false with beam search (num_beams > 1)",
            );
        }
        if !self.length_penalty.is_finite() {
            return bad(
                "length_penalty",
                self.length_penalty.to_string(),
                "a finite number",
            );
        }
        if self.stop_strings.iter().any(String::is_empty) {
            return bad("stop_strings", "\"\"".into(), "non-empty strings");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_range_settings_are_named() {
        let check = |config: GenerationConfig| config.validate().unwrap_err().to_string();
        assert!(
            check(GenerationConfig {
                top_p: 0.0,
                ..Default::default()
            })
            .contains("top_p = 0")
        );
        assert!(
            check(GenerationConfig {
                temperature: -1.0,
                ..Default::default()
            })
            .contains("temperature = -1")
        );
        assert!(
            check(GenerationConfig {
                num_beams: 0,
                ..Default::default()
            })
            .contains("num_beams = 0")
        );
        assert!(
            check(GenerationConfig {
                num_beams: 2,
                num_return_sequences: 3,
                ..Default::default()
            })
            .contains("at most num_beams")
        );
        assert!(GenerationConfig::default().validate().is_ok());
    }
}
