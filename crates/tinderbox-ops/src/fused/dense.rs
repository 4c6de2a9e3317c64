//! The dense layer's three matrix products on row-major `f32` slices.
//!
//! Why not burn's `matmul`: it allocates every product zero-filled and then copies it into an
//! aligned buffer, and the bias is one more pass over the output. Here the output starts as the
//! bias rows and `gemm` adds the product onto it, and the gradients are written once, into
//! buffers that are never zeroed; the transposed operands of the backward pass are read in
//! place.

use super::product::{Product, Strided};
use rayon::prelude::*;

/// Rows per parallel task of the bias gradient.
const BIAS_ROWS: usize = 256;

/// The sizes of a dense layer applied to a batch: `x [rows, d_in] · weight [d_in, d_out] + bias
/// [d_out]`. The slices passed to its methods hold exactly these many elements.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Dense {
    pub rows: usize,
    pub d_in: usize,
    pub d_out: usize,
}

impl Dense {
    /// `x · weight + bias`, `[rows, d_out]`.
    pub fn forward(self, x: &[f32], weight: &[f32], bias: &[f32]) -> Vec<f32> {
        self.forward_strided(x, Strided::rows(weight, self.d_out), bias)
    }

    /// [`Self::forward`] with the weight read through strides (the transpose of a row-major
    /// matrix, say: a tied output projection read in place).
    pub fn forward_strided(self, x: &[f32], weight: Strided, bias: &[f32]) -> Vec<f32> {
        // The callers check the bias's width; a wrong one must not leave elements unwritten.
        let zeros;
        let bias = match bias.get(..self.d_out) {
            Some(bias) => bias,
            None => {
                zeros = vec![0.0; self.d_out];
                &zeros
            }
        };
        let len = self.rows * self.d_out;
        let mut out = Vec::with_capacity(len);
        if self.d_out > 0 {
            // The bias rows on all threads, written once (a zero-filled `vec!` would be one more
            // pass, on one thread).
            out.spare_capacity_mut()[..len]
                .par_chunks_mut(BIAS_ROWS * self.d_out)
                .for_each(|block| {
                    for row in block.chunks_exact_mut(self.d_out) {
                        row.iter_mut().zip(bias).for_each(|(o, &b)| {
                            o.write(b);
                        });
                    }
                });
            // SAFETY: `len` is a multiple of `d_out`, so the exact chunks of every block cover
            // all `len` elements, and `bias` has exactly `d_out`: each element was written.
            unsafe { out.set_len(len) };
        }
        let product = Product {
            m: self.rows,
            n: self.d_out,
            k: self.d_in,
            lhs: Strided::rows(x, self.d_in),
            rhs: weight,
            scale: 1.0,
        };
        product.run(&mut out, self.d_out, true);
        out
    }

    /// The input gradient `grad · weightᵀ`, `[rows, d_in]`.
    pub fn backward_input(self, weight: &[f32], grad: &[f32]) -> Vec<f32> {
        Product {
            m: self.rows,
            n: self.d_in,
            k: self.d_out,
            lhs: Strided::rows(grad, self.d_out),
            rhs: Strided::transposed(weight, self.d_out),
            scale: 1.0,
        }
        .into_new()
    }

    /// The weight gradient `xᵀ · grad` (`[d_in, d_out]`) and the bias gradient, the column sums
    /// of `grad` (`[d_out]`).
    pub fn backward_params(self, x: &[f32], grad: &[f32]) -> (Vec<f32>, Vec<f32>) {
        let dweight = Product {
            m: self.d_in,
            n: self.d_out,
            k: self.rows,
            lhs: Strided::transposed(x, self.d_in),
            rhs: Strided::rows(grad, self.d_out),
            scale: 1.0,
        }
        .into_new();
        (dweight, column_sums(grad, self.d_out))
    }
}

