//! What can be wrong with a GGUF file, each error naming the file and the offset, key or tensor.

use std::path::PathBuf;

use tinderbox_ops::quant::{BlockMismatch, UnsupportedType};

/// A GGUF file that cannot be read, or a value or tensor it lacks.
#[derive(Debug, thiserror::Error)]
pub enum GgufError {
    /// The file could not be opened or mapped.
    #[error("{action} {}: {source}", path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The first four bytes are not `GGUF`.
    #[error("{} is not a GGUF file (it starts with {magic:?}, not \"GGUF\")", path.display())]
    NotGguf {
        /// The file.
        path: PathBuf,
        /// Its first four bytes.
        magic: [u8; 4],
    },
    /// A version this reader does not know.
    #[error(
        "{}: GGUF version {version} is not supported (versions 2 and 3 are; version 1 files \
         predate llama.cpp's 2023 format and must be converted again; a big-endian file reads \
         as a huge version)",
        path.display()
    )]
    Version {
        /// The file.
        path: PathBuf,
        /// The version field.
        version: u32,
    },
    /// The file ends inside the header, the metadata or the tensor table.
    #[error("{}: truncated at byte {offset} while reading {what}", path.display())]
    Truncated {
        /// The file.
        path: PathBuf,
        /// Where reading stopped.
        offset: u64,
        /// What was being read.
        what: String,
    },
    /// A string that is not UTF-8.
    #[error("{}: {what} at byte {offset} is not UTF-8", path.display())]
    NotUtf8 {
        /// The file.
        path: PathBuf,
        /// Where the string starts.
        offset: u64,
        /// What the string is.
        what: String,
    },
    /// A value or table entry that breaks the format's rules.
    #[error("{}: {what} at byte {offset}: {reason}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Where.
        offset: u64,
        /// The key or tensor.
        what: String,
        /// What is wrong.
        reason: String,
    },
    /// A tensor of a type this crate cannot read.
    #[error("{}: tensor {tensor}: {source}", path.display())]
    TensorType {
        /// The file.
        path: PathBuf,
        /// The tensor.
        tensor: String,
        /// The type.
        source: UnsupportedType,
    },
    /// A tensor whose data is misaligned or lies past the end of the file.
    #[error("{}: tensor {tensor}: {reason}", path.display())]
    Layout {
        /// The file.
        path: PathBuf,
        /// The tensor.
        tensor: String,
        /// What is wrong.
        reason: String,
    },
    /// A metadata key the reader needs is absent.
    #[error("{}: no metadata key {key}", path.display())]
    MissingKey {
        /// The file.
        path: PathBuf,
        /// The key.
        key: String,
    },
    /// A metadata value of another type than needed.
    #[error("{}: {key} is {found}, expected {expected}", path.display())]
    WrongType {
        /// The file.
        path: PathBuf,
        /// The key.
        key: String,
        /// What was needed.
        expected: &'static str,
        /// What the file holds (type and value).
        found: String,
    },
    /// A tensor the reader needs is absent.
    #[error("{}: no tensor {name}", path.display())]
    MissingTensor {
        /// The file.
        path: PathBuf,
        /// The tensor's name.
        name: String,
    },
    /// A tensor whose size disagrees with what the caller expects.
    #[error("{}: tensor {name} has shape {found:?} (ggml order), expected {expected:?}", path.display())]
    Shape {
        /// The file.
        path: PathBuf,
        /// The tensor.
        name: String,
        /// The expected ggml-order shape.
        expected: Vec<usize>,
        /// The file's.
        found: Vec<usize>,
    },
    /// Dequantization refused the bytes (cannot happen for a tensor the table checked).
    #[error(transparent)]
    Blocks(#[from] BlockMismatch),
}
