//! A run directory: the files a training run leaves, so that a later command can resume,
//! evaluate or predict from the directory alone.
//!
//! ```text
//! <run>/config.json        everything needed to rebuild the model and the run (written by the caller)
//! <run>/metrics.csv        one row per finished epoch
//! <run>/curves.png         loss and accuracy curves, redrawn after every epoch
//! <run>/checkpoints/epoch-N/{model.bpk, optimizer.bpk, state.json}
//! <run>/model.bpk          the final weights (the best epoch's when restored)
//! <run>/summary.json       the figures of the finished run (written by the caller)
//! ```
//!
//! Every file is written to a temporary file and renamed, so none is ever half-written.

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::checkpoint::STAGING_PREFIX;
use crate::error::{Result, TrainError};

/// The name of the file that marks a directory as a run.
pub const CONFIG_FILE: &str = "config.json";

/// A run directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunDir {
    path: PathBuf,
}

impl RunDir {
    /// Creates the directory (and its parents) for a new run.
    pub fn create(path: impl Into<PathBuf>) -> Result<Self> {
        let path = path.into();
        std::fs::create_dir_all(&path)
            .map_err(|e| TrainError::io("creating run directory", &path, e))?;
        Ok(Self { path })
    }

    /// Opens an existing run: the directory must hold a `config.json`.
    pub fn open(path: impl Into<PathBuf>) -> Result<Self> {
        let path = path.into();
        if !path.is_dir() {
            return Err(TrainError::NotARun {
                path,
                reason: "no such directory".into(),
            });
        }
        if !path.join(CONFIG_FILE).is_file() {
            return Err(TrainError::NotARun {
                path,
                reason: format!("it has no {CONFIG_FILE}"),
            });
        }
        Ok(Self { path })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A file inside the run.
    pub fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// `metrics.csv`.
    pub fn metrics_csv(&self) -> PathBuf {
        self.file("metrics.csv")
    }

    /// `curves.png`.
    pub fn curves_png(&self) -> PathBuf {
        self.file("curves.png")
    }

    /// `model.bpk`, the final weights.
    pub fn model_file(&self) -> PathBuf {
        self.file("model.bpk")
    }

    /// The `checkpoints/` directory.
    pub fn checkpoints_dir(&self) -> PathBuf {
        self.file("checkpoints")
    }

    /// Deletes the temporary files and staging directories that a killed run can leave
    /// (`tinderbox_io`'s temporaries, `checkpoints/.staging-*`). Call it only while no other process
    /// writes into this run.
    pub fn remove_temporaries(&self) -> Result<()> {
        for dir in [self.path.clone(), self.checkpoints_dir()] {
            let entries = match std::fs::read_dir(&dir) {
                Ok(entries) => entries,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(TrainError::io("listing", &dir, e)),
            };
            for entry in entries.flatten() {
                let name = entry.file_name();
                let name = name.to_string_lossy();
                if tinderbox_io::is_temporary(&name) || name.starts_with(STAGING_PREFIX) {
                    let path = entry.path();
                    let removed = if path.is_dir() {
                        std::fs::remove_dir_all(&path)
                    } else {
                        std::fs::remove_file(&path)
                    };
                    removed.map_err(|e| TrainError::io("removing stale temporary", &path, e))?;
                }
            }
        }
        Ok(())
    }

    /// Writes `value` as pretty JSON to `name`, atomically.
    pub fn write_json<T: Serialize>(&self, name: &str, value: &T) -> Result<()> {
        let path = self.file(name);
        let json = serde_json::to_vec_pretty(value).map_err(|e| TrainError::Json {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        write_atomic(&path, &json)
    }

    /// Reads `name` as JSON.
    pub fn read_json<T: DeserializeOwned>(&self, name: &str) -> Result<T> {
        read_json(&self.file(name))
    }
}

/// Reads and parses a JSON file.
pub fn read_json<T: DeserializeOwned>(path: &Path) -> Result<T> {
    let bytes = std::fs::read(path).map_err(|e| TrainError::io("reading", path, e))?;
    serde_json::from_slice(&bytes).map_err(|e| TrainError::Json {
        path: path.to_path_buf(),
        reason: format!("not valid for this version of tinderbox: {e}"),
    })
}

/// Writes `bytes` to `path` atomically ([`tinderbox_io::write_atomic`]): a reader sees the old
/// file or the new one, never a mix, even if the process is killed.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    Ok(tinderbox_io::write_atomic(path, bytes)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_refuses_directories_that_are_not_runs() {
        let dir = tempfile::tempdir().unwrap();
        let err = RunDir::open(dir.path()).unwrap_err().to_string();
        assert!(err.contains("not a tinderbox run directory"), "{err}");
        assert!(err.contains("config.json"), "{err}");
        let err = RunDir::open(dir.path().join("missing"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("no such directory"), "{err}");
        let run = RunDir::create(dir.path().join("run")).unwrap();
        run.write_json(CONFIG_FILE, &serde_json::json!({"a": 1}))
            .unwrap();
        assert_eq!(RunDir::open(run.path()).unwrap(), run);
        let v: serde_json::Value = run.read_json(CONFIG_FILE).unwrap();
        assert_eq!(v["a"], 1);
    }

    #[test]
    fn stale_temporaries_are_removed_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let run = RunDir::create(dir.path()).unwrap();
        std::fs::create_dir_all(run.checkpoints_dir().join(".staging-abc")).unwrap();
        std::fs::create_dir_all(run.checkpoints_dir().join("epoch-1")).unwrap();
        std::fs::write(run.file(".tbx-tmp-XYZ"), b"half").unwrap();
        std::fs::write(run.file("metrics.csv"), b"epoch\n").unwrap();
        run.remove_temporaries().unwrap();
        assert!(!run.checkpoints_dir().join(".staging-abc").exists());
        assert!(!run.file(".tbx-tmp-XYZ").exists());
        assert!(run.checkpoints_dir().join("epoch-1").is_dir());
        assert!(run.metrics_csv().is_file());
    }

    #[test]
    fn unwritable_run_directory_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("file");
        std::fs::write(&file, b"").unwrap();
        let err = RunDir::create(file.join("run")).unwrap_err().to_string();
        assert!(err.contains("creating run directory"), "{err}");
    }
}
