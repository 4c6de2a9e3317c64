//! The run's data, made once and kept in the run directory: the tokenizer (trained on the
//! training documents only), the packed training and held-out sequences, and the list of
//! held-out documents. A resumed run reuses them.

use std::sync::mpsc;

use serde::{Deserialize, Serialize};
use tinderbox_data::fetch::Cache;
use tinderbox_data::mlm::{
    HELDOUT_SEQUENCES, HeldOutSplit, SequenceFile, TRAIN_SEQUENCES, is_held_out, pack_corpora,
};
use tinderbox_tokenize::{TextTokenizer, Tokenizer, TrainOptions};
use tinderbox_train::RunDir;

use super::config::{MlmRunConfig, TokenizerChoice};
use crate::Error;

/// The tokenizer's file in the run directory.
pub const TOKENIZER_FILE: &str = "tokenizer.json";
/// The held-out documents' file.
pub const SPLIT_FILE: &str = "split.json";

/// Which documents were held out, saved as `split.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeldOutDocuments {
    /// How they were chosen.
    pub split: HeldOutSplit,
    /// Documents used for training.
    pub train_documents: usize,
    /// The held-out documents' ids.
    pub heldout: Vec<String>,
    /// Tokens in the training sequences.
    pub train_tokens: u64,
}

/// The prepared data of a run.
pub struct PreparedData {
    pub tokenizer: Tokenizer,
    pub train: SequenceFile,
    pub heldout: SequenceFile,
    pub documents: HeldOutDocuments,
}

/// The files in which a run keeps its prepared data.
const PREPARED_FILES: [&str; 4] = [
    TOKENIZER_FILE,
    TRAIN_SEQUENCES,
    HELDOUT_SEQUENCES,
    SPLIT_FILE,
];

/// Reopens the tokenizer and sequence files that `run` prepared; `Ok(None)` if any is missing
/// (the run stopped before its data was ready).
pub fn reopen(run: &RunDir) -> Result<Option<PreparedData>, Error> {
    if !PREPARED_FILES.iter().all(|f| run.file(f).is_file()) {
        return Ok(None);
    }
    Ok(Some(PreparedData {
        tokenizer: Tokenizer::from_file(run.file(TOKENIZER_FILE))?,
        train: SequenceFile::open(run.file(TRAIN_SEQUENCES))?,
        heldout: SequenceFile::open(run.file(HELDOUT_SEQUENCES))?,
        documents: run.read_json(SPLIT_FILE)?,
    }))
}

/// Makes (or, resuming, reopens) the tokenizer and sequence files in `run`.
pub fn prepare(
    config: &MlmRunConfig,
    run: &RunDir,
    cache: &Cache,
    resume: bool,
) -> Result<PreparedData, Error> {
    if resume && let Some(data) = reopen(run)? {
        return Ok(data);
    }
    let tokenizer = match &config.tokenizer {
        TokenizerChoice::File { path } => Tokenizer::from_file(path)?,
        TokenizerChoice::Train { vocab_size } => train_wordpiece(config, cache, *vocab_size)?,
    };
    let specials = tokenizer.special_tokens();
    if specials.mask.is_none() || specials.pad.is_none() {
        return Err(Error::Invalid(
            "the tokenizer has no [MASK] or [PAD] token; masked-language modelling needs both"
                .into(),
        ));
    }
    tokenizer.save(run.file(TOKENIZER_FILE))?;
    let packed = pack_corpora(
        &config.corpora(),
        cache,
        &tokenizer,
        config.max_len,
        &config.heldout,
        run.path(),
    )?;
    let documents = HeldOutDocuments {
        split: config.heldout.clone(),
        train_documents: packed.train_documents,
        heldout: packed.heldout_documents,
        train_tokens: packed.train_tokens,
    };
    run.write_json(SPLIT_FILE, &documents)?;
    Ok(PreparedData {
        tokenizer,
        train: packed.train,
        heldout: packed.heldout,
        documents,
    })
}

/// Trains BERT's WordPiece on the training documents, streamed from the corpora on a second
/// thread, so the corpus is never in memory as a whole.
fn train_wordpiece(
    config: &MlmRunConfig,
    cache: &Cache,
    vocab_size: usize,
) -> Result<Tokenizer, Error> {
    let (send, receive) = mpsc::sync_channel::<String>(64);
    let corpora = config.corpora();
    let split = &config.heldout;
    std::thread::scope(|scope| {
        let reader = scope.spawn(move || {
            for corpus in &corpora {
                corpus.for_each_document(cache, |document| {
                    if !is_held_out(&document.id, split.fraction, split.seed) {
                        // The trainer stopping early closes the channel; nothing to do then.
                        let _ = send.send(document.text);
                    }
                    Ok(())
                })?;
            }
            Ok::<(), tinderbox_data::DataError>(())
        });
        let options = TrainOptions::new(vocab_size).with_progress(false);
        let trained = Tokenizer::train_wordpiece(receive.into_iter(), &options);
        let read = reader
            .join()
            .map_err(|_| Error::Invalid("the corpus reader thread panicked".into()))?;
        read?;
        Ok(trained?)
    })
}
