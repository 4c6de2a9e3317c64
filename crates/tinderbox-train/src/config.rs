//! Everything that decides how a model is trained, saved with the run.

use serde::{Deserialize, Serialize};

use crate::early_stopping::EarlyStopping;
use crate::error::{Result, TrainError};
use crate::optimizer::{OptimizerConfig, OptimizerKind};
use crate::schedule::LrSchedule;

/// The settings of a training run: what a user of Keras' `fit` or Hugging Face's
/// `TrainingArguments` would set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Passes over the training set.
    pub epochs: usize,
    /// Examples per batch (per forward pass; see `grad_accumulation`).
    pub batch_size: usize,
    /// The base learning rate.
    pub lr: f64,
    /// The optimizer and its hyper-parameters.
    pub optimizer: OptimizerConfig,
    /// How the learning rate changes over the run.
    pub schedule: LrSchedule,
    /// Clip the global gradient norm to this value (`None`: no clipping).
    pub clip_grad_norm: Option<f32>,
    /// Batches whose gradients are averaged before each optimizer step.
    pub grad_accumulation: usize,
    /// L1 penalty factor on weight matrices and kernels (Keras' `l1`).
    pub l1: f64,
    /// L2 penalty factor on weight matrices and kernels (Keras' `l2`).
    pub l2: f64,
    /// Stop when a validation metric stops improving.
    pub early_stopping: Option<EarlyStopping>,
    /// Load the best validation epoch's weights at the end (needs a validation set).
    pub restore_best: bool,
    /// Seeds the initial weights, the shuffling of every epoch and dropout.
    pub seed: u64,
    /// Keep the checkpoints of this many most recent epochs (the best one is kept as well).
    pub keep_checkpoints: usize,
}

impl TrainConfig {
    /// Adam at `lr`, constant rate, no clipping or penalties, 1 epoch of batch 32, seed 42.
    pub fn new(lr: f64) -> Self {
        Self {
            epochs: 1,
            batch_size: 32,
            lr,
            optimizer: OptimizerConfig::new(OptimizerKind::Adam),
            schedule: LrSchedule::Constant,
            clip_grad_norm: None,
            grad_accumulation: 1,
            l1: 0.0,
            l2: 0.0,
            early_stopping: None,
            restore_best: false,
            seed: 42,
            keep_checkpoints: 2,
        }
    }

    /// Hugging Face's recipe for transformers (BERT's, and `Trainer`'s defaults): AdamW at peak
    /// rate `lr` with weight decay 0.01 (none on biases and LayerNorm, [`BERT_NO_DECAY`]), a
    /// linear warm-up over `warmup_ratio` of the steps then linear decay to 0, clipping at global
    /// norm 1.0, batch 32.
    ///
    /// [`BERT_NO_DECAY`]: crate::BERT_NO_DECAY
    pub fn transformer(lr: f64, warmup_ratio: f64) -> Self {
        Self::new(lr)
            .with_batch_size(32)
            .with_optimizer(
                OptimizerConfig::new(OptimizerKind::AdamW)
                    .with_weight_decay(0.01)
                    .with_no_decay(&crate::BERT_NO_DECAY),
            )
            .with_schedule(LrSchedule::WarmupLinear {
                warmup_ratio,
                warmup_steps: None,
            })
            .with_clip_grad_norm(Some(1.0))
    }

    /// Sets the number of epochs.
    pub fn with_epochs(mut self, epochs: usize) -> Self {
        self.epochs = epochs;
        self
    }

    /// Sets the batch size.
    pub fn with_batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size;
        self
    }

    /// Sets the optimizer.
    pub fn with_optimizer(mut self, optimizer: OptimizerConfig) -> Self {
        self.optimizer = optimizer;
        self
    }

    /// Sets the learning-rate schedule.
    pub fn with_schedule(mut self, schedule: LrSchedule) -> Self {
        self.schedule = schedule;
        self
    }

    /// Clips the global gradient norm.
    pub fn with_clip_grad_norm(mut self, max_norm: Option<f32>) -> Self {
        self.clip_grad_norm = max_norm;
        self
    }

    /// Averages the gradients of `steps` batches per optimizer step.
    pub fn with_grad_accumulation(mut self, steps: usize) -> Self {
        self.grad_accumulation = steps;
        self
    }

    /// Sets the L1 and L2 penalty factors.
    pub fn with_penalties(mut self, l1: f64, l2: f64) -> Self {
        self.l1 = l1;
        self.l2 = l2;
        self
    }

    /// Enables early stopping.
    pub fn with_early_stopping(mut self, early_stopping: Option<EarlyStopping>) -> Self {
        self.early_stopping = early_stopping;
        self
    }

    /// Restores the best validation epoch's weights at the end.
    pub fn with_restore_best(mut self, restore_best: bool) -> Self {
        self.restore_best = restore_best;
        self
    }

    /// Sets the seed.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Checks every setting, naming the first one out of range.
    pub fn validate(&self) -> Result<()> {
        let bad = |name, value: String, reason: &str| {
            Err(TrainError::InvalidConfig {
                name,
                value,
                reason: reason.into(),
            })
        };
        if self.epochs == 0 {
            return bad("epochs", "0".into(), "must be >= 1");
        }
        if self.batch_size == 0 {
            return bad("batch_size", "0".into(), "must be >= 1");
        }
        if !(self.lr > 0.0 && self.lr.is_finite()) {
            return bad("lr", self.lr.to_string(), "must be a positive number");
        }
        if self.grad_accumulation == 0 {
            return bad("grad_accumulation", "0".into(), "must be >= 1");
        }
        if let Some(max) = self.clip_grad_norm
            && !(max > 0.0 && max.is_finite())
        {
            return bad(
                "clip_grad_norm",
                max.to_string(),
                "must be a positive number",
            );
        }
        for (name, v) in [("l1", self.l1), ("l2", self.l2)] {
            if !(v >= 0.0 && v.is_finite()) {
                return bad(name, v.to_string(), "must be >= 0");
            }
        }
        if self.keep_checkpoints == 0 {
            return bad(
                "keep_checkpoints",
                "0".into(),
                "must be >= 1 so that a run can resume",
            );
        }
        if let Some(es) = &self.early_stopping {
            es.validate()?;
        }
        self.optimizer.validate()?;
        self.schedule.validate()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_names_the_bad_setting() {
        assert!(TrainConfig::new(1e-3).validate().is_ok());
        let err = TrainConfig::new(1e-3)
            .with_batch_size(0)
            .validate()
            .unwrap_err();
        assert!(err.to_string().contains("batch_size = 0"), "{err}");
        let err = TrainConfig::new(-1.0).validate().unwrap_err();
        assert!(err.to_string().contains("lr = -1"), "{err}");
        let err = TrainConfig::new(f64::NAN).validate().unwrap_err();
        assert!(err.to_string().contains("lr = NaN"), "{err}");
        let err = TrainConfig::new(1e-3)
            .with_clip_grad_norm(Some(0.0))
            .validate()
            .unwrap_err();
        assert!(err.to_string().contains("clip_grad_norm"), "{err}");
    }

    #[test]
    fn json_round_trip() {
        let c = TrainConfig::new(5e-4)
            .with_epochs(3)
            .with_schedule(LrSchedule::WarmupLinear {
                warmup_ratio: 0.1,
                warmup_steps: None,
            })
            .with_early_stopping(Some(EarlyStopping::default()));
        let json = serde_json::to_string_pretty(&c).unwrap();
        assert_eq!(serde_json::from_str::<TrainConfig>(&json).unwrap(), c);
    }
}
