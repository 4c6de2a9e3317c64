//! Learning-rate schedules as pure functions of the optimizer step, so that a resumed run gets
//! exactly the rate the uninterrupted run would have had, with nothing but the step to save.
//!
//! Warm-up follows Hugging Face's `get_linear_schedule_with_warmup`: the rate at step `s`
//! (counting from 0) of `W` warm-up steps is `lr * s / W`, and linear decay reaches 0 at the last
//! step.

use serde::{Deserialize, Serialize};

use crate::error::{Result, TrainError};

/// How the learning rate changes over training.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LrSchedule {
    /// The base rate throughout.
    Constant,
    /// Multiply by `gamma` every `every_epochs` epochs (PyTorch's `StepLR`, per epoch).
    Step {
        /// Epochs between drops.
        every_epochs: usize,
        /// The factor per drop.
        gamma: f64,
    },
    /// Multiply by `gamma` per epoch, smoothly (`lr * gamma^(step / steps_per_epoch)`, Keras'
    /// `ExponentialDecay` with `staircase=False`).
    Exponential {
        /// The factor per epoch.
        gamma: f64,
    },
    /// Linear warm-up from 0, then linear decay to 0 at the last step.
    WarmupLinear {
        /// The warm-up as a fraction of all steps (used when `warmup_steps` is absent).
        #[serde(default)]
        warmup_ratio: f64,
        /// The warm-up in steps.
        #[serde(default)]
        warmup_steps: Option<usize>,
    },
    /// Linear warm-up from 0, then half a cosine down to `min_lr_ratio * lr`.
    WarmupCosine {
        /// The warm-up as a fraction of all steps (used when `warmup_steps` is absent).
        #[serde(default)]
        warmup_ratio: f64,
        /// The warm-up in steps.
        #[serde(default)]
        warmup_steps: Option<usize>,
        /// The final rate as a fraction of the base rate.
        #[serde(default)]
        min_lr_ratio: f64,
    },
}

/// The length of training that a schedule is laid over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScheduleSpan {
    /// Optimizer steps in one epoch.
    pub steps_per_epoch: usize,
    /// Optimizer steps in the whole run.
    pub total_steps: usize,
}

impl LrSchedule {
    /// Checks the parameters.
    pub fn validate(&self) -> Result<()> {
        let bad = |name, value: f64, reason: &str| {
            Err(TrainError::InvalidConfig {
                name,
                value: value.to_string(),
                reason: reason.into(),
            })
        };
        match *self {
            LrSchedule::Step {
                every_epochs: 0, ..
            } => bad("schedule.every_epochs", 0.0, "must be >= 1"),
            LrSchedule::Step { gamma, .. } | LrSchedule::Exponential { gamma }
                if !(gamma > 0.0 && gamma <= 1.0) =>
            {
                bad("schedule.gamma", gamma, "must be in (0, 1]")
            }
            LrSchedule::WarmupLinear { warmup_ratio, .. }
            | LrSchedule::WarmupCosine { warmup_ratio, .. }
                if !(0.0..1.0).contains(&warmup_ratio) =>
            {
                bad("schedule.warmup_ratio", warmup_ratio, "must be in [0, 1)")
            }
            LrSchedule::WarmupCosine { min_lr_ratio, .. }
                if !(0.0..=1.0).contains(&min_lr_ratio) =>
            {
                bad("schedule.min_lr_ratio", min_lr_ratio, "must be in [0, 1]")
            }
            _ => Ok(()),
        }
    }

    /// The number of warm-up steps over `span`.
    pub fn warmup_steps(&self, span: ScheduleSpan) -> usize {
        match *self {
            LrSchedule::WarmupLinear {
                warmup_ratio,
                warmup_steps,
            }
            | LrSchedule::WarmupCosine {
                warmup_ratio,
                warmup_steps,
                ..
            } => warmup_steps
                .unwrap_or_else(|| (warmup_ratio * span.total_steps as f64).ceil() as usize),
            _ => 0,
        }
    }

