//! Model-agnostic attributions over feature masks: occlusion, LIME and KernelSHAP. They see the
//! model only as a function from masks (one `bool` per feature, `true` where the feature is
//! kept, `false` where it is replaced by the baseline) to scores, and send it the masks in
//! batches.

mod kernel_shap;
mod least_squares;
mod lime;
mod occlusion;

pub use kernel_shap::{default_samples as kernel_shap_default_samples, kernel_shap};
pub use lime::lime;
pub use occlusion::occlusion;

use crate::error::{ExplainError, Result};
use crate::method::{ExplainConfig, Method};

/// Scores of masked inputs: one score per mask, in order.
pub trait MaskScorer {
    /// Scores each mask (`mask[i]` is true where feature `i` is kept).
    fn score(&mut self, masks: &[Vec<bool>]) -> Result<Vec<f32>>;
}

impl<F: FnMut(&[Vec<bool>]) -> Result<Vec<f32>>> MaskScorer for F {
    fn score(&mut self, masks: &[Vec<bool>]) -> Result<Vec<f32>> {
        self(masks)
    }
}

/// One attribution per feature, and the scores it explains.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureAttribution {
    /// One value per feature.
    pub values: Vec<f32>,
    /// The score with every feature kept.
    pub score: f32,
    /// The score with every feature replaced by the baseline.
    pub baseline_score: f32,
}

/// The perturbation method `config` names (occlusion, LIME or KernelSHAP, each with its
/// library's default sample count unless `config.samples` is set) over `features` features.
pub fn explain_masks(
    features: usize,
    config: &ExplainConfig,
    scorer: &mut dyn MaskScorer,
) -> Result<FeatureAttribution> {
    let batch = config.batch_size;
    match config.method {
        Method::Occlusion => occlusion(features, scorer, batch),
        Method::Lime => lime(
            features,
            config.samples.unwrap_or(5000),
            config.seed,
            scorer,
            batch,
        ),
        Method::KernelShap => kernel_shap(
            features,
            config
                .samples
                .unwrap_or_else(|| kernel_shap::default_samples(features)),
            config.seed,
            scorer,
            batch,
        ),
        other => Err(ExplainError::Unsupported {
            method: other.name(),
            needs: "a model to differentiate or to read attention from, not feature masks",
        }),
    }
}

/// Scores `masks` through `scorer`, `batch` at a time, checking the count of each answer.
pub(crate) fn score_batched(
    scorer: &mut dyn MaskScorer,
    masks: &[Vec<bool>],
    batch: usize,
) -> Result<Vec<f32>> {
    let mut out = Vec::with_capacity(masks.len());
    for chunk in masks.chunks(batch.max(1)) {
        let scores = scorer.score(chunk)?;
        if scores.len() != chunk.len() {
            return Err(ExplainError::ScoreCount {
                expected: chunk.len(),
                got: scores.len(),
            });
        }
        out.extend(scores);
    }
    Ok(out)
}

pub(crate) fn require_features(features: usize) -> Result<()> {
    if features == 0 {
        return Err(ExplainError::NoFeatures(
            "the input has no feature to attribute to".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod testing {
    //! Scores with known Shapley values, LIME fits and occlusion drops.

    use super::*;

    /// `bias + Σ w_i m_i + Σ pairs c m_i m_j`: a linear score with optional interactions.
    pub struct Polynomial {
        pub bias: f64,
        pub weights: Vec<f64>,
        pub pairs: Vec<(usize, usize, f64)>,
        pub calls: usize,
    }

    impl Polynomial {
        pub fn linear(bias: f64, weights: &[f64]) -> Self {
            Self {
                bias,
                weights: weights.to_vec(),
                pairs: Vec::new(),
                calls: 0,
            }
        }

        pub fn value(&self, mask: &[bool]) -> f64 {
            let on = |i: usize| if mask[i] { 1.0 } else { 0.0 };
            self.bias
                + self
                    .weights
                    .iter()
                    .enumerate()
                    .map(|(i, w)| w * on(i))
                    .sum::<f64>()
                + self
                    .pairs
                    .iter()
                    .map(|&(i, j, c)| c * on(i) * on(j))
                    .sum::<f64>()
        }

        /// Shapley values by the definition: every coalition, weighted `|S|! (M-|S|-1)! / M!`.
        pub fn shapley(&self) -> Vec<f64> {
            let m = self.weights.len();
            let fact = |n: usize| (1..=n).map(|k| k as f64).product::<f64>();
            (0..m)
                .map(|i| {
                    let mut phi = 0.0;
                    for set in 0u32..(1 << m) {
                        if set & (1 << i) != 0 {
                            continue;
                        }
                        let size = set.count_ones() as usize;
                        let weight = fact(size) * fact(m - size - 1) / fact(m);
                        let mask: Vec<bool> = (0..m).map(|k| set & (1 << k) != 0).collect();
                        let mut with = mask.clone();
                        with[i] = true;
                        phi += weight * (self.value(&with) - self.value(&mask));
                    }
                    phi
                })
                .collect()
        }
    }

    impl MaskScorer for Polynomial {
        fn score(&mut self, masks: &[Vec<bool>]) -> Result<Vec<f32>> {
            self.calls += 1;
            Ok(masks.iter().map(|m| self.value(m) as f32).collect())
        }
    }
}
