//! The confusion matrix of a classifier, and the scores read from it.

use serde::{Deserialize, Serialize};

/// Counts of (true class, predicted class) pairs: `counts[truth][prediction]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfusionMatrix {
    /// `counts[t][p]`: examples of class `t` predicted as `p`.
    pub counts: Vec<Vec<u64>>,
}

impl ConfusionMatrix {
    /// Tallies predictions against targets; ids at or past `num_classes` are ignored.
    pub fn new(predictions: &[usize], targets: &[usize], num_classes: usize) -> Self {
        let mut counts = vec![vec![0u64; num_classes]; num_classes];
        for (&p, &t) in predictions.iter().zip(targets) {
            if p < num_classes && t < num_classes {
                counts[t][p] += 1;
            }
        }
        Self { counts }
    }

    /// The fraction of examples on the diagonal.
    pub fn accuracy(&self) -> f64 {
        let total: u64 = self.counts.iter().flatten().sum();
        let right: u64 = (0..self.counts.len()).map(|i| self.counts[i][i]).sum();
        right as f64 / total.max(1) as f64
    }

    /// Per class: precision, recall and F1 (0 where undefined, as scikit-learn's
    /// `zero_division=0`).
    pub fn per_class(&self) -> Vec<(f64, f64, f64)> {
        let n = self.counts.len();
        (0..n)
            .map(|c| {
                let tp = self.counts[c][c] as f64;
                let predicted: u64 = (0..n).map(|t| self.counts[t][c]).sum();
                let actual: u64 = self.counts[c].iter().sum();
                let precision = if predicted > 0 {
                    tp / predicted as f64
                } else {
                    0.0
                };
                let recall = if actual > 0 { tp / actual as f64 } else { 0.0 };
                let f1 = if precision + recall > 0.0 {
                    2.0 * precision * recall / (precision + recall)
                } else {
                    0.0
                };
                (precision, recall, f1)
            })
            .collect()
    }

    /// The unweighted mean of the per-class F1 scores (scikit-learn's `average="macro"`).
    pub fn macro_f1(&self) -> f64 {
        let scores = self.per_class();
        scores.iter().map(|s| s.2).sum::<f64>() / scores.len().max(1) as f64
    }

    /// A text table with class names, rows = true class, columns = prediction.
    pub fn to_table(&self, names: &[String]) -> String {
        let width = names.iter().map(|n| n.len()).max().unwrap_or(4).max(6);
        let mut out = format!("{:>width$} | predicted\n", "true");
        out.push_str(&format!("{:>width$} |", ""));
        for name in names {
            out.push_str(&format!(" {name:>width$}"));
        }
        out.push('\n');
        for (name, row) in names.iter().zip(&self.counts) {
            out.push_str(&format!("{name:>width$} |"));
            for count in row {
                out.push_str(&format!(" {count:>width$}"));
            }
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_match_scikit_learn() {
        // sklearn: f1_score([0,0,0,1,1,2], [0,0,1,1,2,2], average="macro") = 0.7222...
        let m = ConfusionMatrix::new(&[0, 0, 1, 1, 2, 2], &[0, 0, 0, 1, 1, 2], 3);
        assert_eq!(m.counts, vec![vec![2, 1, 0], vec![0, 1, 1], vec![0, 0, 1]]);
        assert!((m.accuracy() - 4.0 / 6.0).abs() < 1e-12);
        let expected = (0.8 + 0.5 + 2.0 / 3.0) / 3.0;
        assert!((m.macro_f1() - expected).abs() < 1e-12, "{}", m.macro_f1());
        let table = m.to_table(&["a".into(), "b".into(), "c".into()]);
        assert!(table.contains("     a |      2      1      0"), "{table}");
    }

    #[test]
    fn a_class_never_predicted_scores_zero() {
        let m = ConfusionMatrix::new(&[0, 0], &[0, 1], 2);
        assert_eq!(m.per_class()[1], (0.0, 0.0, 0.0));
        assert!((m.macro_f1() - (2.0 / 3.0) / 2.0).abs() < 1e-12);
    }
}
