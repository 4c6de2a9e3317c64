//! A pre-training run's data, made once and kept in the run directory: the tokenizer (trained on
//! the training documents only), the packed training and held-out sequences, and the list of
//! held-out documents. Shared by the masked-LM and causal-LM recipes; a resumed run reuses it.

use std::sync::mpsc;

use serde::{Deserialize, Serialize};
use tinderbox_data::fetch::Cache;
use tinderbox_data::mlm::{
    Corpus, Framing, HELDOUT_SEQUENCES, HeldOutSplit, SequenceFile, TRAIN_SEQUENCES, is_held_out,
    pack_corpora,
};
use tinderbox_tokenize::Tokenizer;
use tinderbox_train::RunDir;

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
    /// The run's tokenizer.
    pub tokenizer: Tokenizer,
    /// The packed training sequences.
    pub train: SequenceFile,
    /// The packed held-out sequences.
    pub heldout: SequenceFile,
    /// Which documents went where.
    pub documents: HeldOutDocuments,
}

/// What to pack: the corpora, the sequence length, the held-out split and the framing.
pub struct Packing<'a> {
    /// The corpora, read in order.
    pub corpora: &'a [Corpus],
    /// Tokens per sequence.
    pub max_len: usize,
    /// The held-out documents.
    pub split: &'a HeldOutSplit,
    /// BERT's or a causal model's sequences.
    pub framing: Framing,
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

/// Makes (or, resuming, reopens) the tokenizer and sequence files in `run`: the tokenizer from
/// `make_tokenizer`, then the corpora packed as `packing` says.
pub fn prepare(
    packing: &Packing<'_>,
    run: &RunDir,
    cache: &Cache,
    resume: bool,
    make_tokenizer: impl FnOnce() -> Result<Tokenizer, Error>,
) -> Result<PreparedData, Error> {
    if resume && let Some(data) = reopen(run)? {
        return Ok(data);
    }
    let tokenizer = make_tokenizer()?;
    tokenizer.save(run.file(TOKENIZER_FILE))?;
    let packed = pack_corpora(
        packing.corpora,
        cache,
        &tokenizer,
        packing.max_len,
        packing.split,
        packing.framing,
        run.path(),
    )?;
    let documents = HeldOutDocuments {
        split: packing.split.clone(),
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

/// Trains a tokenizer with `train` on the training documents of `corpora` (those `split` does
/// not hold out), streamed from a second thread, so the corpus is never in memory as a whole.
pub fn train_on_documents<T>(
    corpora: &[Corpus],
    split: &HeldOutSplit,
    cache: &Cache,
    train: T,
) -> Result<Tokenizer, Error>
where
    T: FnOnce(mpsc::IntoIter<String>) -> tinderbox_tokenize::Result<Tokenizer>,
{
    let (send, receive) = mpsc::sync_channel::<String>(64);
    std::thread::scope(|scope| {
        let reader = scope.spawn(move || {
            for corpus in corpora {
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
        let trained = train(receive.into_iter());
        let read = reader
            .join()
            .map_err(|_| Error::Invalid("the corpus reader thread panicked".into()))?;
        read?;
        Ok(trained?)
    })
}
