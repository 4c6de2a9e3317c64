//! Writing a run's batches as int64 safetensors, for the comparison scripts that train another
//! implementation on exactly the same data (`benches/compare/*_torch.py`).

use std::collections::HashMap;
use std::path::Path;

use burn::prelude::*;
use safetensors::{Dtype, View};
use tinderbox_data::mlm::{HELDOUT_SEQUENCES, TRAIN_SEQUENCES};
use tinderbox_train::{Checkpoints, RunDir, StepState, TrainConfig};

use crate::Error;
use crate::recipes::packed_corpus::{PreparedData, SPLIT_FILE, TOKENIZER_FILE, reopen};

/// The run in `dir` and the data it prepared, for an export: only what the run prepared is
/// replayed, a corpus is never tokenized and packed into it here. Refuses a run that
/// accumulates gradients (its steps are not one batch each).
pub fn prepared_run(dir: &Path, train: &TrainConfig) -> Result<(RunDir, PreparedData), Error> {
    if train.grad_accumulation > 1 {
        return Err(Error::Invalid(
            "export needs a run without gradient accumulation (one batch per step)".into(),
        ));
    }
    let run = RunDir::open(dir)?;
    let data = reopen(&run)?.ok_or_else(|| {
        Error::Invalid(format!(
            "{} has no prepared data ({TOKENIZER_FILE}, {TRAIN_SEQUENCES}, {HELDOUT_SEQUENCES}, \
             {SPLIT_FILE}): export needs a pre-training run that has prepared its data",
            dir.display()
        ))
    })?;
    Ok((run, data))
}

/// The steps the run's learning-rate schedule spans (its time budget's estimate, saved with
/// its latest checkpoint), and at least `steps`.
pub fn planned_steps(run: &RunDir, steps: usize) -> Result<usize, Error> {
    let checkpoints = Checkpoints::by_step(run.checkpoints_dir());
    let planned = match checkpoints.latest()? {
        Some(n) => checkpoints.state_numbered::<StepState>(n)?.planned_steps,
        None => steps,
    };
    Ok(planned.max(steps))
}

/// An int64 tensor `[rows, columns]` for safetensors.
pub struct Int64 {
    /// The values, row after row.
    pub data: Vec<i64>,
    /// `[rows, columns]`.
    pub shape: [usize; 2],
}

impl View for Int64 {
    fn dtype(&self) -> Dtype {
        Dtype::I64
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn data(&self) -> std::borrow::Cow<'_, [u8]> {
        self.data.iter().flat_map(|v| v.to_le_bytes()).collect()
    }
    fn data_len(&self) -> usize {
        self.data.len() * 8
    }
}

/// A tensor's values as `T`, or an error naming what was read.
pub fn read<T: burn::tensor::Element>(data: TensorData) -> Result<Vec<T>, Error> {
    data.convert::<T>()
        .try_to_vec::<T>()
        .map_err(|e| Error::Invalid(format!("reading a batch: {e:?}")))
}

/// Writes `tensors` with `metadata` to `file`, atomically.
pub fn write(
    file: &Path,
    tensors: Vec<(String, Int64)>,
    metadata: HashMap<String, String>,
) -> Result<(), Error> {
    let bytes = safetensors::serialize(tensors, Some(metadata))
        .map_err(|e| Error::Invalid(format!("writing {}: {e}", file.display())))?;
    tinderbox_train::write_atomic(file, &bytes)?;
    Ok(())
}
