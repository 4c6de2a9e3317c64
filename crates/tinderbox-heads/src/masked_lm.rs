//! The trait of masked-language models, so that one training loop, evaluation and fill-mask
//! serve BERT and the seed's LSTM toy alike.

use burn::prelude::*;

/// A model that predicts the original token at masked positions of a sequence.
pub trait MaskedLm: Module + Clone + Send + std::fmt::Debug + 'static {
    /// Logits `[M, vocab]` at `positions [M]`, flattened as `b * L + l` over `ids [B, L]`
    /// (`mask_pad` is true at padding).
    fn logits_at(
        &self,
        ids: Tensor<2, Int>,
        mask_pad: Tensor<2, Bool>,
        positions: Tensor<1, Int>,
    ) -> Tensor<2>;

    /// The number of tokens it predicts over.
    fn vocab_size(&self) -> usize;

    /// The longest sequence it reads (its position table), if it has a limit.
    fn max_length(&self) -> Option<usize>;
}
