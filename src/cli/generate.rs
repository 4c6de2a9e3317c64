//! The options of `examples/generate.rs` and the generation settings they make.

use std::path::PathBuf;

use clap::Args;
use tinderbox_generate::GenerationConfig;
use tinderbox_ops::quant::GgmlType;

use super::positive;
use crate::Error;
use crate::recipes::generation::{ModelChoice, Weights};

/// What to load, what to continue and how.
#[derive(Debug, Clone, Args)]
pub struct GenerateArgs {
    /// smollm2 (SmolLM2-135M-Instruct, fetched), a Llama-architecture .gguf file, or a GPT-2
    /// folder (config.json, model.safetensors, tokenizer) such as a causal_lm run directory.
    #[arg(long, default_value = "smollm2")]
    pub model: ModelChoice,
    /// A prompt (repeatable: several are generated as one batch).
    #[arg(long)]
    pub prompt: Vec<String>,
    /// Read prompts from FILE, one per line.
    #[arg(long, value_name = "FILE")]
    pub input: Option<PathBuf>,
    /// Wrap each prompt in the model's chat template as a user message.
    #[arg(long)]
    pub chat: bool,
    /// Tokens to generate at most.
    #[arg(long, default_value_t = 128)]
    pub max_new_tokens: usize,
    /// Take the most likely token every step (no sampling).
    #[arg(long)]
    pub greedy: bool,
    /// Sampling temperature (> 0) [default: 0.2, SmolLM2's recommendation].
    #[arg(long, allow_hyphen_values = true)]
    pub temperature: Option<f64>,
    /// Sample among the K most likely tokens (0: all).
    #[arg(long, default_value_t = 50)]
    pub top_k: usize,
    /// Sample from the smallest set of tokens whose probability reaches P, in (0, 1] [default: 0.9].
    #[arg(long)]
    pub top_p: Option<f64>,
    /// Drop tokens less likely than MIN_P times the most likely, in [0, 1].
    #[arg(long, default_value_t = 0.0)]
    pub min_p: f64,
    /// CTRL's penalty on tokens already in the text (1: none).
    #[arg(long, default_value_t = 1.0, value_parser = positive)]
    pub repetition_penalty: f64,
    /// Never repeat an n-gram of this size (0: no rule).
    #[arg(long, default_value_t = 0)]
    pub no_repeat_ngram_size: usize,
    /// Stop when the text contains this (repeatable).
    #[arg(long)]
    pub stop: Vec<String>,
    /// Sequences per prompt.
    #[arg(long, default_value_t = 1)]
    pub num_return_sequences: usize,
    /// Beams of beam search (1: none; implies --greedy).
    #[arg(long, default_value_t = 1)]
    pub num_beams: usize,
    /// Beam scores are divided by length^P.
    #[arg(long, default_value_t = 1.0, allow_hyphen_values = true)]
    pub length_penalty: f64,
    /// Seed of the sampler.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Expand a GGUF file's quantized weights to f32 at load instead of multiplying by the
    /// blocks (six times the memory; the path to take on a GPU).
    #[arg(long, conflicts_with = "quantize")]
    pub dequantize: bool,
    /// Quantize an f32 checkpoint (a GPT-2 folder) at load: q8_0, q4_0 or q4_1.
    #[arg(long, value_name = "TYPE", value_parser = weight_type)]
    pub quantize: Option<GgmlType>,
}

/// `q8_0`, `q4_0` or `q4_1` (any case): the types an f32 checkpoint is quantized to.
fn weight_type(s: &str) -> Result<GgmlType, String> {
    match s.to_ascii_uppercase().as_str() {
        "Q8_0" => Ok(GgmlType::Q8_0),
        "Q4_0" => Ok(GgmlType::Q4_0),
        "Q4_1" => Ok(GgmlType::Q4_1),
        _ => Err(format!(
            "{s} is not a type f32 weights are quantized to; q8_0, q4_0 and q4_1 are"
        )),
    }
}

impl GenerateArgs {
    /// How to hold the model's weights.
    pub fn weights(&self) -> Weights {
        match (self.dequantize, self.quantize) {
            (true, _) => Weights::Dequantized,
            (false, Some(ty)) => Weights::QuantizeTo(ty),
            (false, None) => Weights::Quantized,
        }
    }

    /// The generation settings (the model's end tokens are added when it loads).
    pub fn config(&self) -> Result<GenerationConfig, Error> {
        let sample = !self.greedy && self.num_beams == 1;
        let config = GenerationConfig {
            max_new_tokens: self.max_new_tokens,
            do_sample: sample,
            temperature: self.temperature.unwrap_or(0.2),
            top_k: self.top_k,
            top_p: self.top_p.unwrap_or(0.9),
            min_p: self.min_p,
            repetition_penalty: self.repetition_penalty,
            no_repeat_ngram_size: self.no_repeat_ngram_size,
            eos_token_ids: Vec::new(),
            stop_strings: self.stop.clone(),
            seed: self.seed,
            num_return_sequences: self.num_return_sequences,
            num_beams: self.num_beams,
            length_penalty: self.length_penalty,
            early_stopping: false,
        };
        config.validate()?;
        Ok(config)
    }

    /// The prompts: `--prompt`s, then the lines of `--input`; the default chat question when
    /// neither is given.
    pub fn prompts(&self) -> Result<Vec<String>, Error> {
        let mut prompts = self.prompt.clone();
        if let Some(path) = &self.input {
            let text = std::fs::read_to_string(path)
                .map_err(|e| Error::Invalid(format!("reading {}: {e}", path.display())))?;
            prompts.extend(
                text.lines()
                    .filter(|l| !l.trim().is_empty())
                    .map(String::from),
            );
        }
        if prompts.is_empty() && self.input.is_none() {
            prompts.push(DEFAULT_PROMPT.to_string());
        }
        if let Some(i) = prompts.iter().position(|p| p.is_empty()) {
            return Err(Error::Invalid(format!("prompt {i} is empty")));
        }
        if prompts.is_empty() {
            return Err(Error::Invalid("the --input file has no prompts".into()));
        }
        Ok(prompts)
    }
}

/// The question the example answers when given none.
pub const DEFAULT_PROMPT: &str = "What are three good reasons to learn Rust? Answer briefly.";

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        generate: GenerateArgs,
    }

    fn parse(args: &[&str]) -> Result<GenerationConfig, Error> {
        Cli::try_parse_from(std::iter::once("x").chain(args.iter().copied()))
            .map_err(|e| Error::Invalid(e.to_string()))?
            .generate
            .config()
    }

    #[test]
    fn bad_settings_are_errors_naming_them() {
        for (args, name) in [
            (&["--top-p", "0"][..], "top_p"),
            (&["--temperature", "-1"][..], "temperature"),
            (&["--num-beams", "0"][..], "num_beams"),
        ] {
            let err = parse(args).unwrap_err().to_string();
            assert!(err.contains(name), "{args:?}: {err}");
        }
        let beams = parse(&["--num-beams", "3"]).unwrap();
        assert!(!beams.do_sample);
        assert!(parse(&[]).unwrap().do_sample);
    }
}
