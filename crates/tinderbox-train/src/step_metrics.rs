//! What a step-based run (pre-training) measures at each evaluation, and its `metrics.csv`.

use serde::{Deserialize, Serialize};

/// The figures of one evaluation point of a step-based run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StepMetrics {
    /// Optimizer steps taken.
    pub step: usize,
    /// Mean training loss over the scored positions since the previous point.
    pub train_loss: f64,
    /// Training accuracy over the same positions.
    pub train_accuracy: f64,
    /// Loss on the evaluation set, if one was scored.
    pub eval_loss: Option<f64>,
    /// Accuracy on the evaluation set.
    pub eval_accuracy: Option<f64>,
    /// The learning rate of the last step.
    pub lr: f64,
    /// Tokens (or examples) trained on so far.
    pub tokens: u64,
    /// Seconds spent in training steps so far (evaluation and checkpoints excluded).
    pub train_seconds: f64,
}

impl StepMetrics {
    /// `exp(eval_loss)`: the perplexity of a language model's evaluation loss.
    pub fn eval_perplexity(&self) -> Option<f64> {
        self.eval_loss.map(f64::exp)
    }
}

/// The header of a step-based run's `metrics.csv`.
pub const STEP_CSV_HEADER: &str = "step,train_loss,train_accuracy,eval_loss,eval_accuracy,eval_perplexity,lr,tokens,train_seconds";

/// Renders the history as CSV, one row per evaluation point; missing values are empty.
pub fn to_step_csv(history: &[StepMetrics]) -> String {
    let opt = |v: Option<f64>| v.map(|v| format!("{v:.6}")).unwrap_or_default();
    let mut out = String::from(STEP_CSV_HEADER);
    out.push('\n');
    for m in history {
        out.push_str(&format!(
            "{},{:.6},{:.6},{},{},{},{:.6e},{},{:.3}\n",
            m.step,
            m.train_loss,
            m.train_accuracy,
            opt(m.eval_loss),
            opt(m.eval_accuracy),
            opt(m.eval_perplexity()),
            m.lr,
            m.tokens,
            m.train_seconds,
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_rows_carry_perplexity() {
        let rows = [
            StepMetrics {
                step: 100,
                train_loss: 2.0,
                train_accuracy: 0.25,
                eval_loss: Some(1.0),
                eval_accuracy: Some(0.5),
                lr: 5e-4,
                tokens: 4096,
                train_seconds: 12.5,
            },
            StepMetrics {
                step: 150,
                ..Default::default()
            },
        ];
        let csv = to_step_csv(&rows);
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0], STEP_CSV_HEADER);
        assert_eq!(
            lines[1],
            "100,2.000000,0.250000,1.000000,0.500000,2.718282,5.000000e-4,4096,12.500"
        );
        assert!(lines[2].starts_with("150,0.000000,0.000000,,,,"));
    }
}
