//! Int8 matrix products for dense layers, as PyTorch's `quantize_dynamic` runs them: weights
//! quantized once, symmetric, one scale per output channel; activations quantized at every call,
//! one scale and zero point per row (asymmetric, as PyTorch's `quint8`: a row of GELU outputs,
//! nearly all positive, keeps all 8 bits); the products summed exactly in `i32`, then scaled back
//! to `f32` with the bias added.
//!
//! `y[m][n] = (Σ_k (u[m][k] - z[m]) · q_w[n][k]) · (s_x[m] · s_w[n]) + b[n]`, with the
//! activation codes `u` in `0..=254` and `Σ_k z[m] · q_w[n][k]` taken out of the sum once.
//!
//! The weights are held packed for the kernels ([`Int8Matrix`]): panels of 16 output channels,
//! four inputs of a channel side by side, the layout AVX-512 VNNI's `vpdpbusd` multiplies in one
//! instruction (64 unsigned-by-signed products into 16 sums). The AVX2 build reads the same
//! layout with `maddubs` on the codes less 127 (signed, so that no pair of products saturates;
//! why the codes stop at 254). Every build computes the same integers and the same final
//! floating-point operations, so their results are the reference's bit for bit
//! (`tests/int8_matmul.rs`).
//!
//! Asymmetric activations matter: with a symmetric scale (the row's largest magnitude to 127)
//! all-MiniLM-L6-v2's embeddings of 2,000 Rotten Tomatoes snippets fell to a cosine of 0.981 to
//! the `f32` ones at worst (6 below 0.99); with a zero point, 0.993 (none below 0.99).

mod reference;
#[cfg(target_arch = "x86_64")]
mod x86;

use rayon::prelude::*;

use super::{Kernel, QuantError};

/// Output channels per packed panel.
pub(crate) const PANEL: usize = 16;
/// Inputs packed side by side per channel (one `vpdpbusd` lane).
pub(crate) const GROUP: usize = 4;
/// Rows of activations per task, and output panels per task, when the product is split between
/// threads.
const TASK_ROWS: usize = 64;
const TASK_PANELS: usize = 4;

/// A weight matrix `[rows, cols]` (one output channel per row, as PyTorch's `Linear.weight`) in
/// int8 with a scale per row, packed for the kernels.
///
/// ```
/// use tinderbox_ops::quant::int8::Int8Matrix;
///
/// // Two output channels over 4 inputs: ones, and a ramp.
/// let w = [1.0, 1.0, 1.0, 1.0, 0.0, 1.0, 2.0, 3.0];
/// let m = Int8Matrix::quantize(2, 4, &w).unwrap();
/// let y = m.matmul(&[1.0, 2.0, 3.0, 4.0], 1, None).unwrap();
/// assert!((y[0] - 10.0).abs() < 0.1 && (y[1] - 20.0).abs() < 0.1);
/// ```
#[derive(Clone, PartialEq)]
pub struct Int8Matrix {
    rows: usize,
    cols: usize,
    /// `[panels][cols / 4 rounded up][16 channels][4 inputs]`, zeros past the matrix.
    packed: Vec<i8>,
    /// One per row, padded with zeros to whole panels (as `sums`).
    scales: Vec<f32>,
    /// `Σ_k q_w[n][k]` per row, padded to whole panels: times an activation row's zero point,
    /// what its codes add to each sum.
    sums: Vec<i32>,
}

impl std::fmt::Debug for Int8Matrix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Int8Matrix([{}, {}])", self.rows, self.cols)
    }
}

impl Int8Matrix {
    /// Quantizes `values [rows, cols]` (row-major): each row to `round(v / s)` with
    /// `s = max|v| / 127` (a row of zeros keeps scale 0). Fails on an empty shape, a length
    /// that is not `rows * cols`, or a value that is not finite.
    pub fn quantize(rows: usize, cols: usize, values: &[f32]) -> Result<Self, QuantError> {
        check_shape(rows, cols, values.len(), "f32 values")?;
        if let Some(at) = values.iter().position(|v| !v.is_finite()) {
            return Err(QuantError::NotFinite {
                row: at / cols,
                col: at % cols,
                value: values[at],
            });
        }
        let mut q = vec![0i8; values.len()];
        let mut scales = Vec::with_capacity(rows);
        for (row, out) in values.chunks_exact(cols).zip(q.chunks_exact_mut(cols)) {
            scales.push(quantize_row(row, out));
        }
        Self::from_parts(rows, cols, q, scales)
    }

