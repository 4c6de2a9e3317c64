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
    fn encode(&self, ids: Tensor<2, Int>, mask_pad: Tensor<2, Bool>) -> Encoded;

    /// The size `H` of each hidden state.
    fn hidden_size(&self) -> usize;
}
