//! Masked-language-model pre-training data: documents packed into `[CLS] ... [SEP]` sequences,
//! and BERT's token corruption with labels for the loss.

mod masking;
mod packing;

pub use masking::{IGNORE_LABEL, MaskedSequence, MlmMasker, MlmMaskingConfig};
pub use packing::SequencePacker;