    /// A matrix from its int8 values `[rows, cols]` (row-major) and one scale per row, as
    /// [`values`](Self::values) and [`scales`](Self::scales) give them back (a saved model).
    pub fn from_parts(
        rows: usize,
        cols: usize,
        values: Vec<i8>,
        mut scales: Vec<f32>,
    ) -> Result<Self, QuantError> {
        check_shape(rows, cols, values.len(), "int8 values")?;
        if scales.len() != rows {
            return Err(QuantError::Int8Shape {
                what: "scales",
                rows,
                cols,
                len: scales.len(),
            });
        }
        if let Some(row) = scales.iter().position(|s| !s.is_finite() || *s < 0.0) {
            return Err(QuantError::NotFinite {
                row,
                col: 0,
                value: scales[row],
            });
        }
        let panels = rows.div_ceil(PANEL);
        let groups = cols.div_ceil(GROUP);
        let mut packed = vec![0i8; panels * groups * PANEL * GROUP];
        let mut sums = vec![0i32; panels * PANEL];
        scales.resize(panels * PANEL, 0.0);
        for (n, row) in values.chunks_exact(cols).enumerate() {
            let (panel, lane) = (n / PANEL, n % PANEL);
            for (k, &v) in row.iter().enumerate() {
                let at = ((panel * groups + k / GROUP) * PANEL + lane) * GROUP + k % GROUP;
                packed[at] = v;
            }
            sums[n] = row.iter().map(|&v| v as i32).sum();
        }
        Ok(Self {
            rows,
            cols,
            packed,
            scales,
            sums,
        })
    }

    /// Output channels.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Inputs per channel.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// One scale per row.
    pub fn scales(&self) -> &[f32] {
        &self.scales[..self.rows]
    }

    /// The int8 values `[rows, cols]`, row-major (unpacked).
    pub fn values(&self) -> Vec<i8> {
        let groups = self.cols.div_ceil(GROUP);
        let mut out = Vec::with_capacity(self.rows * self.cols);
        for n in 0..self.rows {
            let (panel, lane) = (n / PANEL, n % PANEL);
            out.extend((0..self.cols).map(|k| {
                self.packed[((panel * groups + k / GROUP) * PANEL + lane) * GROUP + k % GROUP]
            }));
        }
        out
    }

    /// The `f32` matrix the int8 values stand for: `q · s` per row.
    pub fn dequantize(&self) -> Vec<f32> {
        let values = self.values();
        values
            .chunks_exact(self.cols)
            .zip(self.scales())
            .flat_map(|(row, &s)| row.iter().map(move |&q| q as f32 * s))
            .collect()
    }

    /// `x [m, cols]` (row-major) times the transposed matrix, plus `bias [rows]` if given:
    /// `[m, rows]`, with the fastest kernel this CPU has. A row of `x` holding an infinity or
    /// NaN gives a row of NaN, as the `f32` product would propagate them.
    pub fn matmul(
        &self,
        x: &[f32],
        m: usize,
        bias: Option<&[f32]>,
    ) -> Result<Vec<f32>, QuantError> {
        self.matmul_with(Kernel::best(), x, m, bias)
    }

