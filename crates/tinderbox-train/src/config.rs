//! Everything that decides how a model is trained, saved with the run.

use burn::lr_scheduler::LrSchedulerConfig;
use burn::lr_scheduler::module_lr_scheduler::{ModuleLearningRate, ModuleLrSchedulerConfig};
use burn::module::ParamGroup;
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
    /// Learning rates of parts of the model, as multiples of the schedule's (layer-wise decay,
    /// frozen embeddings); the last group whose fragment a parameter's path contains wins.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lr_groups: Vec<LrGroup>,
}

/// A learning rate for part of a model: `multiplier` times the schedule's rate for every
/// parameter whose path contains `fragment`, and 0 for the first `frozen_epochs` epochs.
/// Layer-wise learning-rate decay for BERT is one group per layer (Sun et al. 2019, "How to
/// Fine-Tune BERT for Text Classification?", §5.3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LrGroup {
    /// A piece of the parameter path, such as `encoder.layer.3.` or `embeddings.`.
    pub fragment: String,
    /// The factor on the schedule's learning rate (0 freezes the group).
    pub multiplier: f64,
    /// Epochs at the start of the run during which the group does not move.
    #[serde(default)]
    pub frozen_epochs: usize,
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
            lr_groups: Vec::new(),
        }
    }

    /// The learning rate of every parameter in epoch `epoch` (from 1) when the schedule says
    /// `lr`: `lr` itself, or per [`LrGroup`].
    pub fn module_lr(&self, lr: f64, epoch: usize) -> ModuleLearningRate {
        let mut groups = ModuleLrSchedulerConfig::new(LrSchedulerConfig::Constant(lr));
        for group in &self.lr_groups {
            let multiplier = if epoch <= group.frozen_epochs {
                0.0
            } else {
                group.multiplier
            };
            groups = groups.with_group(
                ParamGroup::from_any_predicates(vec![group.fragment.clone()]),
                LrSchedulerConfig::Constant(lr * multiplier),
            );
        }
        // Constant rates always build.
        match groups.init() {
            Ok(mut scheduler) if !self.lr_groups.is_empty() => scheduler.step(),
            _ => lr.into(),
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
        if let Some(g) = self
            .lr_groups
            .iter()
            .find(|g| !(g.multiplier >= 0.0 && g.multiplier.is_finite()))
        {
            return bad(
                "lr_groups",
                format!("{} for {:?}", g.multiplier, g.fragment),
                "a multiplier must be >= 0",
            );
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
    fn lr_groups_scale_and_freeze_their_parameters() {
        use burn::module::ParamId;
        let mut c = TrainConfig::new(1e-3);
        c.lr_groups = vec![
            LrGroup {
                fragment: "layer.1.".into(),
                multiplier: 0.5,
                frozen_epochs: 0,
            },
            LrGroup {
                fragment: "embeddings.".into(),
                multiplier: 0.25,
                frozen_epochs: 1,
            },
        ];
        let id = ParamId::new();
        let at = |epoch, path| c.module_lr(1e-3, epoch).lr_from_param(id, Some(path));
        assert_eq!(at(1, "encoder.layer.1.dense.weight"), 5e-4);
        assert_eq!(at(1, "encoder.layer.10.dense.weight"), 1e-3);
        assert_eq!(at(1, "encoder.embeddings.word.weight"), 0.0);
        assert_eq!(at(2, "encoder.embeddings.word.weight"), 2.5e-4);
        assert_eq!(at(2, "head.dense.weight"), 1e-3);
        assert_eq!(
            TrainConfig::new(1e-3)
                .module_lr(1e-3, 1)
                .lr_from_param(id, Some("x")),
            1e-3
        );
        c.lr_groups[0].multiplier = -1.0;
        let err = c.validate().unwrap_err().to_string();
        assert!(
            err.contains("lr_groups") && err.contains("layer.1."),
            "{err}"
        );
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
