//! KernelSHAP (Lundberg and Lee 2017) with `shap`'s `KernelExplainer` sampling: coalition
//! sizes are taken in pairs (`s` and `M - s`) from the smallest; a size whose coalitions all
//! fit the remaining budget is enumerated with its exact Shapley-kernel weight, the rest are
//! drawn at random (by size with the kernel's weight, then members uniformly; a coalition drawn
//! twice adds to its weight; each draw also adds its complement). The Shapley values solve the
//! kernel-weighted least squares under the efficiency constraint `Σ φ = f(x) - f(baseline)`,
//! which eliminates the last feature as `shap` does (no L1 selection: `l1_reg=0`).

use std::collections::HashMap;

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;

use super::least_squares::weighted_ridge;
use super::{FeatureAttribution, MaskScorer, require_features, score_batched};
use crate::error::{ExplainError, Result};

/// `shap`'s default budget: `2 M + 2048` coalitions.
pub fn default_samples(features: usize) -> usize {
    2 * features + 2048
}

/// Explains with at most `samples` coalitions (fewer when there are fewer: `2^M - 2`), seeded.
pub fn kernel_shap(
    features: usize,
    samples: usize,
    seed: u64,
    scorer: &mut dyn MaskScorer,
    batch: usize,
) -> Result<FeatureAttribution> {
    require_features(features)?;
    let m = features;
    let ends = score_batched(scorer, &[vec![true; m], vec![false; m]], batch)?;
    let (fx, fnull) = (ends[0] as f64, ends[1] as f64);
    if m == 1 {
        return Ok(FeatureAttribution {
            values: vec![(fx - fnull) as f32],
            score: ends[0],
            baseline_score: ends[1],
        });
    }
    let all = if m >= 30 {
        1usize << 30
    } else {
        (1usize << m) - 2
    };
    let min = (m + 1).min(all);
    if samples < min {
        return Err(ExplainError::TooFewSamples {
            method: "kernelshap",
            samples,
            min,
            features,
        });
    }
    let (masks, weights) = coalitions(m, samples.min(all), seed);
    let scores = score_batched(scorer, &masks, batch)?;
    // Eliminate the last feature: φ_M = (fx - fnull) - Σ_{i<M} φ_i, so regress
    // y - m_M (fx - fnull) on (m_i - m_M) for i < M.
    let total = fx - fnull;
    let mut rows = Vec::with_capacity(masks.len());
    let mut y = Vec::with_capacity(masks.len());
    for (mask, score) in masks.iter().zip(&scores) {
        let last = if mask[m - 1] { 1.0 } else { 0.0 };
        rows.push(
            mask[..m - 1]
                .iter()
                .map(|&on| if on { 1.0 } else { 0.0 } - last)
                .collect::<Vec<f64>>(),
        );
        y.push(*score as f64 - fnull - last * total);
    }
    let (phi, _) = weighted_ridge(&rows, &y, &weights, 0.0, false)
        .ok_or(ExplainError::Singular("kernelshap"))?;
    let last = total - phi.iter().sum::<f64>();
    Ok(FeatureAttribution {
        values: phi.iter().chain([&last]).map(|&v| v as f32).collect(),
        score: ends[0],
        baseline_score: ends[1],
    })
}

