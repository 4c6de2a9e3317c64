//! From corpora to the two sequence files of a pre-training run: each document is tokenized line
//! by line, packed into `[CLS] ... [SEP]` sequences, and written to the training or the held-out
//! file according to its id. One document is in memory at a time.

use std::path::Path;

use serde::{Deserialize, Serialize};
use tinderbox_tokenize::{EncodeOptions, TextTokenizer};

use super::corpus::Corpus;
use super::sequence_file::{SequenceFile, SequenceFileWriter};
use super::sequence_packer::SequencePacker;
use super::split::is_held_out;
use crate::DataError;
use crate::fetch::Cache;

/// The training sequences' file name in a run directory.
pub const TRAIN_SEQUENCES: &str = "train.seq";
/// The held-out sequences' file name.
pub const HELDOUT_SEQUENCES: &str = "heldout.seq";

/// How documents are split and cut.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HeldOutSplit {
    /// About this fraction of the documents is held out.
    pub fraction: f64,
    /// Which ones, for the same ids.
    pub seed: u64,
}

/// How [`pack_corpora`] frames its sequences.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Framing {
    /// `[CLS] ... [SEP]` (or `<s> ... </s>`) around every sequence, as BERT pre-trains.
    Mlm,
    /// `<s>` at the start of every sequence and `</s>` after each document's last token, as a
    /// causal language model trains (see [`SequencePacker::causal`]).
    Causal,
}

/// What [`pack_corpora`] wrote.
#[derive(Clone, Debug)]
pub struct PackedCorpus {
    /// The training sequences.
    pub train: SequenceFile,
    /// The held-out sequences.
    pub heldout: SequenceFile,
    /// Documents that went to training.
    pub train_documents: usize,
    /// The ids of the held-out documents.
    pub heldout_documents: Vec<String>,
    /// Ids (tokens) in the training sequences, `[CLS]`/`[SEP]` included.
    pub train_tokens: u64,
}

