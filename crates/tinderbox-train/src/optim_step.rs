//! One optimisation step, as both loops take it: per batch, a seeded forward pass, the batch's
//! figures read back, a non-finite check, the weight penalty and the backward pass into the
//! pending gradients; per step, their mean, global-norm clipping and the optimizer's update at
//! the schedule's rate. [`Trainer`](crate::Trainer) (by epoch) and
//! [`StepTrainer`](crate::StepTrainer) (by budget) differ only in where batches come from and
//! when they evaluate.

use burn::optim::{GradientsAccumulator, GradientsParams, ModuleOptimizer};
use burn::prelude::*;

use crate::config::TrainConfig;
use crate::task::TrainTask;
use crate::trainer::{mix_seed, read_batch};

/// A batch's figures, for the running meter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct BatchFigures {
    /// The batch's mean loss.
    pub loss: f64,
    /// Right predictions.
    pub correct: u64,
    /// Scored rows.
    pub count: u64,
}

/// The loss of a batch was NaN or infinite; the loop names where.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct NonFinite(pub f32);

/// The gradients of the batches since the last update, and how they become one.
pub(crate) struct OptimStep<'a, T: TrainTask> {
    config: &'a TrainConfig,
    device: Device,
    accumulator: GradientsAccumulator<T>,
    /// The only batch's gradients, when nothing is accumulated (no copy, no scaling).
    single: Option<GradientsParams>,
    pending: usize,
}

impl<'a, T: TrainTask> OptimStep<'a, T> {
    /// Steps by `config` on the autodiff `device`.
    pub(crate) fn new(config: &'a TrainConfig, device: &Device) -> Self {
        Self {
            config,
            device: device.clone(),
            accumulator: GradientsAccumulator::new(),
            single: None,
            pending: 0,
        }
    }

    /// Batches whose gradients wait for [`apply`](Self::apply).
    pub(crate) fn pending(&self) -> usize {
        self.pending
    }

    /// Runs batch number `batch_number` of the run (which seeds dropout, so that a resumed run
    /// draws the same masks) forward and backward, adding its gradients to the pending step.
    pub(crate) fn backward(
        &mut self,
        model: &T,
        batch: T::Batch,
        batch_number: usize,
    ) -> Result<BatchFigures, NonFinite> {
        let cfg = self.config;
        self.device
            .seed(mix_seed(cfg.seed, 1 << 32 | batch_number as u64));
        let output = model.forward_classification(batch);
        let (loss, correct, count) = read_batch(&output);
        if !loss.is_finite() {
            return Err(NonFinite(loss as f32));
        }
        let mut objective = output.loss;
        if let Some(penalty) = tinderbox_ops::weight_penalty(model, cfg.l1, cfg.l2) {
            objective = objective + penalty;
        }
        let grads = GradientsParams::from_grads(objective.backward(), model);
        if cfg.grad_accumulation == 1 {
            self.single = Some(grads);
        } else {
            self.accumulator.accumulate(model, grads);
        }
        self.pending += 1;
        Ok(BatchFigures {
            loss,
            correct,
            count,
        })
    }

    /// Updates `model` at learning rate `lr` (per the config's learning-rate groups in epoch
    /// `epoch`, from 1) with the mean of the pending gradients, clipped to the configured
    /// global norm.
    pub(crate) fn apply(
        &mut self,
        model: T,
        optim: &mut ModuleOptimizer,
        lr: f64,
        epoch: usize,
    ) -> T {
        let pending = std::mem::take(&mut self.pending);
        let grads = match self.single.take() {
            Some(grads) => grads,
            None => {
                let sum = self.accumulator.grads();
                if pending > 1 {
                    let mean = Tensor::from_floats([1.0 / pending as f32], &self.device);
                    tinderbox_ops::scale_grads(&model, sum, mean)
                } else {
                    sum
                }
            }
        };
        let grads = match self.config.clip_grad_norm {
            Some(max) => tinderbox_ops::clip_grad_norm(&model, grads, max).0,
            None => grads,
        };
        optim.step(self.config.module_lr(lr, epoch), model, grads)
    }
}
