//! Multi-head attention with every head read and written in place in the projections' own
//! `[L, heads * d]` layout, one batch element per parallel task.
//!
//! Why: composed from tensor operations, attention splits the heads (a copy of q, k and v),
//! multiplies 4-dimensional batches through burn's matmul (zero-filled and copied outputs),
//! adds the mask, normalises, and merges the heads (another copy); under autodiff each of those
//! is a node with its own gradient buffers. Here the scores of one head (`L_q x L_k`, small enough
//! to stay in cache) go from the product to the softmax to the weighted sum without leaving it.

use super::kernels::{softmax_backward_rows, softmax_rows};
use super::product::{Product, Strided};
use rayon::prelude::*;

/// The sizes of an attention: `batch` sequences, `heads` heads of width `d`, `lq` queries and
/// `lk` keys. Queries are `[batch, lq, heads * d]`, keys and values `[batch, lk, heads * d]`,
/// the probabilities `[batch, heads, lq, lk]`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Heads {
    pub batch: usize,
    pub heads: usize,
    pub lq: usize,
    pub lk: usize,
    pub d: usize,
}

/// What masks the scores and drops probabilities, shared by the forward and backward passes.
#[derive(Clone, Copy)]
pub(crate) struct Masks<'a> {
    /// Added to every query's score of each key, `[batch, lk]` (0, or `f32::MIN` at padding).
    pub key_bias: &'a [f32],
    /// Keys after the query's own position get `f32::MIN` added.
    pub causal: bool,
    /// Dropout: the probabilities are multiplied by these (0, or `1 / (1 - p)`), `[batch,
    /// heads, lq, lk]`.
    pub keep: Option<&'a [f32]>,
}

/// The probabilities `p` as the weighted sum uses them: times the dropout multipliers `keep`
/// (written into `scratch`), or `p` itself without dropout.
fn after_dropout<'a>(p: &'a [f32], keep: Option<&[f32]>, scratch: &'a mut [f32]) -> &'a [f32] {
    match keep {
        Some(keep) => {
            scratch
                .iter_mut()
                .zip(p.iter().zip(keep))
                .for_each(|(s, (p, m))| *s = p * m);
            scratch
        }
        None => p,
    }
}

impl Heads {
    fn width(self) -> usize {
        self.heads * self.d
    }

    fn scale(self) -> f32 {
        1.0 / (self.d as f32).sqrt()
    }

    /// `softmax(q kᵀ / sqrt(d) + masks) v` for every head: the context `[batch, lq, heads * d]`,
    /// and when `keep_probs` the probabilities before dropout, for the backward pass (else
    /// empty). Every size must be non-zero.
    pub fn forward(
        self,
        q: &[f32],
        k: &[f32],
        v: &[f32],
        masks: Masks,
        keep_probs: bool,
    ) -> (Vec<f32>, Vec<f32>) {
        let scores = self.lq * self.lk;
        let mut context = vec![0.0; self.batch * self.lq * self.width()];
        let contexts = context.par_chunks_mut(self.lq * self.width());
        let mut probs = Vec::new();
        if keep_probs {
            probs = vec![0.0; self.batch * self.heads * scores];
            let probs = probs.par_chunks_mut(self.heads * scores);
            contexts
                .zip(probs)
                .enumerate()
                .for_each(|(b, (context, p))| {
                    let mut s = vec![0.0; scores];
                    for (h, p) in p.chunks_exact_mut(scores).enumerate() {
                        self.head_forward(b, h, [q, k, v], masks, (&mut s, p), context);
                    }
                });
        } else {
            contexts.enumerate().for_each(|(b, context)| {
                let (mut s, mut p) = (vec![0.0; scores], vec![0.0; scores]);
                for h in 0..self.heads {
                    self.head_forward(b, h, [q, k, v], masks, (&mut s, &mut p), context);
                }
            });
        }
        (context, probs)
    }

    /// Head `h` of sequence `b`: its probabilities into `p` and its weighted values into its
    /// columns of `context` (`[lq, heads * d]`); `s` is scratch of `p`'s size.
    fn head_forward(
        self,
        b: usize,
        h: usize,
        [q, k, v]: [&[f32]; 3],
        masks: Masks,
        (s, p): (&mut [f32], &mut [f32]),
        context: &mut [f32],
    ) {
        let scores = self.lq * self.lk;
        self.scores(b, h, q, k, masks, s);
        softmax_rows(s, p, self.lk);
        let keep = masks
            .keep
            .map(|keep| &keep[(b * self.heads + h) * scores..][..scores]);
        let weights = after_dropout(p, keep, s);
        Product {
            m: self.lq,
            n: self.d,
            k: self.lk,
            lhs: Strided::rows(weights, self.lk),
            rhs: Strided::rows(&v[self.at(b, self.lk, h)..], self.width()),
            scale: 1.0,
        }
        .run(&mut context[h * self.d..], self.width(), false);
    }

