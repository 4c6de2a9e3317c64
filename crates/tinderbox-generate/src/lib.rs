//! Text generation for tinderbox's decoders, with Hugging Face's `generate` semantics: greedy
//! decoding, sampling with temperature, top-k, top-p and min-p, repetition penalty and n-gram
//! blocking, end tokens and stop strings, several prompts at once (left-padded), several
//! sequences per prompt, beam search with a length penalty, text streamed at character
//! boundaries, and continuous batching for servers ([`ContinuousBatch`]: sequences join and
//! leave a running batch between steps). Models take part through [`CausalLm`].
//!
//! SmolLM2-135M-Instruct from its GGUF file, greedy:
//!
//! ```no_run
//! use burn::prelude::*;
//! use tinderbox_generate::{GenerationConfig, generate};
//! use tinderbox_nn::gguf::GgufFile;
//! use tinderbox_tokenize::Tokenizer;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let file = GgufFile::open("SmolLM2-135M-Instruct.Q4_1.gguf")?;
//! let model = file.load_llama(&Device::default())?;
//! let vocab = file.vocab()?;
//! let tokenizer = Tokenizer::from_gguf_vocab(&vocab)?;
//! let prompt = tokenizer.encode("The capital of France is", true)?;
//! let config = GenerationConfig {
//!     eos_token_ids: file.llama_config()?.eos_token_ids,
//!     ..GenerationConfig::greedy(20)
//! };
//! let out = generate(&model, &tokenizer, &[prompt], &config, vocab.eos_id.unwrap_or(0), None)?;
//! println!("{}", out.sequences[0].text); // " Paris.\n\nThe answer is: ..."
//! # Ok(())
//! # }
//! ```
//!
//! Reference: `transformers` 5.25, `generation/utils.py` and `generation/logits_process.py`;
//! SmolLM2's greedy and beam continuations are held token for token against it
//! (`tests/smollm2_reference.rs` at the repository root).

#![warn(missing_docs)]
// Library code reports bad input as errors; tests may unwrap.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod beam;
mod config;
mod continuous;
mod error;
mod generate;
pub mod processors;
mod sequence;
mod stream;

pub use beam::beam_search;
pub use config::GenerationConfig;
pub use continuous::{ContinuousBatch, Event, Request};
pub use error::GenerateError;
pub use generate::{FinishReason, Generated, Generation, OnText, sample};
pub use sequence::{Sequence, Token};
pub use stream::TextStream;

use tinderbox_nn::decoder::CausalLm;
use tinderbox_tokenize::TextTokenizer;

/// Continues `prompts` (token ids) as `config` says: beam search when `num_beams > 1`, else
/// greedy decoding or sampling, streaming text to `on_text` when given (not with beams).
/// `pad_id` fills the left of shorter prompts; nothing attends to it.
pub fn generate<M: CausalLm>(
    model: &M,
    tokenizer: &dyn TextTokenizer,
    prompts: &[Vec<u32>],
    config: &GenerationConfig,
    pad_id: u32,
    on_text: Option<&mut OnText<'_>>,
) -> Result<Generation, GenerateError> {
    if config.num_beams > 1 {
        beam_search(model, tokenizer, prompts, config, pad_id)
    } else {
        sample(model, tokenizer, prompts, config, pad_id, on_text)
    }
}
