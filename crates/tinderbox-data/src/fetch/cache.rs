//! The cache directory: where fetched packages and prepared datasets live, with a lock per entry
//! so that two processes never build the same entry at once.

use std::fs::{self, File};
use std::path::{Path, PathBuf};

use super::clients::Clients;
use crate::error::{DataError, Result};

/// Environment variable that overrides the cache location.
pub const CACHE_ENV: &str = "TINDERBOX_CACHE";

/// A cache directory holding `downloads/` (packages as fetched, checked by sha256) and one folder
/// per prepared dataset.
///
/// Every entry is built in a temporary sibling and renamed into place, under a file lock, so a
/// killed run or a second process never sees half an entry.
#[derive(Debug, Clone)]
pub struct Cache {
    root: PathBuf,
    pub(crate) clients: Clients,
}

impl Cache {
    /// Opens (and creates) a cache rooted at `root`.
    pub fn new(root: impl Into<PathBuf>) -> Result<Self> {
        let root = root.into();
        fs::create_dir_all(&root).map_err(|e| DataError::CacheUnusable {
            path: root.clone(),
            reason: e.to_string(),
        })?;
        Ok(Self {
            root,
            clients: Clients::from_env(),
        })
    }

    /// Opens the cache at `$TINDERBOX_CACHE`, else `<platform cache dir>/tinderbox`
    /// (`~/.cache/tinderbox` on Linux).
    pub fn from_env() -> Result<Self> {
        Self::new(default_root()?)
    }

    /// Replaces the package clients (`pip`, `npm`, `apt-get`) used to fetch sources.
    pub fn with_clients(mut self, clients: Clients) -> Self {
        self.clients = clients;
        self
    }

    /// The cache's root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where fetched package files are kept, and where a user can place them by hand.
    pub fn downloads_dir(&self) -> PathBuf {
        self.root.join("downloads")
    }

    /// Takes the exclusive lock named `name`, waiting for another process that holds it.
    pub fn lock(&self, name: &str) -> Result<CacheLock> {
        let dir = self.root.join(".locks");
        create_dir(&dir)?;
        let path = dir.join(format!("{name}.lock"));
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| DataError::CacheUnusable {
                path: path.clone(),
                reason: format!("cannot open lock file: {e}"),
            })?;
        file.lock()
            .map_err(|e| DataError::io("locking", &path, e))?;
        Ok(CacheLock { _file: file })
    }

    /// Returns the folder `name`, building it first with `build` if it does not exist yet.
    ///
    /// `build` fills a temporary directory that is renamed to `<root>/<name>` only when it
    /// succeeds, so the folder either holds everything `build` wrote or does not exist.
    pub fn entry(&self, name: &str, build: impl FnOnce(&Path) -> Result<()>) -> Result<PathBuf> {
        let target = self.root.join(name);
        if target.is_dir() {
            return Ok(target);
        }
        let _lock = self.lock(name)?;
        if target.is_dir() {
            // Another process built it while we waited for the lock.
            return Ok(target);
        }
        remove_stale(&self.root, &format!(".{name}-"))?;
        let staging = tempfile::Builder::new()
            .prefix(&format!(".{name}-"))
            .tempdir_in(&self.root)
            .map_err(|e| DataError::CacheUnusable {
                path: self.root.clone(),
                reason: format!("cannot create a staging directory: {e}"),
            })?;
        build(staging.path())?;
        let staged = staging.keep();
        fs::rename(&staged, &target).map_err(|e| {
            let _ = fs::remove_dir_all(&staged);
            DataError::io("moving into place", &target, e)
        })?;
        Ok(target)
    }
}

/// An exclusive lock on a cache entry, released when dropped.
#[derive(Debug)]
pub struct CacheLock {
    _file: File,
}

fn default_root() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os(CACHE_ENV).filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    dirs::cache_dir()
        .map(|d| d.join("tinderbox"))
        .ok_or_else(|| DataError::CacheUnusable {
            path: PathBuf::from("~/.cache/tinderbox"),
            reason: "no platform cache directory (HOME unset?)".into(),
        })
}

/// Removes what killed processes left under `dir` with names starting with `prefix`. The caller
/// holds the lock that every writer of such names takes, so none of them is in use.
pub(crate) fn remove_stale(dir: &Path, prefix: &str) -> Result<()> {
    let entries = fs::read_dir(dir).map_err(|e| DataError::io("listing", dir, e))?;
    for entry in entries.flatten() {
        if entry.file_name().to_string_lossy().starts_with(prefix) {
            let path = entry.path();
            let removed = if path.is_dir() {
                fs::remove_dir_all(&path)
            } else {
                fs::remove_file(&path)
            };
            removed.map_err(|e| DataError::io("removing stale temporary", &path, e))?;
        }
    }
    Ok(())
}

pub(crate) fn create_dir(dir: &Path) -> Result<()> {
    fs::create_dir_all(dir).map_err(|e| DataError::CacheUnusable {
        path: dir.to_path_buf(),
        reason: e.to_string(),
    })
}

/// Writes `bytes` to `path` atomically ([`tinderbox_io::write_atomic`]), readable by everyone
/// (a cache is shared like any download).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    Ok(tinderbox_io::write_atomic(path, bytes)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_is_built_once_and_failed_builds_leave_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path()).unwrap();

        let failed = cache.entry("thing", |staging| {
            fs::write(staging.join("half"), b"x").unwrap();
            Err(DataError::Invalid {
                name: "thing".into(),
                reason: "boom".into(),
            })
        });
        assert!(failed.is_err());
        assert!(!dir.path().join("thing").exists());

        let mut builds = 0;
        for _ in 0..2 {
            let path = cache
                .entry("thing", |staging| {
                    builds += 1;
                    fs::write(staging.join("file"), b"ok")
                        .map_err(|e| DataError::io("w", staging, e))
                })
                .unwrap();
            assert_eq!(fs::read(path.join("file")).unwrap(), b"ok");
        }
        assert_eq!(builds, 1);
        // A staging directory left by a killed build is removed by the next build.
        fs::remove_dir_all(dir.path().join("thing")).unwrap();
        fs::create_dir(dir.path().join(".thing-killed")).unwrap();
        cache.entry("thing", |_| Ok(())).unwrap();
        let leftovers: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.starts_with(".thing-"))
            .collect();
        assert!(leftovers.is_empty(), "staging dirs left: {leftovers:?}");
    }

    #[test]
    fn write_atomic_replaces_whole_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.bin");
        write_atomic(&path, b"first version").unwrap();
        write_atomic(&path, b"2nd").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"2nd");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn unwritable_cache_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("not-a-dir");
        fs::write(&file, b"").unwrap();
        let err = Cache::new(file.join("cache")).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("TINDERBOX_CACHE"), "{msg}");
        assert!(msg.contains("not-a-dir"), "{msg}");
    }
}
