//! The trait that text encoders implement, so that any head can sit on any of them.

use burn::module::{Module, ModuleDisplay};
use burn::prelude::*;

/// What an encoder gives for a batch of token sequences.
#[derive(Debug, Clone)]
pub struct Encoded {
    /// One hidden state per position `[B, L, H]`.
    pub hidden: Tensor<3>,
    /// The state after the last position `[B, H]`, for encoders that have one (recurrent ones).
    pub final_state: Option<Tensor<2>>,
    /// A pooled summary `[B, H]` the encoder computes itself (BERT's pooler), if any.
    pub pooled: Option<Tensor<2>>,
}

/// Token ids `[B, L]` (and the padding mask `[B, L]`, true at padding) to hidden states.
///
/// Implemented by the LSTM encoder of the seed classifier and by transformer encoders, so that
/// classification and tagging heads work with either.
pub trait SequenceEncoder: Module + ModuleDisplay {
    /// Encodes a batch.
    fn encode(&self, ids: Tensor<2, Int>, mask_pad: Tensor<2, Bool>) -> Encoded {
        self.encode_embedded(self.embed_tokens(ids), mask_pad)
    }

    /// The rows of the encoder's word-embedding table for `ids`, `[B, L, E]`: the first
    /// differentiable point of the model, where gradient attributions (integrated gradients)
    /// start.
    fn embed_tokens(&self, ids: Tensor<2, Int>) -> Tensor<3>;

    /// The rest of [`encode`](Self::encode) from token embeddings `[B, L, E]` (as
    /// [`embed_tokens`](Self::embed_tokens) gives them, or any point between two of them):
    /// `encode(ids, m)` is `encode_embedded(embed_tokens(ids), m)`.
    fn encode_embedded(&self, embedded: Tensor<3>, mask_pad: Tensor<2, Bool>) -> Encoded;

    /// The attention weights `[B, heads, L, L]` of every layer, first layer first, for encoders
    /// that attend (transformers); `None` for the others. For inspection: attention rollout.
    fn attention_maps(
        &self,
        _ids: Tensor<2, Int>,
        _mask_pad: Tensor<2, Bool>,
    ) -> Option<Vec<Tensor<4>>> {
        None
    }

    /// The size `H` of each hidden state.
    fn hidden_size(&self) -> usize;
}
