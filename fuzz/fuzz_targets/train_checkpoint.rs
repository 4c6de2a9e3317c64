//! A training run's checkpoint folder: `state.json` (epoch and step loops) and the burnpack
//! weights, resumed through `Checkpoints` as `--resume` does. The first byte picks the loop kind
//! and which of the two files the fuzzer writes; the other one is valid.
#![no_main]

#[path = "mutate.rs"]
mod mutate;

use std::sync::OnceLock;

use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use libfuzzer_sys::fuzz_target;
use tinderbox_train::{Checkpoints, StepState, TrainState, load_model, save_model};

fn linear() -> &'static (Linear, Vec<u8>, Vec<u8>) {
    static MODEL: OnceLock<(Linear, Vec<u8>, Vec<u8>)> = OnceLock::new();
    MODEL.get_or_init(|| {
        let model = LinearConfig::new(3, 2).init(&Device::default());
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("w.bpk");
        save_model(&path, &model).unwrap_or_else(|e| panic!("{e}"));
        let weights = std::fs::read(&path).unwrap_or_else(|e| panic!("{e}"));
        let state = serde_json::to_vec(&TrainState::default()).unwrap_or_else(|e| panic!("{e}"));
        (model, weights, state)
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, body)) = data.split_first() else {
        return;
    };
    let (model, valid_weights, valid_state) = linear();
    let Ok(dir) = tempfile::tempdir() else {
        return;
    };
    let by_step = which & 1 == 1;
    let checkpoint = dir.path().join(if by_step { "step-1" } else { "epoch-1" });
    if std::fs::create_dir_all(&checkpoint).is_err() {
        return;
    }
    let (state, weights) = if which & 2 == 0 {
        (mutate::mutate(valid_state, body), valid_weights.clone())
    } else {
        (valid_state.clone(), mutate::mutate(valid_weights, body))
    };
    let _ = std::fs::write(checkpoint.join("state.json"), state);
    let _ = std::fs::write(checkpoint.join("model.bpk"), weights);
    let checkpoints = if by_step {
        Checkpoints::by_step(dir.path())
    } else {
        Checkpoints::new(dir.path())
    };
    if let Ok(Some(n)) = checkpoints.latest() {
        let _ = checkpoints.state_numbered::<TrainState>(n);
        let _ = checkpoints.state_numbered::<StepState>(n);
        let _ = checkpoints.load_model(n, model.clone());
    }
    let _ = load_model(&checkpoint.join("model.bpk"), model.clone());
});
