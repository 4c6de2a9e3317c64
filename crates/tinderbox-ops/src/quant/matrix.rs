//! A weight matrix kept in GGUF blocks and multiplied as it is: `y = x Wᵀ` with `W [rows, cols]`
//! stored row by row (llama.cpp's layout: a linear layer's output rows, each `cols` values long),
//! the activations quantized to 8-bit blocks first, integer dot products per block, threads over
//! output rows.

use std::sync::OnceLock;

use rayon::prelude::*;

use super::activation::{Q8Block, Q8KBlock, QK, quantize_q8, quantize_q8_k};
use super::{BlockMismatch, GgmlType, dequantize, packed, reference};

/// What can go wrong building or using a [`QuantizedMatrix`].
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum QuantError {
    /// The type has no product kernel.
    #[error(
        "{0:?} weights have no quantized product; supported: Q4_0, Q4_1, Q8_0, Q4_K, Q5_K, Q6_K (or dequantize to f32)"
    )]
    NoKernel(GgmlType),
    /// Quantizing `f32` values to this type is not implemented.
    #[error("quantizing f32 to {0:?} is not supported; supported: Q8_0, Q4_0, Q4_1")]
    CannotQuantize(GgmlType),
    /// The bytes do not hold `rows x cols` values of the type.
    #[error("a [{rows}, {cols}] matrix: {source}")]
    Blocks {
        /// Output rows.
        rows: usize,
        /// Values per row.
        cols: usize,
        /// What did not fit.
        source: BlockMismatch,
    },
    /// Rows whose length is not a whole number of the type's blocks.
    #[error("rows of {cols} values are not whole blocks of {block_len} ({ty:?})")]
    Width {
        /// The type.
        ty: GgmlType,
        /// Values per row.
        cols: usize,
        /// Values per block.
        block_len: usize,
    },
    /// Int8 parts whose lengths do not fit the matrix's shape.
    #[error("int8 matrix [{rows}, {cols}]: {len} {what} do not fit (a shape must be non-empty)")]
    Int8Shape {
        /// Which part: values, scales or bias.
        what: &'static str,
        /// Output channels.
        rows: usize,
        /// Inputs per channel.
        cols: usize,
        /// The length given.
        len: usize,
    },
    /// A weight or scale that is infinite, NaN, or (a scale) negative.
    #[error("cannot quantize to int8: the value at row {row}, column {col} is {value}")]
    NotFinite {
        /// Row of the value.
        row: usize,
        /// Column of the value (0 for a scale).
        col: usize,
        /// The value.
        value: f32,
    },
    /// An input whose length is not a whole number of rows of `cols` values.
    #[error("input of {len} values for {m} rows does not match the matrix's {cols} columns")]
    Input {
        /// Values given.
        len: usize,
        /// Rows asked for.
        m: usize,
        /// Columns of the matrix.
        cols: usize,
    },
}

/// Which build of the dot products runs: the plain reference, or x86 vector instructions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kernel {
    /// `reference.rs`: plain Rust, any CPU.
    Reference,
    /// AVX2 with FMA and F16C.
    Avx2,
    /// AVX-512 VNNI (with F, VL and BW: on 256-bit registers for GGUF's blocks, 512-bit for
    /// the int8 dense products).
    Avx512Vnni,
}

impl Kernel {
    /// Every build this CPU can run, the reference first (detected once).
    pub fn available() -> &'static [Kernel] {
        static AVAILABLE: OnceLock<Vec<Kernel>> = OnceLock::new();
        AVAILABLE.get_or_init(Self::detect)
    }

    fn detect() -> Vec<Kernel> {
        let mut kernels = vec![Kernel::Reference];
        #[cfg(target_arch = "x86_64")]
        {
            let avx2 = is_x86_feature_detected!("avx2")
                && is_x86_feature_detected!("fma")
                && is_x86_feature_detected!("f16c");
            if avx2 {
                kernels.push(Kernel::Avx2);
            }
            if avx2
                && is_x86_feature_detected!("avx512f")
                && is_x86_feature_detected!("avx512vl")
                && is_x86_feature_detected!("avx512bw")
                && is_x86_feature_detected!("avx512vnni")
            {
                kernels.push(Kernel::Avx512Vnni);
            }
        }
        kernels
    }

    /// The fastest build this CPU runs.
    pub fn best() -> Kernel {
        *Kernel::available().last().unwrap_or(&Kernel::Reference)
    }
}

