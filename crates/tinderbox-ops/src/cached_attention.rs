//! Attention of new positions over a key-value cache held in host memory: what a decoder runs
//! at every generated token on a CPU device. Grouped-query (several query heads share a
//! key-value head), causal within the new positions, keys flagged as padding skipped.
//!
//! Why not burn's operations: a decode step attends one query row per head over the cache; as
//! tensor operations that is a repeat of the key-value heads, a masked product, a softmax and a
//! second product, each a pass over memory, per layer and token. Here each (sequence, head,
//! query) is one task reading the cache in place: dot products, an online softmax and a
//! weighted sum, vectorised for AVX2 or AVX-512 at run time. [`attend_reference`] is the plain
//! version the fast one is tested against.

use multiversion::multiversion;
use rayon::prelude::*;

/// The sizes of one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CachedAttention {
    /// Sequences.
    pub batch: usize,
    /// New positions per sequence (queries).
    pub queries: usize,
    /// Query heads.
    pub heads: usize,
    /// Key-value heads (divides `heads`).
    pub kv_heads: usize,
    /// Features per head.
    pub head_dim: usize,
    /// Positions the cache has room for (the stride of its position axis).
    pub capacity: usize,
    /// Positions filled, the new ones included.
    pub len: usize,
}

/// Buffers whose lengths disagree with the sizes given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cached attention sizes disagree: {0}")]
pub struct SizeMismatch(String);

impl CachedAttention {
    fn check(
        &self,
        q: &[f32],
        keys: &[f32],
        values: &[f32],
        padding: &[bool],
        out: &[f32],
    ) -> Result<(), SizeMismatch> {
        let cache = self.batch * self.kv_heads * self.capacity * self.head_dim;
        let queries = self.batch * self.queries * self.heads * self.head_dim;
        let fits = self.kv_heads > 0
            && self.heads.is_multiple_of(self.kv_heads)
            && self.len <= self.capacity
            && self.queries <= self.len
            && q.len() == queries
            && out.len() == queries
            && keys.len() == cache
            && values.len() == cache
            && padding.len() == self.batch * self.capacity;
        if fits {
            return Ok(());
        }
        Err(SizeMismatch(format!(
            "{self:?}, q {}, keys {}, values {}, padding {}, out {}",
            q.len(),
            keys.len(),
            values.len(),
            padding.len(),
            out.len()
        )))
    }
}

/// `out[b, i, h]` = softmax over the allowed cached positions `j` of `q[b, i, h] · keys[b, g, j]
/// * scale`, applied to `values[b, g, j]`, where `g = h / (heads / kv_heads)`. Query `i` sits at
/// position `len - queries + i` and sees positions up to its own that are not `padding[b, j]`.
///
/// Layouts: `q` and `out` `[batch, queries, heads, head_dim]`; `keys` and `values` `[batch,
/// kv_heads, capacity, head_dim]`; `padding` `[batch, capacity]`. A query with no position to
/// see gets zeros. Buffers that disagree with `s` are an error.
#[allow(clippy::too_many_arguments)]
pub fn attend(
    s: CachedAttention,
    q: &[f32],
    keys: &[f32],
    values: &[f32],
    padding: &[bool],
    scale: f32,
    out: &mut [f32],
) -> Result<(), SizeMismatch> {
    s.check(q, keys, values, padding, out)?;
    let d = s.head_dim;
    out.par_chunks_mut(d)
        .zip(q.par_chunks(d))
        .enumerate()
        .for_each(|(task, (out, q))| {
            let h = task % s.heads;
            let i = (task / s.heads) % s.queries;
            let b = task / (s.heads * s.queries);
            let g = h / (s.heads / s.kv_heads);
            let base = (b * s.kv_heads + g) * s.capacity * d;
            let last = s.len - s.queries + i;
            let pads = &padding[b * s.capacity..b * s.capacity + last + 1];
            attend_row(q, &keys[base..], &values[base..], pads, scale, out);
        });
    Ok(())
}

/// One query over positions `0..=last` (`pads.len() == last + 1`) with an online softmax.
#[multiversion(targets("x86_64+avx512f+avx512vl+avx2+fma", "x86_64+avx2+fma"))]
fn attend_row(q: &[f32], keys: &[f32], values: &[f32], pads: &[bool], scale: f32, out: &mut [f32]) {
    let d = q.len();
    out.fill(0.0);
    let (mut max, mut sum) = (f32::NEG_INFINITY, 0.0f32);
    for (j, _) in pads.iter().enumerate().filter(|(_, pad)| !**pad) {
        let k = &keys[j * d..(j + 1) * d];
        let score = dot(q, k) * scale;
        let v = &values[j * d..(j + 1) * d];
        if score > max {
            // Rescale what has been summed to the new maximum.
            let shrink = (max - score).exp();
            sum *= shrink;
            out.iter_mut().for_each(|o| *o *= shrink);
            max = score;
        }
        let weight = (score - max).exp();
        sum += weight;
        for (o, &x) in out.iter_mut().zip(v) {
            *o += weight * x;
        }
    }
    if sum > 0.0 {
        let inv = 1.0 / sum;
        out.iter_mut().for_each(|o| *o *= inv);
    }
}

