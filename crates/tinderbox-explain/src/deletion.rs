//! Faithfulness by deletion (Samek et al. 2017): remove the most important features first and
//! watch the explained score fall. The area over that curve (AOPC) is larger for explanations
//! that find what the model relies on; a random order is the floor to beat.

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;

use crate::error::Result;
use crate::perturbation::{MaskScorer, score_batched};

/// The score after removing the first `k` features of `order`, for `k = 0..=steps` (`steps`
/// capped at the number of features).
pub fn deletion_curve(
    order: &[usize],
    steps: usize,
    scorer: &mut dyn MaskScorer,
    batch: usize,
) -> Result<Vec<f32>> {
    let d = order.len();
    let mut seen = vec![false; d];
    for &i in order {
        if i >= d || std::mem::replace(&mut seen[i], true) {
            return Err(crate::ExplainError::Input(format!(
                "the deletion order must list each of the {d} features once; it has {i} out of place"
            )));
        }
    }
    let masks: Vec<Vec<bool>> = (0..=steps.min(d))
        .map(|k| {
            let mut mask = vec![true; d];
            for &i in &order[..k] {
                mask[i] = false;
            }
            mask
        })
        .collect();
    score_batched(scorer, &masks, batch)
}

/// AOPC: the mean drop `curve[0] - curve[k]` over `k = 0..=K` (the curve's length).
pub fn aopc(curve: &[f32]) -> f32 {
    match curve.first() {
        None => 0.0,
        Some(&start) => curve.iter().map(|&s| start - s).sum::<f32>() / curve.len() as f32,
    }
}

/// A seeded random order of `features` features, the baseline of a deletion table.
pub fn random_order(features: usize, seed: u64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..features).collect();
    order.shuffle(&mut StdRng::seed_from_u64(seed));
    order
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::perturbation::testing::Polynomial;

    #[test]
    fn removing_the_heaviest_features_first_has_the_largest_aopc() {
        let mut f = Polynomial::linear(0.0, &[0.1, 0.5, 0.2, 0.05]);
        let best = deletion_curve(&[1, 2, 0, 3], 4, &mut f, 2).unwrap();
        let worst = deletion_curve(&[3, 0, 2, 1], 4, &mut f, 2).unwrap();
        assert_eq!(best.len(), 5);
        assert!((best[1] - 0.35).abs() < 1e-6 && best[4].abs() < 1e-6);
        assert!(aopc(&best) > aopc(&worst));
        assert!((aopc(&best) - (0.0 + 0.5 + 0.7 + 0.8 + 0.85) / 5.0).abs() < 1e-6);
        let mut two = Polynomial::linear(0.0, &[0.1, 0.5]);
        assert_eq!(deletion_curve(&[0, 1], 10, &mut two, 2).unwrap().len(), 3);
        assert!(deletion_curve(&[0, 0], 1, &mut two, 2).is_err());
        assert!(deletion_curve(&[0, 2], 1, &mut two, 2).is_err());
    }

    #[test]
    fn random_orders_are_seeded_permutations() {
        let a = random_order(10, 1);
        let mut sorted = a.clone();
        sorted.sort();
        assert_eq!(sorted, (0..10).collect::<Vec<_>>());
        assert_eq!(a, random_order(10, 1));
        assert_ne!(a, random_order(10, 2));
    }
}
