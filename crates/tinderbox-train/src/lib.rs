//! The training loop of tinderbox: `fit` and `evaluate` for any model that implements
//! [`TrainTask`], with what users of Keras' `fit` and Hugging Face's `Trainer` expect.
//!
//! - optimizers Adam, AdamW and SGD with momentum ([`OptimizerConfig`]; AdamW as one fused pass
//!   per parameter, [`FusedAdamW`]), L1/L2 penalties;
//! - learning-rate schedules: constant, step, exponential, warm-up then linear or cosine
//!   ([`LrSchedule`]);
//! - global-norm gradient clipping, gradient accumulation, early stopping with patience;
//! - a run directory with `metrics.csv`, a PNG of the curves after every epoch (feature `plot`),
//!   and atomic checkpoints (model, optimizer, counters, history) that `--resume` continues
//!   exactly;
//! - a progress bar with rate and ETA on a terminal, a plain progress line every 30 s off one;
//!   a clear error, naming the step, when the loss turns NaN;
//! - [`StepTrainer`] for pre-training: a stream of batches, step and time budgets, evaluation
//!   and checkpoints every N steps.
//!
//! ```
//! use burn::prelude::*;
//! use tinderbox_train::{LrSchedule, OptimizerConfig, OptimizerKind, TrainConfig};
//!
//! let config = TrainConfig::new(5e-5)
//!     .with_epochs(2)
//!     .with_optimizer(OptimizerConfig::new(OptimizerKind::AdamW))
//!     .with_schedule(LrSchedule::WarmupLinear { warmup_ratio: 0.1, warmup_steps: None })
//!     .with_clip_grad_norm(Some(1.0));
//! assert!(config.validate().is_ok());
//! assert!(config.clone().with_batch_size(0).validate().is_err());
//! ```

#![warn(missing_docs)]
// Library code reports bad input as errors; tests may unwrap.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod adamw;
mod checkpoint;
mod config;
mod confusion;
mod early_stopping;
mod error;
mod metrics;
mod optim_step;
mod optimizer;
mod order;
#[cfg(feature = "plot")]
mod plot;
#[cfg(feature = "plot")]
mod plot_spread;
mod progress;
mod run_dir;
mod schedule;
mod step_metrics;
mod step_trainer;
mod task;
mod trainer;

pub use adamw::FusedAdamW;
pub use checkpoint::{Checkpoints, TrainState, load_model, save_model};
pub use config::{LrGroup, TrainConfig};
pub use confusion::ConfusionMatrix;
pub use early_stopping::{BestEpoch, EarlyStopping, Monitor};
pub use error::{Result, TrainError};
pub use metrics::{CSV_HEADER, EpochMetrics, Meter, to_csv};
pub use optimizer::{BERT_NO_DECAY, OptimizerConfig, OptimizerKind};
pub use order::{EpochOrder, LengthBuckets};
#[cfg(feature = "plot")]
pub use plot::{plot_confusion, plot_curves, plot_step_curves};
#[cfg(feature = "plot")]
pub use plot_spread::{SpreadCurve, SpreadPanel, SpreadPoint, plot_spread_panels};
pub use run_dir::{CONFIG_FILE, RunDir, read_json, write_atomic};
pub use schedule::{LrSchedule, ScheduleSpan};
pub use step_metrics::{STEP_CSV_HEADER, StepMetrics, to_step_csv};
pub use step_trainer::{Score, StepBatch, StepBudget, StepOutcome, StepState, StepTrainer};
pub use task::TrainTask;
pub use trainer::{Evaluation, FitOutcome, Trainer, evaluate, mix_seed, read_batch};