    /// The learning rate for optimizer step `step` (from 0) with base rate `lr`.
    pub fn lr_at(&self, lr: f64, step: usize, span: ScheduleSpan) -> f64 {
        let epochs_done = step as f64 / span.steps_per_epoch.max(1) as f64;
        let warmup = self.warmup_steps(span);
        // Fraction of the post-warm-up span that is done, in [0, 1].
        let decay_progress = || {
            let decay_steps = span.total_steps.saturating_sub(warmup).max(1) as f64;
            ((step - warmup) as f64 / decay_steps).min(1.0)
        };
        match *self {
            LrSchedule::Constant => lr,
            LrSchedule::Step {
                every_epochs,
                gamma,
            } => lr * gamma.powi((step / span.steps_per_epoch.max(1) / every_epochs) as i32),
            LrSchedule::Exponential { gamma } => lr * gamma.powf(epochs_done),
            LrSchedule::WarmupLinear { .. } | LrSchedule::WarmupCosine { .. } if step < warmup => {
                lr * step as f64 / warmup as f64
            }
            LrSchedule::WarmupLinear { .. } => lr * (1.0 - decay_progress()),
            LrSchedule::WarmupCosine { min_lr_ratio, .. } => {
                let cosine = 0.5 * (1.0 + (std::f64::consts::PI * decay_progress()).cos());
                lr * (min_lr_ratio + (1.0 - min_lr_ratio) * cosine)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPAN: ScheduleSpan = ScheduleSpan {
        steps_per_epoch: 10,
        total_steps: 100,
    };

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn warmup_linear_matches_hugging_face() {
        // transformers.get_linear_schedule_with_warmup(opt, 10, 100) with lr 1.0 gives
        // 0.0, 0.1, ... 0.9 during warm-up, 1.0 at step 10, (100 - s) / 90 afterwards.
        let s = LrSchedule::WarmupLinear {
            warmup_ratio: 0.1,
            warmup_steps: None,
        };
        assert_eq!(s.warmup_steps(SPAN), 10);
        for step in 0..10 {
            assert!(close(s.lr_at(1.0, step, SPAN), step as f64 / 10.0));
        }
        assert!(close(s.lr_at(1.0, 10, SPAN), 1.0));
        assert!(close(s.lr_at(1.0, 55, SPAN), 0.5));
        assert!(close(s.lr_at(1.0, 99, SPAN), 1.0 / 90.0));
        assert!(close(s.lr_at(1.0, 100, SPAN), 0.0));
    }

    #[test]
    fn cosine_step_and_exponential() {
        let cos = LrSchedule::WarmupCosine {
            warmup_ratio: 0.0,
            warmup_steps: Some(0),
            min_lr_ratio: 0.1,
        };
        assert!(close(cos.lr_at(2.0, 0, SPAN), 2.0));
        assert!(close(cos.lr_at(2.0, 50, SPAN), 2.0 * (0.1 + 0.9 * 0.5)));
        assert!(close(cos.lr_at(2.0, 100, SPAN), 0.2));

        let step = LrSchedule::Step {
            every_epochs: 2,
            gamma: 0.5,
        };
        assert!(close(step.lr_at(1.0, 19, SPAN), 1.0));
        assert!(close(step.lr_at(1.0, 20, SPAN), 0.5));
        assert!(close(step.lr_at(1.0, 45, SPAN), 0.25));

        let exp = LrSchedule::Exponential { gamma: 0.81 };
        assert!(close(exp.lr_at(1.0, 5, SPAN), 0.9));
        assert!(close(exp.lr_at(1.0, 20, SPAN), 0.81 * 0.81));
        assert!(close(LrSchedule::Constant.lr_at(0.3, 77, SPAN), 0.3));
    }

    #[test]
    fn bad_parameters_are_rejected_and_json_round_trips() {
        assert!(LrSchedule::Exponential { gamma: 0.0 }.validate().is_err());
        assert!(
            LrSchedule::Step {
                every_epochs: 0,
                gamma: 0.5
            }
            .validate()
            .is_err()
        );
        let s = LrSchedule::WarmupCosine {
            warmup_ratio: 0.05,
            warmup_steps: None,
            min_lr_ratio: 0.0,
        };
        let json = serde_json::to_string(&s).unwrap();
        assert!(json.contains("\"kind\":\"warmup_cosine\""), "{json}");
        assert_eq!(serde_json::from_str::<LrSchedule>(&json).unwrap(), s);
    }
}