    /// [`matmul`](Self::matmul) with a chosen build (one the CPU lacks runs the reference).
    pub fn matmul_with(
        &self,
        kernel: Kernel,
        x: &[f32],
        m: usize,
        bias: Option<&[f32]>,
    ) -> Result<Vec<f32>, QuantError> {
        if m.checked_mul(self.cols) != Some(x.len()) {
            return Err(QuantError::Input {
                len: x.len(),
                m,
                cols: self.cols,
            });
        }
        if let Some(b) = bias
            && b.len() != self.rows
        {
            return Err(QuantError::Int8Shape {
                what: "bias",
                rows: self.rows,
                cols: self.cols,
                len: b.len(),
            });
        }
        let kernel = if Kernel::available().contains(&kernel) {
            kernel
        } else {
            Kernel::Reference
        };
        // Padded to whole panels (as the scales and sums) so that a kernel reads 16 of each.
        let mut bias_padded = bias.map_or_else(|| vec![0.0; self.rows], <[f32]>::to_vec);
        bias_padded.resize(self.sums.len(), 0.0);
        // AVX2 multiplies the codes less 127 (signed); VNNI and the reference the codes.
        let acts = Activations::quantize(x, m, self.cols, kernel == Kernel::Avx2);
        let epilogue = Epilogue {
            scales: &self.scales,
            bias: &bias_padded,
            sums: &self.sums,
        };
        let len = m * self.rows;
        let mut out = Vec::with_capacity(len);
        self.run(kernel, &acts, &epilogue, out.as_mut_ptr());
        // Safety: `run` writes every (row, channel) of the `m x rows` output once.
        unsafe { out.set_len(len) };
        Ok(out)
    }

    /// Splits `out [m, rows]` (allocated, not yet written) into blocks of activation rows and
    /// of panels and writes each.
    fn run(&self, kernel: Kernel, acts: &Activations, epilogue: &Epilogue, out: *mut f32) {
        let m = acts.rows;
        let panels = self.sums.len() / PANEL;
        let row_blocks = m.div_ceil(TASK_ROWS);
        let panel_blocks = panels.div_ceil(TASK_PANELS);
        let out = SharedOut(out);
        let task = |t: usize| {
            let rows = (t / panel_blocks) * TASK_ROWS..((t / panel_blocks + 1) * TASK_ROWS).min(m);
            let first = (t % panel_blocks) * TASK_PANELS;
            let panels = first..(first + TASK_PANELS).min(panels);
            self.block(kernel, acts, epilogue, rows, panels, out);
        };
        // Below about 4 M products a task hand-off costs more than a second thread saves.
        let work = m * self.rows * self.cols;
        if rayon::current_num_threads() == 1 || work < 1 << 22 {
            (0..row_blocks * panel_blocks).for_each(task);
        } else {
            (0..row_blocks * panel_blocks)
                .into_par_iter()
                .for_each(task);
        }
    }

    /// The outputs of activation rows `rows` and panels `panels`, written into `out`.
    fn block(
        &self,
        kernel: Kernel,
        acts: &Activations,
        epilogue: &Epilogue,
        rows: std::ops::Range<usize>,
        panels: std::ops::Range<usize>,
        out: SharedOut,
    ) {
        let groups = self.cols.div_ceil(GROUP);
        let panel_len = groups * PANEL * GROUP;
        let mut tile = [0.0f32; reference::MAX_ROWS * 2 * PANEL];
        let (tile_rows, tile_panels) = kernel_tile(kernel);
        let mut p = panels.start;
        while p < panels.end {
            let np = tile_panels.min(panels.end - p);
            let weights = &self.packed[p * panel_len..(p + np) * panel_len];
            let channels = p * PANEL..(p + np) * PANEL;
            let width = np * PANEL;
            let valid = width.min(self.rows - channels.start);
            let mut m0 = rows.start;
            while m0 < rows.end {
                let mr = tile_rows.min(rows.end - m0);
                let t = Tile {
                    acts: &acts.values[m0 * acts.stride..(m0 + mr) * acts.stride],
                    stride: acts.stride,
                    scales: &acts.scales[m0..m0 + mr],
                    zeros: &acts.zeros[m0..m0 + mr],
                    signed: acts.signed,
                    weights,
                    groups,
                    panels: np,
                    w_scales: &epilogue.scales[channels.clone()],
                    bias: &epilogue.bias[channels.clone()],
                    sums: &epilogue.sums[channels.clone()],
                };
                run_tile(kernel, &t, &mut tile[..mr * width]);
                for r in 0..mr {
                    let src = &tile[r * width..r * width + valid];
                    // Safety: each (row, channel) of `out` belongs to one task's block.
                    unsafe { out.write_row((m0 + r) * self.rows + channels.start, src) };
                }
                m0 += mr;
            }
            p += np;
        }
    }
}