/// The coalitions (true = feature present) and their kernel weights, as `shap` draws them.
fn coalitions(m: usize, samples: usize, seed: u64) -> (Vec<Vec<bool>>, Vec<f64>) {
    let sizes = (m - 1).div_ceil(2);
    let paired = (m - 1) / 2;
    // Shapley kernel mass of each size s = 1..=sizes (both s and M - s where paired).
    let mut size_weight: Vec<f64> = (1..=sizes)
        .map(|s| (m - 1) as f64 / (s * (m - s)) as f64)
        .collect();
    for w in size_weight.iter_mut().take(paired) {
        *w *= 2.0;
    }
    let norm: f64 = size_weight.iter().sum();
    size_weight.iter_mut().for_each(|w| *w /= norm);

    let mut masks: Vec<Vec<bool>> = Vec::new();
    let mut weights: Vec<f64> = Vec::new();
    let mut left = samples as f64;
    let mut remaining = size_weight.clone();
    let mut full = 0;
    for s in 1..=sizes {
        let is_paired = s <= paired;
        let mut count = binomial(m, s);
        if is_paired {
            count *= 2.0;
        }
        if left * remaining[s - 1] / count < 1.0 - 1e-8 {
            break;
        }
        full += 1;
        left -= count;
        if remaining[s - 1] < 1.0 {
            let rest = 1.0 - remaining[s - 1];
            remaining.iter_mut().for_each(|w| *w /= rest);
        }
        let mut w = size_weight[s - 1] / binomial(m, s);
        if is_paired {
            w /= 2.0;
        }
        for_each_subset(m, s, |members| {
            let mask: Vec<bool> = (0..m).map(|i| members.contains(&i)).collect();
            if is_paired {
                let complement = mask.iter().map(|on| !on).collect();
                masks.push(mask);
                masks.push(complement);
                weights.extend([w, w]);
            } else {
                masks.push(mask);
                weights.push(w);
            }
        });
    }
    let fixed = masks.len();
    let mut left = samples.saturating_sub(fixed);
    if full < sizes && left > 0 {
        let mut draw: Vec<f64> = size_weight.clone();
        for w in draw.iter_mut().take(paired) {
            *w /= 2.0;
        }
        let draw = &draw[full..];
        let norm: f64 = draw.iter().sum();
        let mut rng = StdRng::seed_from_u64(seed);
        let mut seen: HashMap<Vec<bool>, usize> = HashMap::new();
        let mut order: Vec<usize> = (0..m).collect();
        let mut attempts = 0;
        while left > 0 && attempts < 4 * samples {
            attempts += 1;
            let mut u = rand::Rng::random::<f64>(&mut rng) * norm;
            let mut k = draw.len() - 1;
            for (i, w) in draw.iter().enumerate() {
                if u < *w {
                    k = i;
                    break;
                }
                u -= w;
            }
            let s = k + full + 1;
            order.shuffle(&mut rng);
            let mut mask = vec![false; m];
            for &i in &order[..s] {
                mask[i] = true;
            }
            let pair = s <= paired;
            match seen.get(&mask) {
                Some(&at) => {
                    weights[at] += 1.0;
                    if pair {
                        weights[at + 1] += 1.0;
                    }
                }
                None => {
                    seen.insert(mask.clone(), masks.len());
                    let complement: Vec<bool> = mask.iter().map(|on| !on).collect();
                    masks.push(mask);
                    weights.push(1.0);
                    left -= 1;
                    if pair && left > 0 {
                        masks.push(complement);
                        weights.push(1.0);
                        left -= 1;
                    }
                }
            }
        }
        // The drawn coalitions share the kernel mass the enumerated sizes left.
        let mass: f64 = size_weight[full..].iter().sum();
        let drawn: f64 = weights[fixed..].iter().sum();
        if drawn > 0.0 {
            weights[fixed..].iter_mut().for_each(|w| *w *= mass / drawn);
        }
    }
    (masks, weights)
}

fn binomial(n: usize, k: usize) -> f64 {
    (0..k).fold(1.0, |acc, i| acc * (n - i) as f64 / (i + 1) as f64)
}

