//! Masked-language-model pre-training data: plain-English corpora handed out document by
//! document, a held-out part chosen by document, documents packed into `[CLS] ... [SEP]`
//! sequences and stored in files read by number, and BERT's token corruption with labels for the
//! loss, drawn as a resumable stream of batches.

mod batch;
mod corpus;
mod masking;
mod pack;
mod packing;
mod sequence_file;
mod split;
mod stream;

pub use batch::{MlmBatch, MlmCollator, word_pieces};
pub use corpus::{BROWN, Corpus, Document, MOBY_DICK, NLP_CORPUS, SOTU, strip_brown_tags};
pub use masking::{IGNORE_LABEL, MaskedSequence, MlmMasker, MlmMaskingConfig};
pub use pack::{HELDOUT_SEQUENCES, HeldOutSplit, PackedCorpus, TRAIN_SEQUENCES, pack_corpora};
pub use packing::SequencePacker;
pub use sequence_file::{SequenceFile, SequenceFileWriter};
pub use split::is_held_out;
pub use stream::{MlmStream, fixed_mlm_batches};
