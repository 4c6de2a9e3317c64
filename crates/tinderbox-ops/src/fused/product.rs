//! One matrix product on `gemm` (the crate burn's CPU backend multiplies with), over `f32`
//! slices read with any strides, so that transposed operands and one head of a `[L, heads * d]`
//! matrix are read in place.

use gemm::{Parallelism, gemm};
use rayon::prelude::*;

/// Below this many multiply-adds a product stays on one thread (burn-flex's threshold).
const PARALLEL_WORK: usize = 192 * 192 * 192;

/// A matrix inside a slice: element `(r, c)` is `data[r * row_stride + c * col_stride]`.
#[derive(Clone, Copy)]
pub(crate) struct Strided<'a> {
    pub data: &'a [f32],
    pub row_stride: usize,
    pub col_stride: usize,
}

impl<'a> Strided<'a> {
    /// A row-major matrix whose rows are `row_stride` apart.
    pub fn rows(data: &'a [f32], row_stride: usize) -> Self {
        Self {
            data,
            row_stride,
            col_stride: 1,
        }
    }

    /// The transpose of a row-major matrix whose rows are `row_stride` apart.
    pub fn transposed(data: &'a [f32], row_stride: usize) -> Self {
        Self {
            data,
            row_stride: 1,
            col_stride: row_stride,
        }
    }

    /// Whether every element of a `rows x cols` matrix lies inside `data`.
    fn holds(&self, rows: usize, cols: usize) -> bool {
        rows == 0
            || cols == 0
            || (rows - 1) * self.row_stride + (cols - 1) * self.col_stride < self.data.len()
    }
}

/// `dst [m, n] = scale · lhs [m, k] · rhs [k, n]`, or `dst += ...` when `accumulate`.
pub(crate) struct Product<'a> {
    pub m: usize,
    pub n: usize,
    pub k: usize,
    pub lhs: Strided<'a>,
    pub rhs: Strided<'a>,
    pub scale: f32,
}

