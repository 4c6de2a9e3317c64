//! Attention rollout (Abnar and Zuidema 2020, "Quantifying Attention Flow in Transformers"):
//! each layer's attention averaged over heads, the residual connection accounted for as
//! `0.5 A + 0.5 I` with rows renormalised, multiplied from the first layer to the last. A
//! heuristic picture of where information comes from, not an attribution of the output.

/// Rolls out `maps` (one head-averaged `[L, L]` attention matrix per layer, row-major, rows
/// are queries, first layer first) and returns each token's share of the rows `queries`
/// (the positions the head pools: all unpadded tokens for mean pooling, `[CLS]` for first-token
/// pooling), averaged.
pub fn attention_rollout(maps: &[Vec<f32>], len: usize, queries: &[usize]) -> Vec<f32> {
    // rollout = Â_n ... Â_1, started from the identity.
    let mut rolled: Vec<f64> = (0..len * len)
        .map(|i| if i / len == i % len { 1.0 } else { 0.0 })
        .collect();
    for map in maps {
        let mut a: Vec<f64> = map.iter().map(|&v| 0.5 * v as f64).collect();
        for i in 0..len {
            a[i * len + i] += 0.5;
            let row: f64 = a[i * len..(i + 1) * len].iter().sum();
            if row > 0.0 {
                a[i * len..(i + 1) * len].iter_mut().for_each(|v| *v /= row);
            }
        }
        let mut next = vec![0.0; len * len];
        for i in 0..len {
            for k in 0..len {
                let aik = a[i * len + k];
                if aik == 0.0 {
                    continue;
                }
                for j in 0..len {
                    next[i * len + j] += aik * rolled[k * len + j];
                }
            }
        }
        rolled = next;
    }
    let n = queries.len().max(1) as f64;
    (0..len)
        .map(|j| (queries.iter().map(|&q| rolled[q * len + j]).sum::<f64>() / n) as f32)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_layer_keeps_each_token_to_itself_and_rows_stay_distributions() {
        assert_eq!(attention_rollout(&[], 3, &[1]), vec![0.0, 1.0, 0.0]);
        let uniform = vec![1.0 / 3.0; 9];
        let one = attention_rollout(std::slice::from_ref(&uniform), 3, &[0]);
        // 0.5 * 1/3 + 0.5 on the diagonal.
        assert!((one[0] - (0.5 / 3.0 + 0.5)).abs() < 1e-6 && (one[1] - 0.5 / 3.0).abs() < 1e-6);
        let two = attention_rollout(&[uniform.clone(), uniform], 3, &[0, 1, 2]);
        assert!((two.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert!(
            two.iter().all(|v| (v - 1.0 / 3.0).abs() < 1e-6),
            "symmetric: {two:?}"
        );
    }

    #[test]
    fn multiplies_the_layers_in_order() {
        // Layer 1: every token reads token 0; layer 2: every token reads token 1. Rolled out,
        // row 2 = Â2 Â1: half from itself (which read half from 0), half from token 1's row.
        let to =
            |j: usize| -> Vec<f32> { (0..9).map(|i| if i % 3 == j { 1.0 } else { 0.0 }).collect() };
        let r = attention_rollout(&[to(0), to(1)], 3, &[2]);
        // Â1 row 2 = [0.5, 0, 0.5], row 1 = [0.5, 0.5, 0]; Â2 row 2 = [0, 0.5, 0.5].
        // Row 2 of Â2 Â1 = 0.5 [0.5, 0.5, 0] + 0.5 [0.5, 0, 0.5] = [0.5, 0.25, 0.25].
        let want = [0.5, 0.25, 0.25];
        for (got, want) in r.iter().zip(want) {
            assert!((got - want).abs() < 1e-6, "{r:?}");
        }
    }
}
