//! Masked-language-model pre-training data: BERT's token corruption with labels for the loss.

mod masking;

pub use masking::{IGNORE_LABEL, MaskedSequence, MlmMasker, MlmMaskingConfig};
