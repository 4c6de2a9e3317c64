//! Occlusion: each feature's attribution is the score's drop when it alone is replaced by the
//! baseline (Zeiler and Fergus 2014; Captum's `Occlusion` with one feature per window).

use super::{FeatureAttribution, MaskScorer, require_features, score_batched};
use crate::error::Result;

/// Occludes each of `features` features in turn: `features + 2` scores, `batch` at a time.
pub fn occlusion(
    features: usize,
    scorer: &mut dyn MaskScorer,
    batch: usize,
) -> Result<FeatureAttribution> {
    require_features(features)?;
    let mut masks = vec![vec![true; features], vec![false; features]];
    masks.extend((0..features).map(|i| {
        let mut mask = vec![true; features];
        mask[i] = false;
        mask
    }));
    let scores = score_batched(scorer, &masks, batch)?;
    Ok(FeatureAttribution {
        values: scores[2..].iter().map(|s| scores[0] - s).collect(),
        score: scores[0],
        baseline_score: scores[1],
    })
}

#[cfg(test)]
mod tests {
    use super::super::testing::Polynomial;
    use super::*;

    #[test]
    fn a_linear_score_drops_by_each_weight() {
        let mut f = Polynomial::linear(0.5, &[0.25, -1.0, 2.0]);
        let a = occlusion(3, &mut f, 2).unwrap();
        assert_eq!(a.values, vec![0.25, -1.0, 2.0]);
        assert_eq!((a.score, a.baseline_score), (1.75, 0.5));
        assert_eq!(f.calls, 3, "5 masks in batches of 2");
    }

    #[test]
    fn interactions_count_fully_for_both_features() {
        let mut f = Polynomial::linear(0.0, &[0.0, 0.0]);
        f.pairs.push((0, 1, 1.0));
        let a = occlusion(2, &mut f, 8).unwrap();
        assert_eq!(a.values, vec![1.0, 1.0]);
    }

    #[test]
    fn no_features_is_an_error() {
        let mut f = Polynomial::linear(0.0, &[]);
        assert!(
            occlusion(0, &mut f, 8)
                .unwrap_err()
                .to_string()
                .contains("nothing to explain")
        );
    }
}
