//! The masked-LM run's data (see [`crate::recipes::packed_corpus`]): a WordPiece (or the given
//! tokenizer), which must have `[MASK]` and `[PAD]`, and `[CLS] ... [SEP]` sequences.

use tinderbox_data::fetch::Cache;
use tinderbox_data::mlm::Framing;
use tinderbox_tokenize::{TextTokenizer, Tokenizer, TrainOptions};
use tinderbox_train::RunDir;

use super::config::{MlmRunConfig, TokenizerChoice};
use crate::Error;
pub use crate::recipes::packed_corpus::{
    HeldOutDocuments, PreparedData, SPLIT_FILE, TOKENIZER_FILE,
};
use crate::recipes::packed_corpus::{Packing, prepare as prepare_packed, train_on_documents};

/// Makes (or, resuming, reopens) the tokenizer and sequence files in `run`.
pub fn prepare(
    config: &MlmRunConfig,
    run: &RunDir,
    cache: &Cache,
    resume: bool,
) -> Result<PreparedData, Error> {
    let corpora = config.corpora();
    let packing = Packing {
        corpora: &corpora,
        max_len: config.max_len,
        split: &config.heldout,
        framing: Framing::Mlm,
    };
    prepare_packed(&packing, run, cache, resume, || {
        let tokenizer = match &config.tokenizer {
            TokenizerChoice::File { path } => Tokenizer::from_file(path)?,
            TokenizerChoice::Train { vocab_size } => {
                // BERT's WordPiece on the training documents.
                let options = TrainOptions::new(*vocab_size).with_progress(false);
                train_on_documents(&corpora, &config.heldout, cache, |texts| {
                    Tokenizer::train_wordpiece(texts, &options)
                })?
            }
        };
        let specials = tokenizer.special_tokens();
        if specials.mask.is_none() || specials.pad.is_none() {
            return Err(Error::Invalid(
                "the tokenizer has no [MASK] or [PAD] token; masked-language modelling needs both"
                    .into(),
            ));
        }
        Ok(tokenizer)
    })
}
