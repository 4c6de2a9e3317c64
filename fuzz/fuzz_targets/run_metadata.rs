//! The training settings of a run directory's `config.json` (every recipe's config embeds a
//! `TrainConfig`), read as `--resume` reads it, then validated as a run does before it starts.
//! The input patches a valid configuration or replaces it.
#![no_main]

#[path = "mutate.rs"]
mod mutate;

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use tinderbox_train::{RunDir, TrainConfig};

fn valid() -> &'static [u8] {
    static CONFIG: OnceLock<Vec<u8>> = OnceLock::new();
    CONFIG.get_or_init(|| {
        serde_json::to_vec_pretty(&TrainConfig::new(1e-3)).unwrap_or_else(|e| panic!("{e}"))
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(dir) = tempfile::tempdir() else {
        return;
    };
    if std::fs::write(
        dir.path().join("config.json"),
        mutate::mutate(valid(), data),
    )
    .is_err()
    {
        return;
    }
    let Ok(run) = RunDir::open(dir.path()) else {
        return;
    };
    if let Ok(config) = run.read_json::<TrainConfig>("config.json") {
        let _ = config.validate();
    }
});
