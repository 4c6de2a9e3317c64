//! Masked-language-model pre-training data: plain-English corpora handed out document by
//! document, a held-out part chosen by document, documents packed into `[CLS] ... [SEP]`
//! sequences and stored in files read by number, and BERT's token corruption with labels for the
//! loss, drawn as a resumable stream of batches.

mod batch;
#[cfg(feature = "fetch")]
mod corpus;
mod masking;
#[cfg(feature = "fetch")]
mod pack_corpora;
mod sequence_file;
mod sequence_packer;
mod split;
mod stream;

pub use batch::{MlmBatch, MlmCollator, word_pieces};
#[cfg(feature = "fetch")]
pub use corpus::{BROWN, Corpus, Document, MOBY_DICK, NLP_CORPUS, SOTU, strip_brown_tags};
pub use masking::{MaskedSequence, MlmMasker, MlmMaskingConfig};
#[cfg(feature = "fetch")]
pub use pack_corpora::{
    Framing, HELDOUT_SEQUENCES, HeldOutSplit, PackedCorpus, TRAIN_SEQUENCES, pack_corpora,
};
pub use sequence_file::{SequenceFile, SequenceFileWriter};
pub use sequence_packer::SequencePacker;
pub use split::is_held_out;
pub use stream::{Collate, MlmStream, SequenceStream, fixed_batches};
