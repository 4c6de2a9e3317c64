//! One matrix product on `gemm` (the crate burn's CPU backend multiplies with), over `f32`
//! slices read with any strides, so that transposed operands and one head of a `[L, heads * d]`
//! matrix are read in place.

use gemm::{Parallelism, gemm};

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
        let parallelism = if self.m * self.n * self.k >= PARALLEL_WORK {
            Parallelism::Rayon(0)
        } else {
            Parallelism::None
        };
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