type DotQ8 = unsafe fn(&[u8], &[Q8Block]) -> f32;
type DotQ8K = unsafe fn(&[u8], &[Q8KBlock]) -> f32;
type DotX8 = unsafe fn(&[u8], &[Q8Block], &mut [f32; 8]);

/// The product function of a type and build: over 32-value or 256-value activation blocks, one
/// row or (packed) eight at a time.
enum Dot {
    Q8(DotQ8),
    Q8K(DotQ8K),
    X8(DotX8),
}

/// The eight-row kernel of a packed type, when the CPU runs one.
fn dot_x8(ty: GgmlType, kernel: Kernel) -> Option<DotX8> {
    if !Kernel::available().contains(&kernel) {
        return None;
    }
    #[cfg(target_arch = "x86_64")]
    {
        use super::x86::{avx2, avx512_vnni};
        return match (kernel, ty) {
            (Kernel::Avx2, GgmlType::Q8_0) => Some(avx2::q8_0_x8),
            (Kernel::Avx2, GgmlType::Q4_0) => Some(avx2::q4_0_x8),
            (Kernel::Avx2, GgmlType::Q4_1) => Some(avx2::q4_1_x8),
            (Kernel::Avx512Vnni, GgmlType::Q8_0) => Some(avx512_vnni::q8_0_x8),
            (Kernel::Avx512Vnni, GgmlType::Q4_0) => Some(avx512_vnni::q4_0_x8),
            (Kernel::Avx512Vnni, GgmlType::Q4_1) => Some(avx512_vnni::q4_1_x8),
            _ => None,
        };
    }
    #[allow(unreachable_code)]
    None
}

fn dot(ty: GgmlType, kernel: Kernel) -> Result<Dot, QuantError> {
    // A build the CPU lacks falls back to the reference, so that only `available()` decides.
    let kernel = if Kernel::available().contains(&kernel) {
        kernel
    } else {
        Kernel::Reference
    };
    #[cfg(target_arch = "x86_64")]
    {
        use super::x86::{avx2, avx512_vnni};
        let vector = match (kernel, ty) {
            (Kernel::Avx2, GgmlType::Q8_0) => Some(Dot::Q8(avx2::q8_0)),
            (Kernel::Avx2, GgmlType::Q4_0) => Some(Dot::Q8(avx2::q4_0)),
            (Kernel::Avx2, GgmlType::Q4_1) => Some(Dot::Q8(avx2::q4_1)),
            (Kernel::Avx2, GgmlType::Q4_K) => Some(Dot::Q8K(avx2::q4_k)),
            (Kernel::Avx2, GgmlType::Q5_K) => Some(Dot::Q8K(avx2::q5_k)),
            (Kernel::Avx2, GgmlType::Q6_K) => Some(Dot::Q8K(avx2::q6_k)),
            (Kernel::Avx512Vnni, GgmlType::Q8_0) => Some(Dot::Q8(avx512_vnni::q8_0)),
            (Kernel::Avx512Vnni, GgmlType::Q4_0) => Some(Dot::Q8(avx512_vnni::q4_0)),
            (Kernel::Avx512Vnni, GgmlType::Q4_1) => Some(Dot::Q8(avx512_vnni::q4_1)),
            (Kernel::Avx512Vnni, GgmlType::Q4_K) => Some(Dot::Q8K(avx512_vnni::q4_k)),
            (Kernel::Avx512Vnni, GgmlType::Q5_K) => Some(Dot::Q8K(avx512_vnni::q5_k)),
            (Kernel::Avx512Vnni, GgmlType::Q6_K) => Some(Dot::Q8K(avx512_vnni::q6_k)),
            _ => None,
        };
        if let Some(found) = vector {
            return Ok(found);
        }
    }
    let _ = kernel;
    match ty {
        GgmlType::Q8_0 => Ok(Dot::Q8(reference::q8_0)),
        GgmlType::Q4_0 => Ok(Dot::Q8(reference::q4_0)),
        GgmlType::Q4_1 => Ok(Dot::Q8(reference::q4_1)),
        GgmlType::Q4_K => Ok(Dot::Q8K(reference::q4_k)),
        GgmlType::Q5_K => Ok(Dot::Q8K(reference::q5_k)),
        GgmlType::Q6_K => Ok(Dot::Q8K(reference::q6_k)),
        other => Err(QuantError::NoKernel(other)),
    }
}

