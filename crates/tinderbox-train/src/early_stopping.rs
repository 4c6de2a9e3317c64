//! Early stopping on a validation metric, with patience, as Keras' `EarlyStopping` callback.

use serde::{Deserialize, Serialize};

use crate::error::{Result, TrainError};
use crate::metrics::EpochMetrics;

/// The validation metric that decides the best epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Monitor {
    /// Lower is better.
    ValidLoss,
    /// Higher is better.
    ValidAccuracy,
}

impl Monitor {
    /// The metric's value for an epoch, if it was measured.
    pub fn value(self, m: &EpochMetrics) -> Option<f64> {
        match self {
            Monitor::ValidLoss => m.valid_loss,
            Monitor::ValidAccuracy => m.valid_accuracy,
        }
    }

    /// Whether `candidate` beats `best` by more than `min_delta`.
    pub fn improves(self, candidate: f64, best: Option<f64>, min_delta: f64) -> bool {
        match best {
            None => true,
            Some(best) => match self {
                Monitor::ValidLoss => candidate < best - min_delta,
                Monitor::ValidAccuracy => candidate > best + min_delta,
            },
        }
    }
}

/// Stop after `patience` epochs without an improvement of more than `min_delta`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EarlyStopping {
    /// The metric watched.
    pub monitor: Monitor,
    /// Epochs without improvement that are tolerated.
    pub patience: usize,
    /// The smallest change that counts as an improvement.
    pub min_delta: f64,
}

impl Default for EarlyStopping {
    /// Validation loss, patience 3, any improvement.
    fn default() -> Self {
        Self {
            monitor: Monitor::ValidLoss,
            patience: 3,
            min_delta: 0.0,
        }
    }
}

impl EarlyStopping {
    /// Checks the parameters.
    pub fn validate(&self) -> Result<()> {
        if !(self.min_delta >= 0.0 && self.min_delta.is_finite()) {
            return Err(TrainError::InvalidConfig {
                name: "early_stopping.min_delta",
                value: self.min_delta.to_string(),
                reason: "must be >= 0".into(),
            });
        }
        Ok(())
    }
}

/// Tracks the best epoch of a run; part of every checkpoint.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BestEpoch {
    /// The best epoch so far (1-based).
    pub epoch: Option<usize>,
    /// Its metric value.
    pub value: Option<f64>,
    /// Epochs since it.
    pub epochs_without_improvement: usize,
}

impl BestEpoch {
    /// Records an epoch's metrics; returns whether it is the new best.
    pub fn update(&mut self, monitor: Monitor, min_delta: f64, metrics: &EpochMetrics) -> bool {
        match monitor.value(metrics) {
            Some(v) if v.is_finite() && monitor.improves(v, self.value, min_delta) => {
                self.epoch = Some(metrics.epoch);
                self.value = Some(v);
                self.epochs_without_improvement = 0;
                true
            }
            _ => {
                self.epochs_without_improvement += 1;
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn epoch(epoch: usize, loss: f64) -> EpochMetrics {
        EpochMetrics {
            epoch,
            valid_loss: Some(loss),
            ..Default::default()
        }
    }

    #[test]
    fn counts_epochs_without_improvement() {
        let mut best = BestEpoch::default();
        assert!(best.update(Monitor::ValidLoss, 0.01, &epoch(1, 1.0)));
        assert!(best.update(Monitor::ValidLoss, 0.01, &epoch(2, 0.5)));
        assert!(!best.update(Monitor::ValidLoss, 0.01, &epoch(3, 0.495)));
        assert!(!best.update(Monitor::ValidLoss, 0.01, &epoch(4, f64::NAN)));
        assert_eq!(best.epoch, Some(2));
        assert_eq!(best.epochs_without_improvement, 2);
        assert!(Monitor::ValidAccuracy.improves(0.9, Some(0.8), 0.0));
        assert!(!Monitor::ValidAccuracy.improves(0.8, Some(0.8), 0.0));
    }
}
