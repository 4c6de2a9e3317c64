//! Checkpoints: model and optimizer weights plus the loop's state, one directory per epoch (or
//! per step, for step-based runs), each built aside and renamed into place so that a killed run
//! leaves only whole checkpoints.

use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::optim::ModuleOptimizer;
use burn::store::ModuleRecord;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::early_stopping::BestEpoch;
use crate::error::{Result, TrainError};
use crate::metrics::EpochMetrics;
use crate::run_dir::{read_json, write_atomic};

/// The prefix of a checkpoint directory being written (renamed whole when complete).
pub(crate) const STAGING_PREFIX: &str = ".staging-";

const MODEL: &str = "model.bpk";
const OPTIMIZER: &str = "optimizer.bpk";
const STATE: &str = "state.json";
const EPOCH_PREFIX: &str = "epoch-";
const STEP_PREFIX: &str = "step-";

/// The training loop's state after an epoch: with the weights, all a run needs to continue.
///
/// Shuffling and dropout are seeded from `seed` with the epoch and step numbers, so these
/// counters are the whole random state.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TrainState {
    /// Finished epochs.
    pub epoch: usize,
    /// Optimizer steps taken.
    pub step: usize,
    /// Batches seen (differs from `step` with gradient accumulation).
    pub batches: usize,
    /// One entry per finished epoch.
    pub history: Vec<EpochMetrics>,
    /// The best epoch by the monitored metric.
    pub best: BestEpoch,
    /// Whether early stopping ended the run.
    pub stopped_early: bool,
    /// The run's seed.
    pub seed: u64,
}

/// Where a run starts.
pub(crate) struct Start<M, S> {
    /// The checkpoint resumed from, if any.
    pub resumed: Option<usize>,
    /// Its loop state, or a fresh one.
    pub state: S,
    /// The model, with the checkpoint's weights when resumed.
    pub model: M,
    /// The optimizer, with the checkpoint's state when resumed.
    pub optim: ModuleOptimizer,
}

/// The checkpoints of a run, numbered by epoch (`epoch-3/`) or by optimizer step (`step-500/`).
#[derive(Debug, Clone)]
pub struct Checkpoints {
    dir: PathBuf,
    prefix: &'static str,
}

