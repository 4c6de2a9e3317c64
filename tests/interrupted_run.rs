//! The MNIST program as a user runs it, interrupted: killed with SIGKILL at a random step and
//! continued with `--resume`, and a checkpoint write that fails because the disk is full. The
//! program is the example binary that `cargo test` builds, on a small synthetic IDX folder.

#[path = "support/example_binary.rs"]
mod example_binary;

use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use burn::store::ModuleSnapshot;
use example_binary::example_binary;
use tinderbox::backend::default_device;
use tinderbox::data::vision::{ImageSet, write_idx_dir};
use tinderbox::heads::ImageClassifier;
use tinderbox::recipes::image_classification::{ImageRunSummary, load_run_config};

const EPOCHS: usize = 5;

/// Ten classes a small CNN tells apart in a few epochs: class k lights row band k, with noise.
fn synthetic(n: usize, seed: u64) -> ImageSet {
    let mut state = seed;
    let mut next = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) as u32
    };
    let (mut images, mut labels) = (Vec::new(), Vec::new());
    for i in 0..n {
        let label = (i % 10) as u8;
        for row in 0..28 {
            for _col in 0..28 {
                let lit = row / 3 == usize::from(label);
                let noise = (next() % 64) as u8;
                images.push(if lit { 191 + noise } else { noise });
            }
        }
        labels.push(label);
    }
    ImageSet::new(images, labels, 28, 28).unwrap()
}

struct Fixture {
    _dir: tempfile::TempDir,
    root: PathBuf,
    data: PathBuf,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        let data = root.join("idx");
        write_idx_dir(&data, &synthetic(384, 1), &synthetic(64, 2)).unwrap();
        Self {
            _dir: dir,
            root,
            data,
        }
    }

    /// The program training a fresh run into `out`.
    fn train(&self, out: &Path, epochs: usize) -> Command {
        let mut cmd = self.program();
        cmd.args(["--data-dir", self.data.to_str().unwrap()])
            .args(["--valid-size", "64", "--batch-size", "16", "--seed", "3"])
            .args(["--epochs", &epochs.to_string()])
            .args(["--out", out.to_str().unwrap()]);
        cmd
    }

    /// The program continuing the run in `out`.
    fn resume(&self, out: &Path, epochs: usize) -> Command {
        let mut cmd = self.program();
        cmd.args(["--resume", out.to_str().unwrap()])
            .args(["--epochs", &epochs.to_string()]);
        cmd
    }

    fn program(&self) -> Command {
        let mut cmd = Command::new(example_binary("mnist"));
        cmd.env("TINDERBOX_CACHE", self.root.join("cache"))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }
}

fn succeed(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The epoch numbers of the checkpoints in `run`, in order.
fn checkpoint_epochs(run: &Path) -> Vec<usize> {
    let Ok(entries) = std::fs::read_dir(run.join("checkpoints")) else {
        return Vec::new();
    };
    let mut epochs: Vec<usize> = entries
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            name.strip_prefix("epoch-")?.parse().ok()
        })
        .collect();
    epochs.sort_unstable();
    epochs
}

