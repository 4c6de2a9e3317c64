//! LIME (Ribeiro, Singh and Guestrin 2016) as `lime`'s `LimeTextExplainer` runs it with
//! `bow=False`: the first sample is the input itself; every other sample removes a number of
//! features drawn uniformly from `1..=d`, chosen without replacement; each sample is weighted
//! by an exponential kernel (width 25) of its cosine distance to the input, times 100; a
//! ridge regression (`alpha = 1`, with intercept) of the target's score on the masks gives one
//! weight per feature.

use rand::SeedableRng;
use rand::rngs::StdRng;

use super::least_squares::weighted_ridge;
use super::{FeatureAttribution, MaskScorer, require_features, score_batched};
use crate::error::{ExplainError, Result};

/// LIME's default kernel width for text.
pub const KERNEL_WIDTH: f64 = 25.0;

/// Explains with `samples` perturbed inputs (including the input itself), seeded.
pub fn lime(
    features: usize,
    samples: usize,
    seed: u64,
    scorer: &mut dyn MaskScorer,
    batch: usize,
) -> Result<FeatureAttribution> {
    require_features(features)?;
    if samples < 2 {
        return Err(ExplainError::TooFewSamples {
            method: "lime",
            samples,
            min: 2,
            features,
        });
    }
    let mut rng = StdRng::seed_from_u64(seed);
    let mut masks = Vec::with_capacity(samples + 1);
    masks.push(vec![true; features]);
    for _ in 1..samples {
        let removed = rand::Rng::random_range(&mut rng, 1..=features);
        let mut mask = vec![true; features];
        for i in rand::seq::index::sample(&mut rng, features, removed) {
            mask[i] = false;
        }
        masks.push(mask);
    }
    // The all-baseline score is reported, not fitted.
    masks.push(vec![false; features]);
    let mut scores = score_batched(scorer, &masks, batch)?;
    let baseline_score = scores.pop().unwrap_or(0.0);
    masks.pop();
    let rows: Vec<Vec<f64>> = masks
        .iter()
        .map(|m| m.iter().map(|&on| if on { 1.0 } else { 0.0 }).collect())
        .collect();
    let weights: Vec<f64> = masks
        .iter()
        .map(|m| kernel(cosine_distance(m) * 100.0))
        .collect();
    let y: Vec<f64> = scores.iter().map(|&s| s as f64).collect();
    let (beta, _) =
        weighted_ridge(&rows, &y, &weights, 1.0, true).ok_or(ExplainError::Singular("lime"))?;
    Ok(FeatureAttribution {
        values: beta.into_iter().map(|b| b as f32).collect(),
        score: scores[0],
        baseline_score,
    })
}

/// `1 - cos(mask, ones)`: `1 - sqrt(kept / d)`; a mask with nothing kept is at distance 1
/// (scikit-learn's cosine distance of a zero row).
fn cosine_distance(mask: &[bool]) -> f64 {
    let kept = mask.iter().filter(|&&on| on).count() as f64;
    1.0 - (kept / mask.len() as f64).sqrt()
}

/// `sqrt(exp(-d² / width²))`, LIME's kernel.
fn kernel(distance: f64) -> f64 {
    (-(distance * distance) / (KERNEL_WIDTH * KERNEL_WIDTH))
        .exp()
        .sqrt()
}

#[cfg(test)]
mod tests {
    use super::super::testing::Polynomial;
    use super::*;

    #[test]
    fn recovers_a_linear_score_up_to_ridge_shrinkage_and_is_seeded() {
        let weights = [0.3, -0.2, 0.0, 0.5, 0.1];
        let mut f = Polynomial::linear(0.1, &weights);
        let a = lime(5, 2000, 7, &mut f, 256).unwrap();
        for (got, want) in a.values.iter().zip(weights) {
            // alpha = 1 against a total kernel weight in the hundreds: shrinkage below 1 %.
            assert!((*got as f64 - want).abs() < 0.01, "{:?}", a.values);
        }
        assert!((a.score - 0.8).abs() < 1e-6 && (a.baseline_score - 0.1).abs() < 1e-6);
        let again = lime(5, 2000, 7, &mut f, 64).unwrap();
        assert_eq!(a, again, "same seed, other batch size: same explanation");
        let other = lime(5, 2000, 8, &mut f, 64).unwrap();
        assert_ne!(a.values, other.values);
    }

    #[test]
    fn distances_and_kernel_are_limes() {
        assert_eq!(cosine_distance(&[true, true]), 0.0);
        assert_eq!(cosine_distance(&[false, false]), 1.0);
        assert!((cosine_distance(&[true, false, false, false]) - 0.5).abs() < 1e-15);
        assert!((kernel(25.0) - (-0.5f64).exp()).abs() < 1e-15);
    }

    #[test]
    fn one_sample_is_too_few() {
        let mut f = Polynomial::linear(0.0, &[1.0]);
        let err = lime(1, 1, 0, &mut f, 8).unwrap_err().to_string();
        assert!(
            err.contains("at least 2 samples") && err.contains("got 1"),
            "{err}"
        );
    }
}
