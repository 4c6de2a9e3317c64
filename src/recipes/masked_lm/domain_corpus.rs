//! In-domain text for continued pre-training (Gururangan et al. 2020, "Don't Stop
//! Pretraining"): a classification dataset's training texts without their labels, and the
//! unlabelled texts its package ships beside them, written as a folder of documents that the
//! pre-training corpus reader takes like any other.
//!
//! Only the training split is read (drawn exactly as `text_classification` draws it, from the
//! same seed and fractions), so a later fine-tuning run's validation and test texts stay unseen.

use std::path::Path;

use serde::{Deserialize, Serialize};
use tinderbox_data::fetch::Cache;
use tinderbox_data::text::{Split, TextSource};

use crate::Error;

/// Characters per written document by default: enough for several packed sequences, so that
/// packing (which never crosses a document) wastes little on padding, and enough documents
/// that the held-out share by document is not empty.
pub const DOCUMENT_CHARS: usize = 10_000;

fn document_chars() -> usize {
    DOCUMENT_CHARS
}

/// Which dataset's text, and the split whose training part is read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DomainText {
    /// The classification dataset.
    pub source: TextSource,
    /// The split's seed (`text_classification --split-seed`, else its `--seed`).
    pub split_seed: u64,
    /// Its validation fraction.
    pub valid_fraction: f64,
    /// Its test fraction.
    pub test_fraction: f64,
    /// Characters per written document (texts are never cut).
    #[serde(default = "document_chars")]
    pub document_chars: usize,
}

impl DomainText {
    /// The training texts of `source` under `text_classification`'s default split (seed 42,
    /// 10 % validation, 10 % test).
    pub fn new(source: TextSource) -> Self {
        Self {
            source,
            split_seed: 42,
            valid_fraction: 0.1,
            test_fraction: 0.1,
            document_chars: DOCUMENT_CHARS,
        }
    }
}

/// What [`write_domain_corpus`] wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DomainCorpusCounts {
    /// Training texts of the split.
    pub training_texts: usize,
    /// Unlabelled texts of the package.
    pub unlabelled_texts: usize,
    /// Documents written.
    pub documents: usize,
}

/// Writes the domain's training texts, then its package's unlabelled ones, into `dir` as
/// `domain-NNNN.txt` documents of about `document_chars` characters, one text per line (line breaks inside
/// a text become spaces). Each file is written whole under a temporary name.
pub fn write_domain_corpus(
    domain: &DomainText,
    cache: &Cache,
    dir: &Path,
) -> Result<DomainCorpusCounts, Error> {
    let data = domain.source.load(cache)?;
    let split = Split::stratified(
        &data,
        domain.valid_fraction,
        domain.test_fraction,
        domain.split_seed,
    )?;
    let [train, _, _] = split.apply(&data)?;
    let unlabelled = domain.source.unlabelled_texts(cache)?;
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::Invalid(format!("cannot create {}: {e}", dir.display())))?;
    let documents = documents(train.texts.iter().chain(&unlabelled), domain.document_chars);
    for (i, document) in documents.iter().enumerate() {
        tinderbox_io::write_atomic(&dir.join(format!("domain-{i:04}.txt")), document.as_bytes())?;
    }
    Ok(DomainCorpusCounts {
        training_texts: train.len(),
        unlabelled_texts: unlabelled.len(),
        documents: documents.len(),
    })
}

/// The texts, one per line, cut into documents once one reaches `chars`; blank texts are left
/// out.
fn documents<'a>(texts: impl Iterator<Item = &'a String>, chars: usize) -> Vec<String> {
    let mut documents = Vec::new();
    let mut current = String::new();
    for text in texts {
        let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
        if line.is_empty() {
            continue;
        }
        current.push_str(&line);
        current.push('\n');
        if current.len() >= chars {
            documents.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        documents.push(current);
    }
    documents
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_hold_whole_texts_one_per_line() {
        let long = "word ".repeat(DOCUMENT_CHARS / 5);
        let texts: Vec<String> = vec![
            "A first\nreview.".into(),
            "  ".into(),
            long.clone(),
            "after".into(),
        ];
        let docs = documents(texts.iter(), DOCUMENT_CHARS);
        assert_eq!(docs.len(), 2);
        assert!(docs[0].starts_with("A first review.\nword word"));
        assert_eq!(docs[0].lines().count(), 2);
        assert_eq!(docs[1], "after\n");
        // Every non-blank text is on exactly one line, whole.
        let lines: Vec<&str> = docs.iter().flat_map(|d| d.lines()).collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[1], long.trim());
    }
}
