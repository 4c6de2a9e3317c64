//! The trait that task heads implement: hidden states in, logits and a loss out.

use burn::module::{Module, ModuleDisplay};
use burn::prelude::*;
use tinderbox_nn::Encoded;

/// A task head: it turns an encoder's output into logits `[B, C]` and scores them. Heads do not
/// know which encoder feeds them.
pub trait Head: Module + ModuleDisplay {
    /// Logits from the encoder's output and the padding mask (true at padding).
    fn forward(&self, encoded: Encoded, mask_pad: Tensor<2, Bool>) -> Tensor<2>;

    /// The mean loss of `logits` against class ids `targets`.
    fn loss(&self, logits: Tensor<2>, targets: Tensor<1, Int>) -> Tensor<1>;
}