/// Tokenizes `corpora` with `tokenizer` (which needs `[CLS]` and `[SEP]`, or `<s>` and `</s>`),
/// packs each document into sequences of at most `max_len` ids framed as `framing` says and
/// writes them to `dir/train.seq` and `dir/heldout.seq`, documents held out by `split`.
///
/// Errors on a corpus whose documents all land on one side (too few documents for the held-out
/// fraction), a corpus without a single token, and the corpora's own errors.
pub fn pack_corpora(
    corpora: &[Corpus],
    cache: &Cache,
    tokenizer: &dyn TextTokenizer,
    max_len: usize,
    split: &HeldOutSplit,
    framing: Framing,
    dir: &Path,
) -> Result<PackedCorpus, DataError> {
    let special = tokenizer.special_tokens();
    let (Some(cls), Some(sep)) = (special.cls, special.sep) else {
        return Err(DataError::Mlm {
            reason: "the tokenizer has no [CLS]/[SEP] (or <s>/</s>) token to frame sequences with"
                .into(),
        });
    };
    let mut packer = match framing {
        Framing::Mlm => SequencePacker::new(max_len, cls.id, sep.id)?,
        Framing::Causal => SequencePacker::causal(max_len, cls.id, sep.id)?,
    };
    let mut train = SequenceFileWriter::create(dir.join(TRAIN_SEQUENCES), max_len)?;
    let mut heldout = SequenceFileWriter::create(dir.join(HELDOUT_SEQUENCES), max_len)?;
    let mut train_documents = 0;
    let mut heldout_documents = Vec::new();
    let options = EncodeOptions {
        add_special_tokens: false,
        ..EncodeOptions::default()
    };
    for corpus in corpora {
        corpus.for_each_document(cache, |document| {
            let held = is_held_out(&document.id, split.fraction, split.seed);
            let lines: Vec<&str> = document
                .text
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect();
            let encoded = tokenizer
                .encode_batch(&lines, &options)
                .map_err(|e| DataError::Mlm {
                    reason: format!("tokenizing {}: {e}", document.id),
                })?;
            let out = if held { &mut heldout } else { &mut train };
            for ids in &encoded.ids {
                for sequence in packer.push(ids) {
                    out.push(&sequence)?;
                }
            }
            if let Some(sequence) = packer.finish_document() {
                out.push(&sequence)?;
            }
            if held {
                heldout_documents.push(document.id);
            } else {
                train_documents += 1;
            }
            Ok(())
        })?;
    }
    let documents = train_documents + heldout_documents.len();
    if train.is_empty() || heldout.is_empty() {
        return Err(DataError::Mlm {
            reason: format!(
                "the corpus gave {} training and {} held-out sequences from {documents} documents: \
                 both need at least one; give more documents (a folder of text files is one \
                 document per file) or change the held-out fraction ({})",
                train.len(),
                heldout.len(),
                split.fraction
            ),
        });
    }
    let train_tokens = train.tokens();
    Ok(PackedCorpus {
        train: train.finish()?,
        heldout: heldout.finish()?,
        train_documents,
        heldout_documents,
        train_tokens,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tinderbox_tokenize::{Tokenizer, TrainOptions};

    fn folder(documents: usize) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for d in 0..documents {
            let text: String = (0..4)
                .map(|s| format!("document {d} says sentence {s} about whales and ships.\n"))
                .collect();
            std::fs::write(dir.path().join(format!("{d:03}.txt")), text).unwrap();
        }
        dir
    }

    fn tokenizer() -> Tokenizer {
        let texts = ["document says sentence about whales and ships 0 1 2 3 4 5 6 7 8 9 ."];
        Tokenizer::train_wordpiece(texts.iter(), &TrainOptions::new(100)).unwrap()
    }

    #[test]
    fn documents_go_whole_to_one_side_in_framed_sequences() {
        let corpus = folder(200);
        let out = tempfile::tempdir().unwrap();
        let cache = Cache::new(out.path().join("cache")).unwrap();
        let split = HeldOutSplit {
            fraction: 0.1,
            seed: 3,
        };
        let tokenizer = tokenizer();
        let packed = pack_corpora(
            &[Corpus::Path(corpus.path().into())],
            &cache,
            &tokenizer,
            16,
            &split,
            Framing::Mlm,
            out.path(),
        )
        .unwrap();
        let held = packed.heldout_documents.len();
        assert_eq!(packed.train_documents + held, 200);
        assert!((5..40).contains(&held), "{held}");
        for id in &packed.heldout_documents {
            assert!(is_held_out(id, 0.1, 3));
        }
        let (cls, sep) = (2, 3);
        let mut tokens = 0;
        for i in 0..packed.train.len() {
            let s = packed.train.get(i).unwrap();
            assert!(
                s.len() <= 16 && s[0] == cls && s[s.len() - 1] == sep,
                "{s:?}"
            );
            assert!(!s[1..s.len() - 1].contains(&cls));
            tokens += s.len() as u64;
        }
        assert_eq!(tokens, packed.train_tokens);
        // Each document is 4 lines of 10 to 11 tokens: 3 sequences of at most 14 inner tokens.
        assert_eq!(packed.heldout.len(), 3 * held);
        let again = SequenceFile::open(out.path().join(HELDOUT_SEQUENCES)).unwrap();
        assert_eq!(again.get(0).unwrap(), packed.heldout.get(0).unwrap());
    }

    #[test]
    fn causal_framing_starts_each_sequence_and_ends_each_document() {
        let corpus = folder(40);
        let out = tempfile::tempdir().unwrap();
        let cache = Cache::new(out.path().join("cache")).unwrap();
        let split = HeldOutSplit {
            fraction: 0.2,
            seed: 1,
        };
        let texts = ["document says sentence about whales and ships 0 1 2 3 4 5 6 7 8 9 ."];
        let tokenizer = Tokenizer::train_causal_bpe(texts.iter(), &TrainOptions::new(300)).unwrap();
        let packed = pack_corpora(
            &[Corpus::Path(corpus.path().into())],
            &cache,
            &tokenizer,
            16,
            &split,
            Framing::Causal,
            out.path(),
        )
        .unwrap();
        let (bos, eos) = (0, 2);
        let mut ends = 0;
        for i in 0..packed.train.len() {
            let s = packed.train.get(i).unwrap();
            assert!(s.len() <= 16 && s[0] == bos, "{s:?}");
            assert!(!s[1..s.len() - 1].contains(&eos), "{s:?}");
            ends += usize::from(s[s.len() - 1] == eos);
        }
        // One end token per training document, none elsewhere.
        assert_eq!(ends, packed.train_documents);
    }

    #[test]
    fn a_corpus_too_small_to_split_is_an_error() {
        let corpus = folder(1);
        let out = tempfile::tempdir().unwrap();
        let cache = Cache::new(out.path().join("cache")).unwrap();
        let split = HeldOutSplit {
            fraction: 0.02,
            seed: 0,
        };
        let err = pack_corpora(
            &[Corpus::Path(corpus.path().into())],
            &cache,
            &tokenizer(),
            16,
            &split,
            Framing::Mlm,
            out.path(),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("from 1 documents"), "{err}");
        // Nothing half-written is left behind.
        assert!(!out.path().join(TRAIN_SEQUENCES).exists());
    }
}