/// A `[rows, cols]` matrix of GGUF blocks, each row `cols / block_len` whole blocks. Q4_0,
/// Q4_1 and Q8_0 matrices of a multiple of 8 rows are held with eight rows' blocks interleaved
/// (`packed.rs`: the same bytes, reordered) for the eight-row kernels.
///
/// ```
/// use tinderbox_ops::quant::{GgmlType, QuantizedMatrix};
///
/// // A 2 x 32 matrix of ones and twos, quantized to Q8_0, times one row of halves: exact up
/// // to the f16 rounding of the two scales (a relative 2^-11 each).
/// let values: Vec<f32> = (0..64).map(|i| if i < 32 { 1.0 } else { 2.0 }).collect();
/// let w = QuantizedMatrix::quantize(GgmlType::Q8_0, 2, 32, &values).unwrap();
/// let y = w.matmul(&[0.5; 32], 1).unwrap();
/// assert!((y[0] / 16.0 - 1.0).abs() < 1e-3 && (y[1] / 32.0 - 1.0).abs() < 1e-3);
/// ```
#[derive(Clone, PartialEq)]
pub struct QuantizedMatrix {
    ty: GgmlType,
    rows: usize,
    cols: usize,
    /// GGUF's row-major blocks, or the packed layout when `packed`.
    data: Vec<u8>,
    packed: bool,
}

impl std::fmt::Debug for QuantizedMatrix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "QuantizedMatrix({:?}, [{}, {}], {} bytes)",
            self.ty,
            self.rows,
            self.cols,
            self.data.len()
        )
    }
}

impl QuantizedMatrix {
    /// Blocks of `ty` holding `rows` rows of `cols` values. Fails when the type has no product
    /// kernel or the bytes are not exactly those blocks.
    pub fn new(ty: GgmlType, rows: usize, cols: usize, data: Vec<u8>) -> Result<Self, QuantError> {
        if !ty.has_quantized_product() {
            return Err(QuantError::NoKernel(ty));
        }
        let values = rows.checked_mul(cols);
        let fits = values.is_some_and(|v| v > 0 && ty.bytes_for(v) == Some(data.len()))
            && cols.is_multiple_of(ty.block_len());
        if !fits {
            return Err(QuantError::Blocks {
                rows,
                cols,
                source: BlockMismatch {
                    ty,
                    bytes: data.len(),
                    values: values.unwrap_or(usize::MAX),
                    block_len: ty.block_len(),
                    block_bytes: ty.block_bytes(),
                },
            });
        }
        let per_row = cols / ty.block_len();
        let packed = packed::layout(ty).is_some() && rows.is_multiple_of(8);
        let data = if packed {
            packed::pack(ty, &data, rows, per_row)
        } else {
            data
        };
        Ok(Self {
            ty,
            rows,
            cols,
            data,
            packed,
        })
    }

    /// Quantizes `values [rows, cols]` (row-major) to `ty` as llama.cpp's reference quantizers
    /// do (`quantize_row_q8_0_ref`, `_q4_0_ref`, `_q4_1_ref`); other types are an error.
    pub fn quantize(
        ty: GgmlType,
        rows: usize,
        cols: usize,
        values: &[f32],
    ) -> Result<Self, QuantError> {
        if !cols.is_multiple_of(QK) {
            return Err(QuantError::Width {
                ty,
                cols,
                block_len: QK,
            });
        }
        if rows.checked_mul(cols) != Some(values.len()) {
            return Err(QuantError::Input {
                len: values.len(),
                m: rows,
                cols,
            });
        }
        let mut data = Vec::with_capacity(ty.bytes_for(values.len()).unwrap_or(0));
        for block in values.chunks_exact(QK) {
            match ty {
                GgmlType::Q8_0 => super::quantize::q8_0(block, &mut data),
                GgmlType::Q4_0 => super::quantize::q4_0(block, &mut data),
                GgmlType::Q4_1 => super::quantize::q4_1(block, &mut data),
                other => return Err(QuantError::CannotQuantize(other)),
            }
        }
        Self::new(ty, rows, cols, data)
    }

