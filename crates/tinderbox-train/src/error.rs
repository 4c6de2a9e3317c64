//! The training crate's error type.

use std::path::PathBuf;

/// Everything that can stop a training run, each with what a user needs to act on it.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// A checkpoint could not be written (disk full, no permission); the checkpoints before it
    /// are intact and `--resume` continues from the latest of them.
    #[error("could not save checkpoint {target}; the earlier checkpoints are intact: {source}")]
    CheckpointWrite {
        /// The checkpoint directory that was being written.
        target: PathBuf,
        /// Why it failed.
        source: Box<TrainError>,
    },
    /// A file-system operation in the run directory failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What we were doing.
        action: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Writing a file (atomically) failed.
    #[error(transparent)]
    Write(#[from] tinderbox_io::WriteError),

    /// A JSON file could not be written or parsed.
    #[error("{path}: {reason}")]
    Json {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        reason: String,
    },

    /// burn could not save or load a record (model or optimizer weights).
    #[error("{action} {path}: {reason}")]
    Record {
        /// What we were doing.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// burn's message.
        reason: String,
    },

    /// `--resume` pointed at a directory that holds no run.
    #[error("{path} is not a tinderbox run directory: {reason}")]
    NotARun {
        /// The directory.
        path: PathBuf,
        /// What is missing.
        reason: String,
    },

    /// A setting is out of range.
    #[error("invalid setting {name} = {value}: {reason}")]
    InvalidConfig {
        /// The setting.
        name: &'static str,
        /// Its value.
        value: String,
        /// The allowed range.
        reason: String,
    },

    /// The loss became NaN or infinite.
    #[error(
        "the training loss became {value} at epoch {epoch}, step {step} (batch {batch} of the epoch); \
         lower the learning rate, enable gradient clipping, or check the inputs. \
         Checkpoints of finished epochs are kept"
    )]
    NonFiniteLoss {
        /// The loss value (NaN or ±inf).
        value: f32,
        /// The 1-based epoch.
        epoch: usize,
        /// The 1-based global batch count.
        step: usize,
        /// The 1-based batch within the epoch.
        batch: usize,
    },

    /// The loss of a step-based run became NaN or infinite.
    #[error(
        "the training loss became {value} at step {step} (batch {batch}); lower the learning \
         rate, enable gradient clipping, or check the inputs. Earlier checkpoints are kept"
    )]
    NonFiniteStepLoss {
        /// The loss value (NaN or ±inf).
        value: f32,
        /// The 1-based optimizer step.
        step: usize,
        /// The 0-based batch number in the run's stream.
        batch: usize,
    },

    /// A step-based run's data source failed to produce a batch.
    #[error("building batch {batch} of the training stream: {reason}")]
    StepData {
        /// The 0-based batch number in the run's stream.
        batch: usize,
        /// The source's message.
        reason: String,
    },

    /// Scoring the evaluation set of a step-based run failed.
    #[error("evaluating after step {step}: {reason}")]
    Evaluation {
        /// The optimizer step.
        step: usize,
        /// The scorer's message.
        reason: String,
    },

    /// The data loader failed to produce a batch.
    #[error("loading batch {batch} of epoch {epoch}: {reason}")]
    Data {
        /// The epoch.
        epoch: usize,
        /// The batch within the epoch.
        batch: usize,
        /// The loader's message.
        reason: String,
    },

    /// A dataset had nothing to train or evaluate on.
    #[error("the {split} set is empty")]
    EmptyDataset {
        /// Which split.
        split: &'static str,
    },

    /// Drawing the metric plot failed.
    #[error("plotting {path}: {reason}")]
    Plot {
        /// The image file.
        path: PathBuf,
        /// What failed.
        reason: String,
    },
}

impl TrainError {
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        TrainError::Io {
            action,
            path: path.into(),
            source,
        }
    }
}

/// Result alias for this crate.
pub type Result<T, E = TrainError> = std::result::Result<T, E>;
