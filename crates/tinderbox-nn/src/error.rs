//! Errors of model configuration and checkpoint loading, each naming the file and the key or
//! value at fault.

use std::path::{Path, PathBuf};

/// A tensor the checkpoint and the model disagree on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyMismatch {
    /// The checkpoint's (Hugging Face) name.
    pub key: String,
    /// The shape the model expects, if it has the tensor.
    pub expected: Option<Vec<usize>>,
    /// The shape in the file, if the file has the tensor.
    pub found: Option<Vec<usize>>,
}

impl std::fmt::Display for KeyMismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.expected, &self.found) {
            (Some(e), None) => write!(f, "missing     {} (expected {e:?})", self.key),
            (None, Some(s)) => write!(f, "unexpected  {} (found {s:?})", self.key),
            (Some(e), Some(s)) => {
                write!(f, "wrong shape {}: expected {e:?}, found {s:?}", self.key)
            }
            (None, None) => write!(f, "{}", self.key),
        }
    }
}

fn list(items: &[KeyMismatch]) -> String {
    items.iter().map(|m| format!("\n  {m}")).collect()
}

/// What can go wrong building or loading a model.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// A file could not be read or written.
    #[error("{action} {}: {source}", path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Writing a file (atomically) failed.
    #[error(transparent)]
    Write(#[from] tinderbox_io::WriteError),
    /// A configuration file is not valid JSON for the model.
    #[error("{}: not a valid model configuration: {source}", path.display())]
    Json {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: serde_json::Error,
    },
    /// A configuration value that makes no model.
    #[error("{}{field}: {message}", path.as_ref().map(|p| format!("{}: ", p.display())).unwrap_or_default())]
    Config {
        /// The file, when the configuration came from one.
        path: Option<PathBuf>,
        /// The offending key.
        field: String,
        /// What is wrong with it.
        message: String,
    },
    /// A model folder without `config.json`.
    #[error("{} has no config.json: a Hugging Face model folder holds config.json and model.safetensors", dir.display())]
    MissingConfig {
        /// The folder.
        dir: PathBuf,
    },
    /// A file that is not a complete safetensors file.
    #[error("{}: not a readable safetensors file (truncated or corrupt?): {message}", path.display())]
    Safetensors {
        /// The file.
        path: PathBuf,
        /// The reader's complaint.
        message: String,
    },
    /// The checkpoint's tensors do not fit the model: every disagreement is listed.
    #[error("{} does not fit the model ({} tensors disagree):{}", path.display(), mismatches.len(), list(mismatches))]
    Mismatch {
        /// The checkpoint.
        path: PathBuf,
        /// Every missing, unexpected or wrongly shaped tensor.
        mismatches: Vec<KeyMismatch>,
    },
    /// A tokenizer that does not belong to the model: it knows ids past the embedding table.
    #[error(
        "{}: tokenizer.json has {tokens} tokens but config.json's vocab_size is {vocab_size}; \
         the tokenizer does not belong to this model",
        dir.display()
    )]
    TokenizerTooLarge {
        /// The model folder.
        dir: PathBuf,
        /// The tokenizer's vocabulary size.
        tokens: usize,
        /// The model's embedding rows.
        vocab_size: usize,
    },
    /// A GGUF file could not be read, or lacks what the model needs.
    #[error(transparent)]
    Gguf(#[from] crate::gguf::GgufError),
    /// Loading, training or running a tokenizer failed.
    #[error(transparent)]
    Tokenize(#[from] tinderbox_tokenize::TokenizeError),
    /// Quantized weights that cannot be built or multiplied as asked.
    #[error(transparent)]
    Quant(#[from] tinderbox_ops::quant::QuantError),
    /// A result could not be read back from the device.
    #[error("reading {what} back from the device: {reason}")]
    Read {
        /// What was being read.
        what: &'static str,
        /// burn's message.
        reason: String,
    },
}

/// A float tensor's values on the host, or [`ModelError::Read`] naming `what` was read.
pub(crate) fn read_values<const D: usize>(
    tensor: burn::Tensor<D>,
    what: &'static str,
) -> Result<Vec<f32>> {
    tensor
        .into_data()
        .convert::<f32>()
        .try_into_vec()
        .map_err(|e| ModelError::Read {
            what,
            reason: format!("{e:?}"),
        })
}

impl ModelError {
    pub(crate) fn io(action: &'static str, path: &Path, source: std::io::Error) -> Self {
        ModelError::Io {
            action,
            path: path.to_path_buf(),
            source,
        }
    }

    pub(crate) fn config(field: &str, message: String) -> Self {
        ModelError::Config {
            path: None,
            field: field.to_string(),
            message,
        }
    }

    /// Attaches the configuration file a [`ModelError::Config`] came from.
    pub fn at(self, file: &Path) -> Self {
        match self {
            ModelError::Config { field, message, .. } => ModelError::Config {
                path: Some(file.to_path_buf()),
                field,
                message,
            },
            other => other,
        }
    }
}

/// Results of this crate.
pub type Result<T, E = ModelError> = std::result::Result<T, E>;
