//! The tokenization crate's error type.

use std::path::PathBuf;

/// What can go wrong while loading, training or using a tokenizer.
#[derive(Debug, thiserror::Error)]
pub enum TokenizeError {
    /// A `tokenizer.json` could not be read or is not one this version of `tokenizers` knows.
    #[error("cannot load tokenizer {path}: {reason}")]
    Load {
        /// The file.
        path: PathBuf,
        /// Why, as `tokenizers` or the file system reported it.
        reason: String,
    },
    /// Writing a `tokenizer.json` failed.
    #[error("cannot save tokenizer to {path}: {reason}")]
    Save {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// Training a vocabulary failed.
    #[error("training the {kind} tokenizer failed: {reason}")]
    Train {
        /// WordPiece, BPE, word-level or Keras.
        kind: &'static str,
        /// Why.
        reason: String,
    },
    /// Encoding or decoding failed inside `tokenizers`.
    #[error("{action}: {reason}")]
    Codec {
        /// "encoding" or "decoding".
        action: &'static str,
        /// Why.
        reason: String,
    },
    /// A chat template that does not parse or render.
    #[error("{0}")]
    Template(String),
    /// The options cannot be satisfied by this tokenizer or batch.
    #[error("invalid encoding options: {0}")]
    Options(String),
}

/// Result alias for this crate.
pub type Result<T, E = TokenizeError> = std::result::Result<T, E>;