    /// Where head `h` of sequence `b` starts in a `[batch, len, heads * d]` matrix.
    fn at(self, b: usize, len: usize, h: usize) -> usize {
        b * len * self.width() + h * self.d
    }

    /// The masked, scaled scores of head `h` of sequence `b` into `s` (`[lq, lk]`).
    fn scores(self, b: usize, h: usize, q: &[f32], k: &[f32], masks: Masks, s: &mut [f32]) {
        let w = self.width();
        Product {
            m: self.lq,
            n: self.lk,
            k: self.d,
            lhs: Strided::rows(&q[self.at(b, self.lq, h)..], w),
            rhs: Strided::transposed(&k[self.at(b, self.lk, h)..], w),
            scale: self.scale(),
        }
        .run(s, self.lk, false);
        for (i, row) in s.chunks_exact_mut(self.lk).enumerate() {
            let bias = &masks.key_bias[b * self.lk..][..self.lk];
            row.iter_mut().zip(bias).for_each(|(s, b)| *s += b);
            if masks.causal {
                row.iter_mut().skip(i + 1).for_each(|s| *s += f32::MIN);
            }
        }
    }

    /// The gradients of q, k and v from the context's gradient `grad` and the probabilities the
    /// forward pass kept. Every size must be non-zero.
    pub fn backward(
        self,
        q: &[f32],
        k: &[f32],
        v: &[f32],
        probs: &[f32],
        keep: Option<&[f32]>,
        grad: &[f32],
    ) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
        let (w, scores, scale) = (self.width(), self.lq * self.lk, self.scale());
        let mut dq = vec![0.0; self.batch * self.lq * w];
        let mut dk = vec![0.0; self.batch * self.lk * w];
        let mut dv = vec![0.0; self.batch * self.lk * w];
        dq.par_chunks_mut(self.lq * w)
            .zip(dk.par_chunks_mut(self.lk * w))
            .zip(dv.par_chunks_mut(self.lk * w))
            .enumerate()
            .for_each(|(b, ((dq, dk), dv))| {
                // Scratch for one head's probabilities as used and their gradient.
                let (mut a, mut bb) = (vec![0.0; scores], vec![0.0; scores]);
                for h in 0..self.heads {
                    let offset = (b * self.heads + h) * scores;
                    let p = &probs[offset..][..scores];
                    let keep = keep.map(|keep| &keep[offset..][..scores]);
                    let dout = &grad[self.at(b, self.lq, h)..];
                    let used = after_dropout(p, keep, &mut a);
                    // dv = usedᵀ · dout
                    Product {
                        m: self.lk,
                        n: self.d,
                        k: self.lq,
                        lhs: Strided::transposed(used, self.lk),
                        rhs: Strided::rows(dout, w),
                        scale: 1.0,
                    }
                    .run(&mut dv[h * self.d..], w, false);
                    // d(used) = dout · vᵀ, then through dropout to dp.
                    Product {
                        m: self.lq,
                        n: self.lk,
                        k: self.d,
                        lhs: Strided::rows(dout, w),
                        rhs: Strided::transposed(&v[self.at(b, self.lk, h)..], w),
                        scale: 1.0,
                    }
                    .run(&mut bb, self.lk, false);
                    if let Some(keep) = keep {
                        bb.iter_mut().zip(keep).for_each(|(g, m)| *g *= m);
                    }
                    // The scores' gradient, through the softmax.
                    softmax_backward_rows(p, &bb, &mut a, self.lk);
                    // dq = ds · k / sqrt(d), dk = dsᵀ · q / sqrt(d)
                    Product {
                        m: self.lq,
                        n: self.d,
                        k: self.lk,
                        lhs: Strided::rows(&a, self.lk),
                        rhs: Strided::rows(&k[self.at(b, self.lk, h)..], w),
                        scale,
                    }
                    .run(&mut dq[h * self.d..], w, false);
                    Product {
                        m: self.lk,
                        n: self.d,
                        k: self.lq,
                        lhs: Strided::transposed(&a, self.lk),
                        rhs: Strided::rows(&q[self.at(b, self.lq, h)..], w),
                        scale,
                    }
                    .run(&mut dk[h * self.d..], w, false);
                }
            });
        (dq, dk, dv)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Forward and backward of one attention in f64, the plain way: (context, dq, dk, dv).
    // Indices read like the formulas here.
    #[allow(clippy::needless_range_loop)]
    fn naive(sizes: Heads, [q, k, v]: [&[f32]; 3], masks: Masks, grad: &[f32]) -> [Vec<f64>; 4] {
        let Heads {
            batch,
            heads,
            lq,
            lk,
            d,
        } = sizes;
        let (w, scale) = (heads * d, 1.0 / (d as f64).sqrt());
        // Element (b, i, h, c) of a `[batch, len, heads * d]` matrix.
        let at = |x: &[f32], b: usize, i: usize, h: usize, c: usize| {
            x[b * (x.len() / batch) + i * w + h * d + c] as f64
        };
        let mut out = [
            vec![0.0; q.len()],
            vec![0.0; q.len()],
            vec![0.0; k.len()],
            vec![0.0; v.len()],
        ];
        for b in 0..batch {
            for h in 0..heads {
                let mut p = vec![vec![0.0; lk]; lq];
                for i in 0..lq {
                    let s: Vec<f64> = (0..lk)
                        .map(|j| {
                            let dot: f64 =
                                (0..d).map(|c| at(q, b, i, h, c) * at(k, b, j, h, c)).sum();
                            let causal = if masks.causal && j > i {
                                f32::MIN as f64
                            } else {
                                0.0
                            };
                            dot * scale + masks.key_bias[b * lk + j] as f64 + causal
                        })
                        .collect();
                    let max = s.iter().cloned().fold(f64::MIN, f64::max);
                    let sum: f64 = s.iter().map(|x| (x - max).exp()).sum();
                    p[i] = s.iter().map(|x| (x - max).exp() / sum).collect();
                }
                let keep = |i: usize, j: usize| {
                    masks
                        .keep
                        .map_or(1.0, |m| m[((b * heads + h) * lq + i) * lk + j] as f64)
                };
                for i in 0..lq {
                    // context, and the gradient of the probabilities
                    let mut dp = vec![0.0; lk];
                    for j in 0..lk {
                        for c in 0..d {
                            out[0][b * lq * w + i * w + h * d + c] +=
                                p[i][j] * keep(i, j) * at(v, b, j, h, c);
                            dp[j] += at(grad, b, i, h, c) * at(v, b, j, h, c) * keep(i, j);
                            out[3][b * lk * w + j * w + h * d + c] +=
                                p[i][j] * keep(i, j) * at(grad, b, i, h, c);
                        }
                    }
                    let dot: f64 = (0..lk).map(|j| p[i][j] * dp[j]).sum();
                    for j in 0..lk {
                        let ds = p[i][j] * (dp[j] - dot) * scale;
                        for c in 0..d {
                            out[1][b * lq * w + i * w + h * d + c] += ds * at(k, b, j, h, c);
                            out[2][b * lk * w + j * w + h * d + c] += ds * at(q, b, i, h, c);
                        }
                    }
                }
            }
        }
        out
    }

