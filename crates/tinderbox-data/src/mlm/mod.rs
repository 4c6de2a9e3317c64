//! Masked-language-model pre-training data: plain-English corpora handed out document by
//! document, a held-out part chosen by document, documents packed into `[CLS] ... [SEP]` sequences, and BERT's token corruption with
//! labels for the loss.

mod batch;
mod corpus;
mod masking;
mod packing;
mod split;

pub use batch::{MlmBatch, MlmCollator};
pub use corpus::{BROWN, Corpus, Document, MOBY_DICK, NLP_CORPUS, SOTU, strip_brown_tags};
pub use masking::{IGNORE_LABEL, MaskedSequence, MlmMasker, MlmMaskingConfig};
pub use packing::SequencePacker;
pub use split::is_held_out;