    /// The block type.
    pub fn ty(&self) -> GgmlType {
        self.ty
    }

    /// Output rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Values per row (the input width).
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Bytes held (the file's size of the matrix).
    pub fn byte_len(&self) -> usize {
        self.data.len()
    }

    /// Row `row`'s blocks as GGUF stores them, or `None` past the last row.
    pub fn row_blocks(&self, row: usize) -> Option<Vec<u8>> {
        let rb = self.row_bytes();
        (row < self.rows).then(|| match self.packed {
            true => packed::unpack_row(self.ty, &self.data, row, self.cols / self.ty.block_len()),
            false => self.data[row * rb..(row + 1) * rb].to_vec(),
        })
    }

    /// Every row's blocks as GGUF stores them, row-major.
    pub fn gguf_bytes(&self) -> Vec<u8> {
        (0..self.rows)
            .flat_map(|r| self.row_blocks(r).unwrap_or_default())
            .collect()
    }

    fn row_bytes(&self) -> usize {
        self.cols / self.ty.block_len() * self.ty.block_bytes()
    }

    /// Row `row` as `f32`, into `out` (`cols` values). Fails when `row` is out of range.
    pub fn dequantize_row(&self, row: usize, out: &mut [f32]) -> Result<(), QuantError> {
        let bytes = self.row_blocks(row).ok_or(QuantError::Input {
            len: row,
            m: 1,
            cols: self.rows,
        })?;
        dequantize(self.ty, &bytes, out).map_err(|source| QuantError::Blocks {
            rows: 1,
            cols: out.len(),
            source,
        })
    }

    /// The whole matrix as `f32`, row-major (rows split between threads).
    pub fn dequantize(&self) -> Vec<f32> {
        let mut out = vec![0.0; self.rows * self.cols];
        out.par_chunks_mut(self.cols)
            .enumerate()
            .for_each(|(row, out)| {
                // Rows in range; `new` checked that the bytes are these values' blocks.
                let _ = self.dequantize_row(row, out);
            });
        out
    }

    /// The same matrix with its rows reordered: row `i` of the result is row `order[i]`.
    pub fn permute_rows(&self, order: &[usize]) -> Result<Self, QuantError> {
        let mut data = Vec::with_capacity(self.data.len());
        for &row in order {
            let bytes = self.row_blocks(row).ok_or(QuantError::Input {
                len: row,
                m: order.len(),
                cols: self.rows,
            })?;
            data.extend_from_slice(&bytes);
        }
        Self::new(self.ty, order.len(), self.cols, data)
    }

    /// `x [m, cols]` (row-major) times the transposed matrix: `[m, rows]`, with the fastest
    /// kernel this CPU has.
    pub fn matmul(&self, x: &[f32], m: usize) -> Result<Vec<f32>, QuantError> {
        self.matmul_with(Kernel::best(), x, m)
    }

    /// [`matmul`](Self::matmul) with a chosen build (one the CPU lacks runs the reference).
    pub fn matmul_with(&self, kernel: Kernel, x: &[f32], m: usize) -> Result<Vec<f32>, QuantError> {
        if m.checked_mul(self.cols) != Some(x.len()) {
            return Err(QuantError::Input {
                len: x.len(),
                m,
                cols: self.cols,
            });
        }
        let mut out = vec![0.0f32; m * self.rows];
        let dot = match dot_x8(self.ty, kernel) {
            Some(f) if self.packed => Dot::X8(f),
            _ => dot(self.ty, kernel)?,
        };
        match dot {
            Dot::X8(f) => {
                let mut acts = Vec::new();
                quantize_q8(x, &mut acts);
                self.product_x8(&acts, m, f, &mut out);
            }
            Dot::Q8(f) => {
                let mut acts = Vec::new();
                quantize_q8(x, &mut acts);
                self.product(&acts, m, f, &mut out);
            }
            Dot::Q8K(f) => {
                let mut acts = Vec::new();
                quantize_q8_k(x, &mut acts);
                self.product(&acts, m, f, &mut out);
            }
        }
        Ok(out)
    }

    /// Fills `out [m, rows]` with every weight row's product with every activation row, the
    /// weight rows split between threads (each weight row read once, from cache for every
    /// activation row).
    fn product<T: Sync>(
        &self,
        acts: &[T],
        m: usize,
        dot: unsafe fn(&[u8], &[T]) -> f32,
        out: &mut [f32],
    ) {
        let (n, rb) = (self.rows, self.row_bytes());
        let per_row = acts.len() / m.max(1);
        let out = SharedOut(out.as_mut_ptr());
        self.split_rows(1, m, |range| {
            for r in range {
                // A packed matrix without an eight-row kernel (the reference build) reads its
                // rows back in GGUF's layout.
                let unpacked;
                let w = if self.packed {
                    unpacked = self.row_blocks(r).unwrap_or_default();
                    &unpacked[..]
                } else {
                    &self.data[r * rb..(r + 1) * rb]
                };
                for (i, a) in acts.chunks_exact(per_row).enumerate() {
                    // Safety: `w` and `a` are whole rows of matching blocks (checked in `new`
                    // and `matmul_with`), `dot` is a build this CPU runs (`dot()`), and each
                    // output element `i * n + r` is written by the one task that owns row `r`.
                    unsafe { out.write(i * n + r, dot(w, a)) };
                }
            }
        });
    }

    /// [`product`](Self::product) over packed groups of eight rows.
    fn product_x8(&self, acts: &[Q8Block], m: usize, dot: DotX8, out: &mut [f32]) {
        let (n, gb) = (self.rows, 8 * self.row_bytes());
        let per_row = acts.len() / m.max(1);
        let out = SharedOut(out.as_mut_ptr());
        self.split_rows(8, m, |groups| {
            let mut sums = [0.0f32; 8];
            for g in groups {
                let w = &self.data[g * gb..(g + 1) * gb];
                for (i, a) in acts.chunks_exact(per_row).enumerate() {
                    // Safety: as in `product`, for the eight rows of group `g`.
                    unsafe { dot(w, a, &mut sums) };
                    for (j, &s) in sums.iter().enumerate() {
                        unsafe { out.write(i * n + 8 * g + j, s) };
                    }
                }
            }
        });
    }

    /// Runs `work` over the `rows / unit` units of rows, on this thread when the product is
    /// small and split between threads otherwise.
    fn split_rows(&self, unit: usize, m: usize, work: impl Fn(std::ops::Range<usize>) + Sync) {
        let units = self.rows / unit;
        let threads = rayon::current_num_threads();
        // Below about 1 MiB of weight-row products a task hand-off costs more than a second
        // thread saves (decoding's projections of a small model), and a few tasks per thread
        // keep a slow one from leaving the others waiting.
        if threads == 1 || self.data.len() * m < 1 << 20 {
            work(0..units);
            return;
        }
        let chunk = units.div_ceil(4 * threads).max(1);
        (0..units.div_ceil(chunk))
            .into_par_iter()
            .for_each(|t| work(t * chunk..((t + 1) * chunk).min(units)));
    }
}

/// The output buffer written from several threads, each element by exactly one.
#[derive(Clone, Copy)]
struct SharedOut(*mut f32);

// Safety: tasks write disjoint elements (see `product`), and the buffer outlives them.
unsafe impl Send for SharedOut {}
unsafe impl Sync for SharedOut {}

impl SharedOut {
    /// Safety: `at` is in bounds and no other thread touches it.
    unsafe fn write(self, at: usize, value: f32) {
        unsafe { *self.0.add(at) = value };
    }
}
