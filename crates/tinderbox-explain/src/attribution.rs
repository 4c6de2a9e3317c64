//! What every method returns.

use serde::{Deserialize, Serialize};

use crate::method::Method;

/// One attribution per feature (token or pixel) for one prediction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attribution {
    /// How it was computed.
    pub method: Method,
    /// The class explained.
    pub target: usize,
    /// One value per feature: positive values raise the target's score.
    pub values: Vec<f32>,
    /// The explained score: the target's probability for the input.
    pub score: f32,
    /// The target's probability with every feature replaced by the baseline.
    pub baseline_score: f32,
}

impl Attribution {
    /// `Σ values - (score - baseline_score)`: zero up to quadrature error for integrated
    /// gradients and by construction for KernelSHAP; for the other methods a measure of how far
    /// their attributions are from additive.
    pub fn completeness_gap(&self) -> f32 {
        let sum: f64 = self.values.iter().map(|&v| v as f64).sum();
        (sum - (self.score as f64 - self.baseline_score as f64)) as f32
    }

    /// Feature indices from the largest attribution to the smallest (ties in index order).
    pub fn ranking(&self) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.values.len()).collect();
        order.sort_by(|&a, &b| self.values[b].total_cmp(&self.values[a]));
        order
    }
}