impl Product<'_> {
    /// Runs the product into the row-major `dst` whose rows are `dst_row_stride` apart. Does
    /// nothing if an operand or `dst` is too short for the sizes (a bug in the caller, which
    /// the tests would show as wrong values rather than memory errors).
    pub fn run(&self, dst: &mut [f32], dst_row_stride: usize, accumulate: bool) {
        let out = Strided::rows(dst, dst_row_stride);
        if !(self.operands_fit() && out.holds(self.m, self.n)) {
            return;
        }
        // SAFETY: every element the strides reach for these sizes lies in its slice (checked
        // just above), and `dst` is borrowed mutably, so nothing else reads it meanwhile.
        unsafe { self.call(dst.as_mut_ptr(), dst_row_stride, accumulate) }
    }

    /// The product in a new row-major `[m, n]` buffer, written once, never zero-filled first.
    pub fn into_new(self) -> Vec<f32> {
        let len = self.m * self.n;
        let mut out = Vec::with_capacity(len);
        if !self.operands_fit() {
            out.resize(len, 0.0);
            return out;
        }
        // SAFETY: the operands are in bounds (checked above) and `out` has room for `m * n`
        // elements; without `accumulate` gemm writes every one of them, also when `k` is 0,
        // before the length is set.
        unsafe {
            self.call(out.as_mut_ptr(), self.n, false);
            out.set_len(len);
        }
        out
    }

    fn operands_fit(&self) -> bool {
        self.lhs.holds(self.m, self.k) && self.rhs.holds(self.k, self.n)
    }

    /// # Safety
    /// The operands must hold every element their strides reach for `m`, `n`, `k`, and `dst`
    /// must have room for a row-major `[m, n]` matrix with rows `dst_row_stride` apart.
    unsafe fn call(&self, dst: *mut f32, dst_row_stride: usize, accumulate: bool) {
        let threads = rayon::current_num_threads();
        if self.m * self.n * self.k >= PARALLEL_WORK && threads > 1 && (self.m == 1 || self.n == 1)
        {
            // SAFETY: as for `call`.
            unsafe { self.call_split(dst, dst_row_stride, accumulate, threads) };
            return;
        }
        let parallelism = if self.m * self.n * self.k >= PARALLEL_WORK {
            Parallelism::Rayon(0)
        } else {
            Parallelism::None
        };
        // SAFETY: the caller's promise, passed on.
        unsafe { self.call_gemm(dst, dst_row_stride, accumulate, parallelism) }
    }

    /// A vector times a matrix (`m == 1`) or a matrix times a vector (`n == 1`), split along
    /// the long side over rayon's threads: gemm runs these on one thread, and a decoding step
    /// of a language model is nothing but them.
    ///
    /// # Safety
    /// As for [`Self::call`].
    unsafe fn call_split(
        &self,
        dst: *mut f32,
        dst_row_stride: usize,
        accumulate: bool,
        threads: usize,
    ) {
        let by_rows = self.n == 1;
        let len = if by_rows { self.m } else { self.n };
        // A few pieces per thread, whole cache lines of output each.
        let piece = len.div_ceil(threads * 4).next_multiple_of(16);
        // Raw pointers are not `Send`; the pieces write disjoint parts of `dst`.
        let dst = dst as usize;
        (0..len.div_ceil(piece)).into_par_iter().for_each(|i| {
            let start = i * piece;
            let size = piece.min(len - start);
            let (part, offset) = if by_rows {
                let lhs = Strided {
                    data: &self.lhs.data[start * self.lhs.row_stride..],
                    ..self.lhs
                };
                (
                    Product {
                        m: size,
                        lhs,
                        ..*self
                    },
                    start * dst_row_stride,
                )
            } else {
                let rhs = Strided {
                    data: &self.rhs.data[start * self.rhs.col_stride..],
                    ..self.rhs
                };
                (
                    Product {
                        n: size,
                        rhs,
                        ..*self
                    },
                    start,
                )
            };
            let dst = (dst as *mut f32).wrapping_add(offset);
            // SAFETY: `part` is a block of rows or columns of the product, its operands start
            // at that block inside the checked ones, and it writes only its block of `dst`.
            unsafe { part.call_gemm(dst, dst_row_stride, accumulate, Parallelism::None) }
        });
    }

    /// # Safety
    /// As for [`Self::call`].
    unsafe fn call_gemm(
        &self,
        dst: *mut f32,
        dst_row_stride: usize,
        accumulate: bool,
        parallelism: Parallelism,
    ) {
        let (lhs, rhs) = (self.lhs, self.rhs);
        unsafe {
            gemm(
                self.m,
                self.n,
                self.k,
                dst,
                1,
                dst_row_stride as isize,
                accumulate,
                lhs.data.as_ptr(),
                lhs.col_stride as isize,
                lhs.row_stride as isize,
                rhs.data.as_ptr(),
                rhs.col_stride as isize,
                rhs.row_stride as isize,
                1.0,
                self.scale,
                false,
                false,
                false,
                parallelism,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `lhs [m, k] · rhs [k, n]` one multiply-add at a time, in f64.
    fn naive(m: usize, n: usize, k: usize, lhs: Strided, rhs: Strided) -> Vec<f32> {
        let mut out = vec![0.0; m * n];
        for r in 0..m {
            for c in 0..n {
                let sum: f64 = (0..k)
                    .map(|i| {
                        f64::from(lhs.data[r * lhs.row_stride + i * lhs.col_stride])
                            * f64::from(rhs.data[i * rhs.row_stride + c * rhs.col_stride])
                    })
                    .sum();
                out[r * n + c] = sum as f32;
            }
        }
        out
    }

    fn values(len: usize, seed: usize) -> Vec<f32> {
        (0..len)
            .map(|i| ((i * 37 + seed) % 101) as f32 / 50.0 - 1.0)
            .collect()
    }

    #[test]
    fn vector_products_split_over_threads_equal_one_thread_and_the_plain_sum() {
        // Above PARALLEL_WORK, so both go through `call_split`, with ragged last pieces; the
        // second reads its matrix transposed in place, as a tied output projection does.
        let (k, long) = (1_500, 4_999);
        let (x, w) = (values(k, 1), values(k * long, 2));
        assert!(k * long >= PARALLEL_WORK);
        let one_thread = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        let cases = [
            (1, long, Strided::rows(&x, k), Strided::rows(&w, long)),
            (long, 1, Strided::rows(&w, k), Strided::transposed(&x, k)),
        ];
        for (m, n, lhs, rhs) in cases {
            let product = || Product {
                m,
                n,
                k,
                lhs,
                rhs,
                scale: 1.0,
            };
            let ours = product().into_new();
            let worst = ours
                .iter()
                .zip(naive(m, n, k, lhs, rhs))
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f32::max);
            assert!(worst < 1e-3, "[{m}, {n}]: off by {worst}");
            assert_eq!(
                ours,
                one_thread.install(|| product().into_new()),
                "[{m}, {n}]"
            );
            // Accumulating into the result, split and on one thread: the same bits.
            let (mut split, mut single) = (ours.clone(), ours.clone());
            product().run(&mut split, n, true);
            one_thread.install(|| product().run(&mut single, n, true));
            assert_eq!(split, single, "[{m}, {n}] accumulated");
            assert_ne!(split, ours, "[{m}, {n}] accumulated");
        }
    }
}