impl Checkpoints {
    /// Checkpoints kept under `dir`, one per epoch.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            prefix: EPOCH_PREFIX,
        }
    }

    /// Checkpoints kept under `dir`, numbered by optimizer step.
    pub fn by_step(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            prefix: STEP_PREFIX,
        }
    }

    fn numbered_dir(&self, number: usize) -> PathBuf {
        self.dir.join(format!("{}{number}", self.prefix))
    }

    /// The model weights of checkpoint `number`.
    pub fn model_file(&self, number: usize) -> PathBuf {
        self.numbered_dir(number).join(MODEL)
    }

    /// Saves the checkpoint of `state.epoch`.
    pub fn save<M: Module>(
        &self,
        model: &M,
        optim: &ModuleOptimizer,
        state: &TrainState,
    ) -> Result<()> {
        self.save_numbered(model, optim, state.epoch, state)
    }

    /// Saves checkpoint `number` with any serialisable loop state.
    pub fn save_numbered<M: Module, S: Serialize>(
        &self,
        model: &M,
        optim: &ModuleOptimizer,
        number: usize,
        state: &S,
    ) -> Result<()> {
        let target = self.numbered_dir(number);
        self.write_staged(model, optim, state, &target)
            .map_err(|source| TrainError::CheckpointWrite {
                target,
                source: Box::new(source),
            })
    }

    /// Writes the checkpoint's files into a staging directory and renames it to `target`, so
    /// that a failure at any point leaves the checkpoints before it as they were.
    fn write_staged<M: Module, S: Serialize>(
        &self,
        model: &M,
        optim: &ModuleOptimizer,
        state: &S,
        target: &Path,
    ) -> Result<()> {
        std::fs::create_dir_all(&self.dir)
            .map_err(|e| TrainError::io("creating checkpoint directory", &self.dir, e))?;
        let staging = tempfile::Builder::new()
            .prefix(STAGING_PREFIX)
            .tempdir_in(&self.dir)
            .map_err(|e| TrainError::io("creating a staging directory in", &self.dir, e))?;
        let record_err = |path: &Path, e: burn::store::RecordError| TrainError::Record {
            action: "saving",
            path: path.to_path_buf(),
            reason: e.to_string(),
        };
        let model_path = staging.path().join(MODEL);
        let bytes = model
            .clone()
            .into_record()
            .into_bytes()
            .map_err(|e| record_err(&model_path, e))?;
        write_atomic(&model_path, &bytes)?;
        let optim_path = staging.path().join(OPTIMIZER);
        let bytes = optim.into_bytes().map_err(|e| record_err(&optim_path, e))?;
        write_atomic(&optim_path, &bytes)?;
        let state_json = serde_json::to_vec_pretty(state).map_err(|e| TrainError::Json {
            path: staging.path().join(STATE),
            reason: e.to_string(),
        })?;
        write_atomic(&staging.path().join(STATE), &state_json)?;

        // An older checkpoint of the same number is moved aside whole before the new one takes
        // its name, and deleted after: a kill at any point leaves no half checkpoint under a
        // checkpoint's name (what is aside is a staging directory, cleared on resume).
        let aside = if target.exists() {
            Some(move_aside(target)?)
        } else {
            None
        };
        let staged = staging.keep();
        std::fs::rename(&staged, target).map_err(|e| {
            let _ = std::fs::remove_dir_all(&staged);
            TrainError::io("moving checkpoint into place", target, e)
        })?;
        if let Some(aside) = aside {
            std::fs::remove_dir_all(&aside)
                .map_err(|e| TrainError::io("removing the replaced checkpoint", &aside, e))?;
        }
        Ok(())
    }

    /// The numbers (finished epochs or steps) that have a checkpoint, in increasing order.
    pub fn epochs(&self) -> Result<Vec<usize>> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(TrainError::io("listing", &self.dir, e)),
        };
        let mut epochs: Vec<usize> = entries
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                e.file_name()
                    .to_str()?
                    .strip_prefix(self.prefix)?
                    .parse()
                    .ok()
            })
            .collect();
        epochs.sort_unstable();
        Ok(epochs)
    }

    /// The most recent checkpointed epoch.
    pub fn latest(&self) -> Result<Option<usize>> {
        Ok(self.epochs()?.last().copied())
    }

    /// Reads the loop state of `epoch`.
    pub fn state(&self, epoch: usize) -> Result<TrainState> {
        self.state_numbered(epoch)
    }

    /// Reads the loop state of checkpoint `number`, of any type saved by
    /// [`save_numbered`](Self::save_numbered).
    pub fn state_numbered<S: DeserializeOwned>(&self, number: usize) -> Result<S> {
        read_json(&self.numbered_dir(number).join(STATE))
    }

    /// Loads the weights of `epoch` into `model`.
    pub fn load_model<M: Module>(&self, epoch: usize, model: M) -> Result<M> {
        load_model(&self.model_file(epoch), model)
    }

    /// Loads the optimizer state of `epoch` into `optim`.
    pub fn load_optimizer(&self, epoch: usize, optim: ModuleOptimizer) -> Result<ModuleOptimizer> {
        let path = self.numbered_dir(epoch).join(OPTIMIZER);
        let record = burn::optim::OptimizerRecord::load(&path).map_err(|e| TrainError::Record {
            action: "loading",
            path: path.clone(),
            reason: e.to_string(),
        })?;
        Ok(optim.load_record(record))
    }

    /// Where a run starts. With `resume`, the latest checkpoint: its loop state, its weights
    /// loaded into `model` and its optimizer state into `optim`. Without a checkpoint to resume,
    /// `fresh()` is the state; without `resume`, old checkpoints are removed first.
    pub(crate) fn start<M: Module, S: DeserializeOwned>(
        &self,
        resume: bool,
        model: M,
        optim: ModuleOptimizer,
        fresh: impl FnOnce() -> S,
    ) -> Result<Start<M, S>> {
        let latest = if resume { self.latest()? } else { None };
        if let Some(number) = latest {
            return Ok(Start {
                resumed: Some(number),
                state: self.state_numbered(number)?,
                model: self.load_model(number, model)?,
                optim: self.load_optimizer(number, optim)?,
            });
        }
        if !resume && self.dir.exists() {
            std::fs::remove_dir_all(&self.dir)
                .map_err(|e| TrainError::io("clearing old checkpoints", &self.dir, e))?;
        }
        Ok(Start {
            resumed: None,
            state: fresh(),
            model,
            optim,
        })
    }

    /// Deletes all but the `keep` most recent checkpoints and `protect` (the best epoch).
    pub fn prune(&self, keep: usize, protect: Option<usize>) -> Result<()> {
        let epochs = self.epochs()?;
        let cut = epochs.len().saturating_sub(keep);
        for &epoch in &epochs[..cut] {
            if Some(epoch) != protect {
                // Renamed first: a run killed while the files go is left with a staging
                // directory (cleared on resume), never a checkpoint missing some of its files.
                let aside = move_aside(&self.numbered_dir(epoch))?;
                std::fs::remove_dir_all(&aside)
                    .map_err(|e| TrainError::io("removing old checkpoint", &aside, e))?;
            }
        }
        Ok(())
    }
}

