//! Decoder-only language models for generation: GPT-2 and Llama (and models of its layout), with a
//! key-value cache allocated once per context, behind the [`CausalLm`] trait that generation
//! knows them by.

mod gpt2;
mod kv_cache;
mod llama;
mod rms_norm;
mod rotary;

pub use gpt2::{Gpt2, Gpt2Attention, Gpt2Block, Gpt2Config, Gpt2Mlp};
pub use kv_cache::KvCache;
pub use llama::{Llama, LlamaAttention, LlamaConfig, LlamaDecoderLayer, LlamaMlp};
pub use rms_norm::RmsNorm;
pub use rotary::{RopeScaling, apply_rotary, inverse_frequencies, rotary_tables};

use burn::prelude::*;

/// A model that predicts the next token: new token ids in, logits at the last position out,
/// with the positions before them held in a [`KvCache`].
pub trait CausalLm {
    /// An empty cache for `batch` sequences of up to `capacity` positions.
    fn new_cache(&self, batch: usize, capacity: usize) -> KvCache;

    /// Runs `ids [B, L]` (the positions after those in `cache`, which it appends them to) and
    /// returns the logits `[B, vocab]` at each row's last position. `padding[row][i]` marks new
    /// positions that are padding (left padding of a batch), which nothing attends to. Fails
    /// when the positions do not fit the cache.
    fn forward_last(
        &self,
        ids: Tensor<2, Int>,
        padding: &[Vec<bool>],
        cache: &mut KvCache,
    ) -> crate::Result<Tensor<2>>;

    /// Tokens in the vocabulary (the logits' width).
    fn vocab_size(&self) -> usize;

    /// The longest context.
    fn max_positions(&self) -> usize;

    /// The device the weights are on.
    fn device(&self) -> Device;
}

/// `hidden [B, L, H]` at the last position, `[B, 1, H]`.
fn last_position(hidden: Tensor<3>) -> Tensor<3> {
    let [b, l, h] = hidden.dims();
    hidden.slice([0..b, l - 1..l, 0..h])
}

/// Checks that `padding` has a flag for each of the `[B, L]` new positions.
pub(crate) fn check_padding(padding: &[Vec<bool>], [b, l]: [usize; 2]) -> crate::Result<()> {
    if padding.len() != b || padding.iter().any(|p| p.len() != l) {
        return Err(crate::ModelError::config(
            "padding",
            format!(
                "flags for {} rows do not match ids of shape [{b}, {l}]",
                padding.len()
            ),
        ));
    }
    Ok(())
}

impl CausalLm for Llama {
    fn new_cache(&self, batch: usize, capacity: usize) -> KvCache {
        Llama::new_cache(self, batch, capacity)
    }

    fn forward_last(
        &self,
        ids: Tensor<2, Int>,
        padding: &[Vec<bool>],
        cache: &mut KvCache,
    ) -> crate::Result<Tensor<2>> {
        let last = last_position(self.forward_hidden(ids, padding, cache)?);
        Ok(self.logits(last)?.squeeze_dim(1))
    }

    fn vocab_size(&self) -> usize {
        self.config().vocab_size
    }

    fn max_positions(&self) -> usize {
        self.config().max_position_embeddings
    }

    fn device(&self) -> Device {
        Llama::device(self)
    }
}

impl CausalLm for Gpt2 {
    fn new_cache(&self, batch: usize, capacity: usize) -> KvCache {
        Gpt2::new_cache(self, batch, capacity)
    }

    fn forward_last(
        &self,
        ids: Tensor<2, Int>,
        padding: &[Vec<bool>],
        cache: &mut KvCache,
    ) -> crate::Result<Tensor<2>> {
        let last = last_position(self.forward_hidden(ids, padding, cache)?);
        Ok(self.logits(last)?.squeeze_dim(1))
    }

    fn vocab_size(&self) -> usize {
        self.config().vocab_size
    }

    fn max_positions(&self) -> usize {
        self.config().n_positions
    }

    fn device(&self) -> Device {
        self.wpe.weight.device()
    }
}
