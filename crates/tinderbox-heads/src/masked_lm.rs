//! The trait of masked-language models, so that one training loop, evaluation and fill-mask
//! serve BERT and the seed's LSTM toy alike.

use burn::prelude::*;
use burn::train::ClassificationOutput;
use tinderbox_data::mlm::MlmBatch;
use tinderbox_ops::cross_entropy;

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
}

/// Scores an [`MlmBatch`]: the mean cross-entropy at the masked positions, with their logits
/// and original tokens as the rows of a [`ClassificationOutput`] (so accuracy is masked-token
/// accuracy).
pub fn masked_lm_output<M: MaskedLm>(model: &M, batch: MlmBatch) -> ClassificationOutput {
    let logits = model.logits_at(batch.input_ids, batch.mask_pad, batch.masked_positions);
    let loss = cross_entropy(logits.clone(), batch.masked_labels.clone(), 0.0);
    ClassificationOutput::new(loss, logits, batch.masked_labels)
}
