//! Crash-safe file writes, the one way tinderbox's crates write a file.
//!
//! [`write_atomic`] writes to a uniquely named temporary file in the target's directory, syncs
//! it, renames it over the target and syncs the directory, so that the target holds the old
//! bytes or the new ones, never a mix, whenever the process is killed. Two writers of the same
//! path never share a temporary file (a fixed `.tmp` name would let one rename the other's
//! half-written file into place).
//!
//! ```
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("config.json");
//! tinderbox_io::write_atomic(&path, b"{}")?;
//! tinderbox_io::write_atomic(&path, b"{\"seed\": 42}")?;
//! assert_eq!(std::fs::read(&path)?, b"{\"seed\": 42}");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]
// Library code reports bad input as errors; tests may unwrap.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The prefix of the temporary files [`write_atomic`] creates, so that a program can recognise
/// (and remove) what a killed writer left behind.
pub const TEMPORARY_PREFIX: &str = ".tbx-tmp-";

/// A failed write: what was being done, to which path, and the operating system's error.
#[derive(Debug, thiserror::Error)]
#[error("{action} {}: {source}", path.display())]
pub struct WriteError {
    /// What was being done ("creating a temporary file in", "writing", "renaming into").
    pub action: &'static str,
    /// The file or directory it was done to.
    pub path: PathBuf,
    /// The operating system's error.
    #[source]
    pub source: std::io::Error,
}

/// Writes `bytes` to `path` through a synced temporary file in the same directory and a rename.
///
/// The new file is readable by everyone (mode 0644 on Unix, like a file a download tool writes):
/// the temporary file is created owner-only, and caches and run directories are meant to be
/// shared. The directory must exist.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    write_atomic_with(path, |tmp| {
        let mut file = std::fs::OpenOptions::new().write(true).open(tmp)?;
        file.write_all(bytes)
    })
    .map_err(|e| match e {
        WithError::Write(e) => e,
        WithError::Writer(source) => WriteError {
            action: "writing",
            path: path.to_path_buf(),
            source,
        },
    })
}

/// What [`write_atomic_with`] reports: the atomic write's own failure, or the writer's error.
#[derive(Debug, thiserror::Error)]
pub enum WithError<E> {
    /// Creating, syncing or renaming the temporary file failed.
    #[error(transparent)]
    Write(#[from] WriteError),
    /// The closure that fills the temporary file failed.
    #[error("{0}")]
    Writer(E),
}

/// Like [`write_atomic`] for writers that want a path rather than bytes (an image encoder, a
/// safetensors serialiser): `fill` writes the temporary file at the path it is given (which
/// keeps `path`'s extension, for writers that pick a format by name); the file is then synced
/// and renamed over `path`. If `fill` fails, the temporary file is removed and `path` is
/// untouched.
pub fn write_atomic_with<E>(
    path: &Path,
    fill: impl FnOnce(&Path) -> Result<(), E>,
) -> Result<(), WithError<E>> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let fail = |action: &'static str, path: &Path| {
        let path = path.to_path_buf();
        move |source| WriteError {
            action,
            path,
            source,
        }
    };
    let suffix = path
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    let tmp = tempfile::Builder::new()
        .prefix(TEMPORARY_PREFIX)
        .suffix(&suffix)
        .tempfile_in(dir)
        .map_err(fail("creating a temporary file in", dir))?;
    fill(tmp.path()).map_err(WithError::Writer)?;
    // The writer may have replaced the file at the path; sync what is there now.
    File::open(tmp.path())
        .and_then(|f| f.sync_all())
        .and_then(|()| readable_by_all(tmp.path()))
        .map_err(fail("writing", path))?;
    tmp.persist(path)
        .map_err(|e| fail("renaming into", path)(e.error))?;
    sync_dir(dir).map_err(fail("syncing the directory", dir))?;
    Ok(())
}

/// Whether `name` is a temporary file that [`write_atomic`] creates (and a killed writer leaves).
pub fn is_temporary(name: &str) -> bool {
    name.starts_with(TEMPORARY_PREFIX)
}

fn readable_by_all(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644))?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// Makes the rename itself durable: without it a power cut can lose the directory entry.
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_whole_file_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.json");
        write_atomic(&path, b"first version").unwrap();
        write_atomic(&path, b"2nd").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"2nd");
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, vec!["f.json".to_string()]);
    }

    #[cfg(unix)]
    #[test]
    fn the_file_is_readable_by_others() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shared");
        write_atomic(&path, b"x").unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o644);
    }

    #[test]
    fn a_missing_directory_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("no/such/dir/file");
        let err = write_atomic(&missing, b"x").unwrap_err();
        assert_eq!(err.action, "creating a temporary file in");
        assert!(err.to_string().contains("no/such/dir"), "{err}");
    }

    #[test]
    fn a_failing_writer_leaves_the_old_file_and_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("curves.png");
        write_atomic(&path, b"old").unwrap();
        let err = write_atomic_with(&path, |tmp: &Path| {
            assert!(tmp.to_string_lossy().ends_with(".png"), "{}", tmp.display());
            std::fs::write(tmp, b"half").unwrap();
            Err("the encoder failed")
        })
        .unwrap_err();
        assert!(matches!(err, WithError::Writer("the encoder failed")));
        assert_eq!(std::fs::read(&path).unwrap(), b"old");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn temporaries_are_recognised_by_name() {
        assert!(is_temporary(".tbx-tmp-abc123"));
        assert!(!is_temporary("model.bpk"));
    }
}