/// A dot product in eight lanes, so that it vectorises without reassociation flags.
#[inline(always)]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0.0f32; 8];
    let chunks = a.len() / 8;
    for c in 0..chunks {
        for l in 0..8 {
            lanes[l] += a[c * 8 + l] * b[c * 8 + l];
        }
    }
    let mut total = lanes.iter().sum::<f32>();
    for i in chunks * 8..a.len() {
        total += a[i] * b[i];
    }
    total
}

/// [`attend`] written plainly: scores, a two-pass softmax and the weighted sum, one query at a
/// time. The fast version is tested against it.
#[allow(clippy::too_many_arguments)]
pub fn attend_reference(
    s: CachedAttention,
    q: &[f32],
    keys: &[f32],
    values: &[f32],
    padding: &[bool],
    scale: f32,
    out: &mut [f32],
) -> Result<(), SizeMismatch> {
    s.check(q, keys, values, padding, out)?;
    let d = s.head_dim;
    for b in 0..s.batch {
        for i in 0..s.queries {
            for h in 0..s.heads {
                let g = h / (s.heads / s.kv_heads);
                let row = ((b * s.queries + i) * s.heads + h) * d;
                let last = s.len - s.queries + i;
                let allowed: Vec<usize> = (0..=last)
                    .filter(|&j| !padding[b * s.capacity + j])
                    .collect();
                let key = |j: usize| ((b * s.kv_heads + g) * s.capacity + j) * d;
                let scores: Vec<f32> = allowed
                    .iter()
                    .map(|&j| (0..d).map(|x| q[row + x] * keys[key(j) + x]).sum::<f32>() * scale)
                    .collect();
                let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                let weights: Vec<f32> = scores.iter().map(|s| (s - max).exp()).collect();
                let total: f32 = weights.iter().sum();
                for x in 0..d {
                    out[row + x] = if allowed.is_empty() {
                        0.0
                    } else {
                        allowed
                            .iter()
                            .zip(&weights)
                            .map(|(&j, w)| w * values[key(j) + x])
                            .sum::<f32>()
                            / total
                    };
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(n: usize, seed: u32) -> Vec<f32> {
        (0..n)
            .map(|i| {
                ((i as u32).wrapping_mul(2_654_435_761).wrapping_add(seed) % 1000) as f32 / 500.0
                    - 1.0
            })
            .collect()
    }

    #[test]
    fn the_fast_kernel_equals_the_reference() {
        // Two sequences, the second left-padded by two; three new queries; 6 heads over 2.
        let s = CachedAttention {
            batch: 2,
            queries: 3,
            heads: 6,
            kv_heads: 2,
            head_dim: 20,
            capacity: 12,
            len: 9,
        };
        let q = data(2 * 3 * 6 * 20, 1);
        let keys = data(2 * 2 * 12 * 20, 2);
        let values = data(2 * 2 * 12 * 20, 3);
        let mut padding = vec![false; 24];
        padding[12] = true;
        padding[13] = true;
        let (mut fast, mut slow) = (vec![0.0; q.len()], vec![0.0; q.len()]);
        attend(s, &q, &keys, &values, &padding, 0.2, &mut fast).unwrap();
        attend_reference(s, &q, &keys, &values, &padding, 0.2, &mut slow).unwrap();
        let worst = fast
            .iter()
            .zip(&slow)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max);
        assert!(worst < 1e-6, "{worst}");
    }

    #[test]
    fn one_visible_position_returns_its_value_and_none_returns_zeros() {
        let s = CachedAttention {
            batch: 1,
            queries: 1,
            heads: 1,
            kv_heads: 1,
            head_dim: 2,
            capacity: 3,
            len: 2,
        };
        let (keys, values) = (
            vec![1.0, 0.0, 0.5, 0.5, 9.0, 9.0],
            vec![3.0, 4.0, 5.0, 6.0, 0.0, 0.0],
        );
        let mut out = vec![0.0; 2];
        attend(
            s,
            &[1.0, 1.0],
            &keys,
            &values,
            &[true, false, false],
            1.0,
            &mut out,
        )
        .unwrap();
        assert_eq!(out, vec![5.0, 6.0]);
        attend(
            s,
            &[1.0, 1.0],
            &keys,
            &values,
            &[true, true, false],
            1.0,
            &mut out,
        )
        .unwrap();
        assert!(attend(s, &[1.0], &keys, &values, &[false; 3], 1.0, &mut out).is_err());
        assert_eq!(out, vec![0.0, 0.0]);
    }
}