    fn filled(len: usize, seed: usize) -> Vec<f32> {
        (0..len)
            .map(|i| ((i * 7 + seed * 11) % 23) as f32 / 11.0 - 1.0)
            .collect()
    }

    #[test]
    fn forward_and_backward_match_plain_attention_with_every_mask() {
        let sizes = Heads {
            batch: 2,
            heads: 3,
            lq: 4,
            lk: 5,
            d: 2,
        };
        let w = sizes.heads * sizes.d;
        let (q, k, v) = (
            filled(2 * 4 * w, 1),
            filled(2 * 5 * w, 2),
            filled(2 * 5 * w, 3),
        );
        let grad = filled(2 * 4 * w, 4);
        let mut key_bias = vec![0.0; 2 * 5];
        key_bias[4] = f32::MIN;
        let keep: Vec<f32> = (0..2 * 3 * 4 * 5)
            .map(|i| if i % 3 == 0 { 0.0 } else { 1.5 })
            .collect();
        for (causal, keep) in [(false, None), (true, None), (true, Some(&keep[..]))] {
            let masks = Masks {
                key_bias: &key_bias,
                causal,
                keep,
            };
            let (context, probs) = sizes.forward(&q, &k, &v, masks, true);
            let (dq, dk, dv) = sizes.backward(&q, &k, &v, &probs, keep, &grad);
            let expected = naive(sizes, [&q, &k, &v], masks, &grad);
            for (ours, theirs) in [context, dq, dk, dv].iter().zip(&expected) {
                for (a, b) in ours.iter().zip(theirs) {
                    assert!((*a as f64 - b).abs() < 1e-5, "{a} vs {b} (causal {causal})");
                }
            }
            // Without keeping the probabilities the context is the same.
            let (alone, none) = sizes.forward(&q, &k, &v, masks, false);
            assert_eq!(alone, sizes.forward(&q, &k, &v, masks, true).0);
            assert!(none.is_empty());
        }
    }
}