/// Rows of activations and panels the kernel of a build takes at once: as many as keep its
/// sums in registers (16 of AVX2's, 16 of AVX-512's 32).
fn kernel_tile(kernel: Kernel) -> (usize, usize) {
    match kernel {
        Kernel::Reference => (reference::MAX_ROWS, 2),
        Kernel::Avx2 => (4, 1),
        Kernel::Avx512Vnni => (8, 2),
    }
}

fn run_tile(kernel: Kernel, tile: &Tile, out: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    match kernel {
        // Safety: `kernel` is in `Kernel::available()` (checked in `matmul_with`), and `tile`
        // holds whole rows and a whole panel (built in `block`).
        Kernel::Avx2 => return unsafe { x86::avx2_tile(tile, out) },
        Kernel::Avx512Vnni => return unsafe { x86::vnni_tile(tile, out) },
        Kernel::Reference => {}
    }
    let _ = kernel;
    reference::tile(tile, out)
}

/// One kernel call: up to a kernel's rows of activations against one or two panels of 16
/// channels.
pub(crate) struct Tile<'a> {
    /// `rows x stride` activation codes (`u8` in `0..=254`, or `u - 127` as `i8` when
    /// `signed`), each row padded past `cols` with codes that stand for 0.
    pub acts: &'a [i8],
    pub stride: usize,
    pub signed: bool,
    /// One per activation row: its scale, and what to multiply the channels' weight sums by
    /// and subtract (its zero point, less 127 when `signed`).
    pub scales: &'a [f32],
    pub zeros: &'a [i32],
    /// The panels, one after the other: `groups x 16 x 4` bytes each.
    pub weights: &'a [i8],
    pub groups: usize,
    pub panels: usize,
    /// 16 per panel of each: the channels' scales, biases and weight sums.
    pub w_scales: &'a [f32],
    pub bias: &'a [f32],
    pub sums: &'a [i32],
}

impl Tile<'_> {
    pub fn rows(&self) -> usize {
        self.scales.len()
    }
}

/// The per-channel parts of the output, padded to whole panels.
struct Epilogue<'a> {
    scales: &'a [f32],
    bias: &'a [f32],
    sums: &'a [i32],
}

/// Activations quantized per row, each row padded to whole groups of four.
struct Activations {
    rows: usize,
    stride: usize,
    signed: bool,
    values: Vec<i8>,
    scales: Vec<f32>,
    zeros: Vec<i32>,
}

/// The largest activation code: 255 levels, so that the codes less 127 are signed bytes whose
/// negation is one too (AVX2's `sign` trick).
const CODES: f32 = 254.0;

impl Activations {
    /// A row holding an infinity or NaN gets the scale NaN (its outputs are NaN).
    fn quantize(x: &[f32], rows: usize, cols: usize, signed: bool) -> Self {
        let stride = cols.div_ceil(GROUP) * GROUP;
        let mut values = vec![0i8; rows * stride];
        let shift = if signed { 127 } else { 0 };
        // One row's codes into `out`; its scale and what to multiply the weight sums by.
        let one = |(row, out): (&[f32], &mut [i8])| {
            let (scale, zero) = quantize_codes(row, &mut out[..cols], shift);
            // The padding stands for 0: its code is the zero point.
            out[cols..].fill((zero - shift) as u8 as i8);
            (scale, zero - shift)
        };
        let per_row: Vec<(f32, i32)> = if rows * cols < 1 << 16 {
            x.chunks_exact(cols.max(1))
                .zip(values.chunks_exact_mut(stride))
                .map(one)
                .collect()
        } else {
            x.par_chunks_exact(cols.max(1))
                .zip(values.par_chunks_exact_mut(stride))
                .map(one)
                .collect()
        };
        let (scales, zeros) = per_row.into_iter().unzip();
        Self {
            rows,
            stride,
            signed,
            values,
            scales,
            zeros,
        }
    }
}