/// Calls `f` with every `k`-subset of `0..n`, in lexicographic order.
fn for_each_subset(n: usize, k: usize, mut f: impl FnMut(&[usize])) {
    let mut idx: Vec<usize> = (0..k).collect();
    loop {
        f(&idx);
        let Some(i) = (0..k).rev().find(|&i| idx[i] != i + n - k) else {
            return;
        };
        idx[i] += 1;
        for j in i + 1..k {
            idx[j] = idx[j - 1] + 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::Polynomial;
    use super::*;

    fn interacting(m: usize) -> Polynomial {
        let weights: Vec<f64> = (0..m).map(|i| (i as f64 - 2.0) * 0.1).collect();
        let mut f = Polynomial::linear(0.2, &weights);
        f.pairs = vec![(0, 1, 0.3), (2, m - 1, -0.25), (1, 3, 0.15)];
        f
    }

    #[test]
    fn enumerating_every_coalition_gives_the_exact_shapley_values() {
        // 6 features: 62 coalitions, all enumerated within the default budget.
        let mut f = interacting(6);
        let exact = f.shapley();
        let a = kernel_shap(6, default_samples(6), 0, &mut f, 16).unwrap();
        for (got, want) in a.values.iter().zip(&exact) {
            assert!(
                (*got as f64 - want).abs() < 1e-5,
                "{:?} vs {exact:?}",
                a.values
            );
        }
        let sum: f32 = a.values.iter().sum();
        assert!(
            (sum - (a.score - a.baseline_score)).abs() < 1e-5,
            "efficiency"
        );
    }

    #[test]
    fn sampled_coalitions_give_exact_values_for_an_additive_score_and_close_ones_otherwise() {
        // 12 features (4,094 coalitions) with a budget of 300: sizes 1 and 11 enumerated, the
        // rest drawn.
        let weights: Vec<f64> = (0..12).map(|i| (i as f64 - 5.0) * 0.05).collect();
        let mut linear = Polynomial::linear(0.1, &weights);
        let a = kernel_shap(12, 300, 3, &mut linear, 64).unwrap();
        for (got, want) in a.values.iter().zip(&weights) {
            assert!((*got as f64 - want).abs() < 1e-5, "{:?}", a.values);
        }
        let mut f = interacting(12);
        let exact = f.shapley();
        let a = kernel_shap(12, 1000, 3, &mut f, 64).unwrap();
        for (got, want) in a.values.iter().zip(&exact) {
            assert!(
                (*got as f64 - want).abs() < 0.03,
                "{:?} vs {exact:?}",
                a.values
            );
        }
        let again = kernel_shap(12, 1000, 3, &mut f, 7).unwrap();
        assert_eq!(a, again, "seeded");
    }

    #[test]
    fn coalition_weights_follow_the_shapley_kernel() {
        let (masks, weights) = coalitions(4, 100, 0);
        assert_eq!(masks.len(), 14, "all 2^4 - 2 coalitions");
        let total: f64 = weights.iter().sum();
        assert!((total - 1.0).abs() < 1e-12);
        // Kernel (M-1) / (C(M,s) s (M-s)): sizes 1 and 3 weigh 3/(4*3) = 0.25 per coalition
        // before normalisation, size 2: 3/(6*4) = 0.125.
        let of = |s: usize| {
            let i = masks
                .iter()
                .position(|m| m.iter().filter(|&&b| b).count() == s)
                .unwrap();
            weights[i]
        };
        assert!((of(1) / of(2) - 2.0).abs() < 1e-12 && (of(3) - of(1)).abs() < 1e-12);
    }

    #[test]
    fn too_few_samples_are_an_error_naming_the_minimum() {
        let mut f = interacting(6);
        let err = kernel_shap(6, 3, 0, &mut f, 8).unwrap_err().to_string();
        assert!(err.contains("at least 7 samples"), "{err}");
        let mut one = Polynomial::linear(0.5, &[2.0]);
        assert_eq!(kernel_shap(1, 1, 0, &mut one, 8).unwrap().values, vec![2.0]);
    }

    #[test]
    fn subsets_are_enumerated_once_each() {
        let mut seen = Vec::new();
        for_each_subset(5, 2, |s| seen.push(s.to_vec()));
        assert_eq!(seen.len(), 10);
        assert_eq!(seen[0], vec![0, 1]);
        assert_eq!(seen[9], vec![3, 4]);
    }
}