/// Renames the checkpoint directory `dir` to a staging name beside it (one rename: atomic), so
/// that it stops being listed as a checkpoint before any of its files is removed.
fn move_aside(dir: &Path) -> Result<PathBuf> {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let aside = dir.with_file_name(format!("{STAGING_PREFIX}removed-{name}"));
    if aside.exists() {
        std::fs::remove_dir_all(&aside)
            .map_err(|e| TrainError::io("removing a stale staging directory", &aside, e))?;
    }
    std::fs::rename(dir, &aside).map_err(|e| TrainError::io("moving aside", dir, e))?;
    Ok(aside)
}

/// Loads burnpack weights from `path` into `model`, with an error that names the file.
pub fn load_model<M: Module>(path: &Path, model: M) -> Result<M> {
    let record = ModuleRecord::load(path).map_err(|e| TrainError::Record {
        action: "loading",
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    model
        .try_load_record(record)
        .map_err(|e| TrainError::Record {
            action: "applying",
            path: path.to_path_buf(),
            reason: e.to_string(),
        })
}

/// Saves `model`'s weights to `path` as burnpack, atomically.
pub fn save_model<M: Module>(path: &Path, model: &M) -> Result<()> {
    let bytes = model
        .clone()
        .into_record()
        .into_bytes()
        .map_err(|e| TrainError::Record {
            action: "saving",
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
    write_atomic(path, &bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake_checkpoint(dir: &Path, name: &str) {
        let path = dir.join(name);
        std::fs::create_dir_all(&path).unwrap();
        for file in [MODEL, OPTIMIZER, STATE] {
            std::fs::write(path.join(file), b"x").unwrap();
        }
    }

    #[test]
    fn pruning_moves_each_checkpoint_out_of_the_listing_before_deleting_it() {
        let root = tempfile::tempdir().unwrap();
        let checkpoints = Checkpoints::new(root.path());
        for epoch in 1..=4 {
            fake_checkpoint(root.path(), &format!("epoch-{epoch}"));
        }
        // What a run killed between the rename and the deletion would have left.
        fake_checkpoint(root.path(), &format!("{STAGING_PREFIX}removed-epoch-1"));
        checkpoints.prune(2, Some(1)).unwrap();
        assert_eq!(checkpoints.epochs().unwrap(), vec![1, 3, 4]);
        let aside = move_aside(&root.path().join("epoch-1")).unwrap();
        // The stale directory of the same name was replaced; the listing no longer has epoch 1.
        assert!(aside.join(MODEL).is_file());
        assert_eq!(checkpoints.epochs().unwrap(), vec![3, 4]);
        let left: Vec<String> = std::fs::read_dir(root.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(STAGING_PREFIX))
            .collect();
        assert_eq!(left, vec![format!("{STAGING_PREFIX}removed-epoch-1")]);
    }
}