/// Asymmetric 8-bit codes of one activation row, PyTorch's `quint8` way: the range
/// `[min(v, 0), max(v, 0)]` onto `0..=254`, `u = round(v / s) + z` clamped; written less `shift`
/// (as bytes). Returns the scale `s` and zero point `z` (`s = 0`, `z = 0` for a row of zeros;
/// `s` NaN and codes standing for 0 for a row with a value that is not finite). Compiled for
/// AVX-512 and AVX2 too, picked at run time; plain multiplies and adds (never fused), so every
/// build rounds alike.
#[multiversion::multiversion(targets("x86_64+avx512f+avx512bw+avx512vl+avx2", "x86_64+avx2"))]
fn quantize_codes(row: &[f32], out: &mut [i8], shift: i32) -> (f32, i32) {
    // The range in 16 lanes, folded at the end: a loop the compiler keeps in vector registers.
    // `v · 0` is NaN exactly for an infinity or NaN, and a NaN stays in the lane's sum.
    let (mut lo, mut hi, mut poison) = ([0.0f32; 16], [0.0f32; 16], [0.0f32; 16]);
    let chunks = row.chunks_exact(16);
    for &v in chunks.remainder() {
        (lo[0], hi[0], poison[0]) = (lo[0].min(v), hi[0].max(v), poison[0] + v * 0.0);
    }
    for chunk in chunks {
        for i in 0..16 {
            lo[i] = lo[i].min(chunk[i]);
            hi[i] = hi[i].max(chunk[i]);
            poison[i] += chunk[i] * 0.0;
        }
    }
    if poison.iter().any(|p| p.is_nan()) {
        out.fill((-shift) as u8 as i8);
        return (f32::NAN, 0);
    }
    let lo = lo.iter().fold(0.0f32, |a, &b| a.min(b));
    let hi = hi.iter().fold(0.0f32, |a, &b| a.max(b));
    if hi == lo {
        out.fill((-shift) as u8 as i8);
        return (0.0, 0);
    }
    let scale = (hi - lo) / CODES;
    let inverse = CODES / (hi - lo);
    let zero = round(-lo * inverse).clamp(0.0, CODES);
    let shift_f = shift as f32;
    for (o, &v) in out.iter_mut().zip(row) {
        let code = (round(v * inverse) + zero).clamp(0.0, CODES) - shift_f;
        // Safety: `code` is finite (every `v` is, checked above) and within [-127, 254].
        *o = unsafe { code.to_int_unchecked::<i32>() } as u8 as i8;
    }
    (scale, zero as i32)
}

/// `v` to the nearest integer, halves to even, for |v| < 2^22: adding and removing 1.5 · 2^23,
/// in plain arithmetic that vectorises.
#[inline(always)]
fn round(v: f32) -> f32 {
    const ROUND: f32 = 12_582_912.0;
    (v + ROUND) - ROUND
}

/// Symmetric int8 of one weight row: `round(v · 127 / max|v|)` (halves to even) into `out`;
/// returns the scale `max|v| / 127` (0 for a row of zeros, whose values are all 0). The callers
/// check that every value is finite.
pub(crate) fn quantize_row(row: &[f32], out: &mut [i8]) -> f32 {
    let largest = row.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    if largest == 0.0 {
        out.fill(0);
        return 0.0;
    }
    let inverse = 127.0 / largest;
    for (o, &v) in out.iter_mut().zip(row) {
        *o = round(v * inverse).clamp(-127.0, 127.0) as i8;
    }
    largest / 127.0
}

fn check_shape(rows: usize, cols: usize, len: usize, what: &'static str) -> Result<(), QuantError> {
    if rows == 0 || cols == 0 || rows.checked_mul(cols) != Some(len) {
        return Err(QuantError::Int8Shape {
            what,
            rows,
            cols,
            len,
        });
    }
    Ok(())
}

/// The output buffer written from several threads, each element by exactly one.
#[derive(Clone, Copy)]
struct SharedOut(*mut f32);

// Safety: tasks write disjoint elements (see `block`), and the buffer outlives them.
unsafe impl Send for SharedOut {}
unsafe impl Sync for SharedOut {}

impl SharedOut {
    /// Safety: `at..at + src.len()` is in bounds and no other thread touches it.
    unsafe fn write_row(self, at: usize, src: &[f32]) {
        unsafe { std::ptr::copy_nonoverlapping(src.as_ptr(), self.0.add(at), src.len()) };
    }
}
