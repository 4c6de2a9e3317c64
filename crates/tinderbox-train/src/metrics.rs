//! Per-epoch metrics, their running accumulation over batches, and the `metrics.csv` file.

use serde::{Deserialize, Serialize};

/// What one epoch measured.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EpochMetrics {
    /// 1-based epoch number.
    pub epoch: usize,
    /// Mean training loss over the epoch's examples (without weight penalties).
    pub train_loss: f64,
    /// Training accuracy over the epoch.
    pub train_accuracy: f64,
    /// Validation loss, when there is a validation set.
    pub valid_loss: Option<f64>,
    /// Validation accuracy, when there is a validation set.
    pub valid_accuracy: Option<f64>,
    /// The learning rate of the epoch's last optimizer step.
    pub lr: f64,
    /// Optimizer steps taken so far in the run.
    pub steps: usize,
    /// Wall-clock seconds of the epoch's training pass.
    pub train_seconds: f64,
    /// Wall-clock seconds of the epoch including validation.
    pub seconds: f64,
}

/// Accumulates example-weighted loss and accuracy over batches.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Meter {
    loss_sum: f64,
    correct: u64,
    count: u64,
}

impl Meter {
    /// Adds a batch of `count` examples with mean loss `loss` and `correct` right predictions.
    pub fn add(&mut self, loss: f64, correct: u64, count: u64) {
        self.loss_sum += loss * count as f64;
        self.correct += correct;
        self.count += count;
    }

    /// Mean loss per example (NaN before any batch).
    pub fn loss(&self) -> f64 {
        self.loss_sum / self.count as f64
    }

    /// Fraction of right predictions (NaN before any batch).
    pub fn accuracy(&self) -> f64 {
        self.correct as f64 / self.count as f64
    }

    /// Examples seen.
    pub fn count(&self) -> u64 {
        self.count
    }
}

/// The header of `metrics.csv`.
pub const CSV_HEADER: &str =
    "epoch,train_loss,train_accuracy,valid_loss,valid_accuracy,lr,steps,train_seconds,seconds";

/// Renders the history as CSV, one row per epoch; missing validation values are empty.
pub fn to_csv(history: &[EpochMetrics]) -> String {
    let opt = |v: Option<f64>| v.map(|v| format!("{v:.6}")).unwrap_or_default();
    let mut out = String::from(CSV_HEADER);
    out.push('\n');
    for m in history {
        out.push_str(&format!(
            "{},{:.6},{:.6},{},{},{:.6e},{},{:.3},{:.3}\n",
            m.epoch,
            m.train_loss,
            m.train_accuracy,
            opt(m.valid_loss),
            opt(m.valid_accuracy),
            m.lr,
            m.steps,
            m.train_seconds,
            m.seconds
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meter_weights_by_examples() {
        let mut m = Meter::default();
        m.add(1.0, 3, 4);
        m.add(4.0, 0, 2);
        assert!((m.loss() - 2.0).abs() < 1e-12);
        assert!((m.accuracy() - 0.5).abs() < 1e-12);
        assert_eq!(m.count(), 6);
        assert!(Meter::default().loss().is_nan());
    }

    #[test]
    fn csv_has_one_row_per_epoch() {
        let rows = [
            EpochMetrics {
                epoch: 1,
                train_loss: 0.5,
                train_accuracy: 0.75,
                valid_loss: Some(0.25),
                valid_accuracy: Some(0.9),
                lr: 1e-3,
                steps: 10,
                train_seconds: 1.0,
                seconds: 1.5,
            },
            EpochMetrics {
                epoch: 2,
                ..Default::default()
            },
        ];
        let csv = to_csv(&rows);
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0], CSV_HEADER);
        assert_eq!(
            lines[1],
            "1,0.500000,0.750000,0.250000,0.900000,1.000000e-3,10,1.000,1.500"
        );
        assert!(lines[2].starts_with("2,0.000000,0.000000,,,"));
    }
}