/// Hidden entries (staging directories, temporary files) left in the run's checkpoints.
fn temporaries(run: &Path) -> Vec<String> {
    std::fs::read_dir(run.join("checkpoints"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.starts_with('.'))
        .collect()
}

/// `metrics.csv` without its two wall-clock columns, which differ from run to run.
fn metrics_without_times(run: &Path) -> Vec<String> {
    let csv = std::fs::read_to_string(run.join("metrics.csv")).unwrap();
    csv.lines()
        .map(|line| {
            let fields: Vec<&str> = line.split(',').collect();
            fields[..fields.len() - 2].join(",")
        })
        .collect()
}

fn summary(run: &Path) -> ImageRunSummary {
    serde_json::from_slice(&std::fs::read(run.join("summary.json")).unwrap()).unwrap()
}

/// Every weight of the model saved in `run`, by parameter path. (The files themselves differ:
/// burnpack records each parameter's random id.)
fn weights(run: &Path) -> Vec<(String, Vec<u8>)> {
    let config = load_run_config(run).unwrap();
    let init = ImageClassifier::new(config.model.init(&default_device()));
    let model = tinderbox::train::load_model(&run.join("model.bpk"), init).unwrap();
    model
        .collect(None, None, false)
        .into_iter()
        .map(|t| (t.name.clone(), t.to_bytes().unwrap().to_vec()))
        .collect()
}

#[test]
fn a_run_killed_at_a_random_step_resumes_to_the_same_weights() {
    let fx = Fixture::new();

    let reference = fx.root.join("reference");
    succeed(&mut fx.train(&reference, EPOCHS));
    let seconds = summary(&reference).seconds_per_epoch;
    let epoch_ms = (seconds.iter().sum::<f64>() / seconds.len() as f64 * 1000.0) as u64;

    // Kill during epoch after_epoch + 1 (or + 2, if the machine is slow), somewhere inside it.
    let after_epoch = 1 + rand::random_range(0..EPOCHS - 2);
    let delay_ms = rand::random_range(0..epoch_ms.max(1) * 4 / 5);
    eprintln!("killing {delay_ms} ms after checkpoint {after_epoch} (epochs take {epoch_ms} ms)");

    let killed = fx.root.join("killed");
    let mut child = fx.train(&killed, EPOCHS).spawn().unwrap();
    let started = Instant::now();
    while checkpoint_epochs(&killed).last() < Some(&after_epoch) {
        assert!(child.try_wait().unwrap().is_none(), "the run ended early");
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "no checkpoint"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    std::thread::sleep(Duration::from_millis(delay_ms));
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.signal(), Some(9), "the run finished before the kill");

    let survived = checkpoint_epochs(&killed);
    let last = *survived.last().unwrap();
    assert!(last >= after_epoch && last < EPOCHS, "{survived:?}");
    for epoch in &survived {
        let dir = killed.join(format!("checkpoints/epoch-{epoch}"));
        for file in ["model.bpk", "optimizer.bpk", "state.json"] {
            assert!(
                dir.join(file).is_file(),
                "half a checkpoint: {dir:?} lacks {file}"
            );
        }
    }
    assert!(!killed.join("summary.json").exists());

    succeed(&mut fx.resume(&killed, EPOCHS));
    let state: tinderbox::train::TrainState = serde_json::from_slice(
        &std::fs::read(killed.join(format!("checkpoints/epoch-{EPOCHS}/state.json"))).unwrap(),
    )
    .unwrap();
    let epochs: Vec<usize> = state.history.iter().map(|m| m.epoch).collect();
    assert_eq!(
        epochs,
        (1..=EPOCHS).collect::<Vec<_>>(),
        "lost or repeated epochs"
    );
    let steps_per_epoch = (384usize - 64).div_ceil(16); // 64 held out for validation
    assert_eq!(state.step, EPOCHS * steps_per_epoch);
    assert_eq!(
        metrics_without_times(&killed),
        metrics_without_times(&reference)
    );
    let (resumed, uninterrupted) = (weights(&killed), weights(&reference));
    assert!(resumed.len() >= 4, "{} tensors", resumed.len());
    for ((name, ours), (_, theirs)) in resumed.iter().zip(&uninterrupted) {
        assert!(
            ours == theirs,
            "{name} differs from the uninterrupted run's"
        );
    }
    assert_eq!(resumed.len(), uninterrupted.len());
    assert_eq!(
        summary(&killed).test_accuracy,
        summary(&reference).test_accuracy
    );
    assert_eq!(temporaries(&killed), Vec::<String>::new());
}

/// Files larger than this fail to write in the child, as on a full disk (`EFBIG` instead of
/// `ENOSPC`; the same `write` failure to the program). Root ignores permissions, so a read-only
/// directory would not fail here.
const FILE_SIZE_LIMIT: u64 = 16 * 1024;

fn with_file_size_limit(cmd: &mut Command) -> &mut Command {
    // SAFETY: setrlimit and signal are async-signal-safe; nothing else runs before exec.
    unsafe {
        cmd.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: FILE_SIZE_LIMIT,
                rlim_max: FILE_SIZE_LIMIT,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // Without this the kernel kills the process (SIGXFSZ) instead of failing the write.
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            Ok(())
        })
    }
}

#[test]
fn a_checkpoint_that_cannot_be_written_is_an_error_and_the_previous_one_stays() {
    let fx = Fixture::new();
    let run = fx.root.join("run");
    succeed(&mut fx.train(&run, 2));
    let previous = run.join("checkpoints/epoch-2");
    let files = ["model.bpk", "optimizer.bpk", "state.json"];
    let before: Vec<Vec<u8>> = files
        .iter()
        .map(|f| std::fs::read(previous.join(f)).unwrap())
        .collect();
    assert!(
        before[0].len() as u64 > FILE_SIZE_LIMIT,
        "the model is too small to hit the limit"
    );

    let out = with_file_size_limit(&mut fx.resume(&run, 4))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("with the disk full the program said: {stderr}");
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("could not save checkpoint"), "{stderr}");
    assert!(stderr.contains("checkpoints/epoch-3"), "{stderr}");
    assert!(stderr.contains("File too large"), "{stderr}");
    assert!(
        stderr.contains(&run.display().to_string()),
        "no path: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");

    assert_eq!(checkpoint_epochs(&run), [1, 2]);
    assert_eq!(temporaries(&run), Vec::<String>::new());
    for (file, bytes) in files.iter().zip(&before) {
        assert_eq!(
            &std::fs::read(previous.join(file)).unwrap(),
            bytes,
            "{file} changed"
        );
    }
    // With room again, the run goes on from the intact checkpoint.
    succeed(&mut fx.resume(&run, 4));
    assert_eq!(metrics_without_times(&run).len(), 1 + 4);
    assert_eq!(summary(&run).epochs, 4);
}