/// The sum of each column of a row-major `[rows, width]` matrix.
fn column_sums(m: &[f32], width: usize) -> Vec<f32> {
    if width == 0 {
        return Vec::new();
    }
    m.par_chunks(BIAS_ROWS * width)
        .fold(
            || vec![0.0; width],
            |mut sums, block| {
                for row in block.chunks_exact(width) {
                    sums.iter_mut().zip(row).for_each(|(s, v)| *s += v);
                }
                sums
            },
        )
        .reduce(
            || vec![0.0; width],
            |mut a, b| {
                a.iter_mut().zip(&b).for_each(|(a, b)| *a += b);
                a
            },
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `a [m, k] · b [k, n]` in f64, the plain way.
    fn naive(a: &[f32], b: &[f32], m: usize, k: usize, n: usize) -> Vec<f64> {
        let mut out = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                out[i * n + j] = (0..k)
                    .map(|t| a[i * k + t] as f64 * b[t * n + j] as f64)
                    .sum();
            }
        }
        out
    }

    fn transpose(a: &[f32], rows: usize, cols: usize) -> Vec<f32> {
        (0..cols * rows)
            .map(|i| a[(i % rows) * cols + i / rows])
            .collect()
    }

    fn close(ours: &[f32], theirs: &[f64]) {
        assert_eq!(ours.len(), theirs.len());
        for (a, b) in ours.iter().zip(theirs) {
            assert!((*a as f64 - b).abs() < 1e-4 * (1.0 + b.abs()), "{a} vs {b}");
        }
    }

    fn filled(len: usize, seed: usize) -> Vec<f32> {
        (0..len)
            .map(|i| ((i * 7 + seed * 13) % 19) as f32 / 9.0 - 1.0)
            .collect()
    }

    #[test]
    fn products_and_sums_match_the_plain_ones_at_threaded_and_small_sizes() {
        for (rows, d_in, d_out) in [(3, 5, 4), (300, 200, 150), (1, 1, 1)] {
            let (x, w, b) = (
                filled(rows * d_in, 1),
                filled(d_in * d_out, 2),
                filled(d_out, 3),
            );
            let mut expected = naive(&x, &w, rows, d_in, d_out);
            for (i, e) in expected.iter_mut().enumerate() {
                *e += b[i % d_out] as f64;
            }
            let dense = Dense { rows, d_in, d_out };
            close(&dense.forward(&x, &w, &b), &expected);

            let grad = filled(rows * d_out, 4);
            let w_t = transpose(&w, d_in, d_out);
            close(
                &dense.backward_input(&w, &grad),
                &naive(&grad, &w_t, rows, d_out, d_in),
            );
            let (dw, db) = dense.backward_params(&x, &grad);
            close(
                &dw,
                &naive(&transpose(&x, rows, d_in), &grad, d_in, rows, d_out),
            );
            let sums: Vec<f64> = (0..d_out)
                .map(|j| (0..rows).map(|i| grad[i * d_out + j] as f64).sum())
                .collect();
            close(&db, &sums);
        }
    }

    #[test]
    fn empty_and_zero_width_inputs_give_bias_rows_and_zero_gradients() {
        // No input features: every row is the bias, the input gradient is empty.
        let no_features = Dense {
            rows: 2,
            d_in: 0,
            d_out: 2,
        };
        assert_eq!(
            no_features.forward(&[], &[], &[1.0, 2.0]),
            vec![1.0, 2.0, 1.0, 2.0]
        );
        assert!(no_features.backward_input(&[], &[0.5; 4]).is_empty());
        // No rows: an empty output, and gradients of zero rather than uninitialised memory.
        let no_rows = Dense {
            rows: 0,
            d_in: 2,
            d_out: 3,
        };
        assert!(no_rows.forward(&[], &[0.5; 6], &[1.0; 3]).is_empty());
        assert_eq!(
            no_rows.backward_params(&[], &[]),
            (vec![0.0; 6], vec![0.0; 3])
        );
        assert!(no_rows.backward_input(&[0.5; 6], &[]).is_empty());
    }
}
