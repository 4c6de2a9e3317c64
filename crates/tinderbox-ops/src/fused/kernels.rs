//! The arithmetic of the fused operations on plain `f32` slices, split across threads.
//!
//! Written so that the compiler vectorises every loop: `erf` and `exp` are branch-free
//! polynomials (libm's are scalar calls), and each loop body is compiled again for AVX2 and
//! AVX-512 and picked at run time (`multiversion`), as PyTorch's CPU kernels are. Plain `a * b + c`
//! rather than `mul_add`, so that every CPU computes the same bits.

use crate::adamw::{AdamWCoefficients, AdamWStep};
use multiversion::multiversion;
use rayon::prelude::*;
use std::f32::consts::FRAC_1_SQRT_2;

/// Elements per parallel task: big enough to hide rayon's cost, small enough to share 4 M.
const CHUNK: usize = 1 << 15;

/// `1 / sqrt(2 pi)`, the standard normal density at 0.
const INV_SQRT_2PI: f32 = 0.398_942_3;

/// Below this, `exp` is 0 in `f32` (the smallest normal is `exp(-87.34)`).
const EXP_LOW: f32 = -87.0;

/// The error function, from Eigen's and XLA's rational approximation on [-4, 4] (outside it,
/// `erf` is ±1 in `f32`). Absolute error below 1e-6 (tested against libm).
#[inline(always)]
pub(crate) fn erf(x: f32) -> f32 {
    let x = x.clamp(-4.0, 4.0);
    let x2 = x * x;
    let mut p = -2.726_142_3e-10_f32;
    p = p * x2 + 2.770_681_4e-8;
    p = p * x2 - 2.101_024e-6;
    p = p * x2 - 5.692_506_4e-5;
    p = p * x2 - 7.349_906_3e-4;
    p = p * x2 - 2.954_600_3e-3;
    p = p * x2 - 1.609_603_3e-2;
    let mut q = -1.456_607_2e-5_f32;
    q = q * x2 - 2.133_740_6e-4;
    q = q * x2 - 1.682_827e-3;
    q = q * x2 - 7.373_329_2e-3;
    q = q * x2 - 1.426_474e-2;
    x * p / q
}

/// `e^x` for `x <= 88` (Cephes' range reduction and polynomial, relative error about 2e-7);
/// exactly 0 below -87 and NaN for NaN.
#[inline(always)]
pub(crate) fn exp(x: f32) -> f32 {
    // Adding 1.5 * 2^23 rounds to the nearest integer without a call to `round`.
    const ROUND: f32 = 12_582_912.0;
    let xc = x.clamp(EXP_LOW, 88.0);
    let shifted = xc * std::f32::consts::LOG2_E + ROUND;
    let k = shifted - ROUND;
    // ln 2 in two parts, so that `k * ln 2` is exact enough for the reduction.
    let r = xc - k * 0.693_359_4 + k * 2.121_944_4e-4;
    let mut p = 1.987_569_1e-4_f32;
    p = p * r + 1.398_199_9e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 1.666_666_5e-1;
    p = p * r + 0.5;
    let e = p * r * r + r + 1.0;
    // `shifted`'s low mantissa bits hold `k` (|k| < 2^22): read them as an integer instead of
    // `k as i32`, whose saturating conversion the compiler can only do one lane at a time.
    let k_bits = shifted.to_bits().wrapping_sub(ROUND.to_bits());
    let two_to_k = f32::from_bits(k_bits.wrapping_add(127) << 23);
    let y = e * two_to_k;
    if x.is_nan() {
        x
    } else if x < EXP_LOW {
        0.0
    } else {
        y
    }
}

/// Partial sums (and maxima) kept apart in a reduction: one running `f32` sum has to be added in
/// order, which keeps the compiler from vectorising it. Sixteen lanes fill an AVX-512 register
/// (two AVX2 ones) and are added up in a fixed order, so every CPU gets the same bits.
const LANES: usize = 16;

/// `Σ f(a[i], b[i], c[i])` over slices of equal length, vectorised.
#[inline(always)]
fn lane_sum3(a: &[f32], b: &[f32], c: &[f32], f: impl Fn(f32, f32, f32) -> f32) -> f32 {
    let (a_blocks, a_rest) = a.as_chunks::<LANES>();
    let (b_blocks, b_rest) = b.as_chunks::<LANES>();
    let (c_blocks, c_rest) = c.as_chunks::<LANES>();
    let mut acc = [0.0_f32; LANES];
    for ((a, b), c) in a_blocks.iter().zip(b_blocks).zip(c_blocks) {
        for i in 0..LANES {
            acc[i] += f(a[i], b[i], c[i]);
        }
    }
    for (((acc, &a), &b), &c) in acc.iter_mut().zip(a_rest).zip(b_rest).zip(c_rest) {
        *acc += f(a, b, c);
    }
    acc.iter().fold(0.0, |s, &v| s + v)
}

/// `Σ f(a[i])`, vectorised.
#[inline(always)]
fn lane_sum(a: &[f32], f: impl Fn(f32) -> f32) -> f32 {
    lane_sum3(a, a, a, |v, _, _| f(v))
}

/// The largest element, vectorised; NaNs are passed over (-inf for an empty row).
#[inline(always)]
fn lane_max(a: &[f32]) -> f32 {
    let (blocks, rest) = a.as_chunks::<LANES>();
    let mut acc = [f32::NEG_INFINITY; LANES];
    for block in blocks {
        for i in 0..LANES {
            acc[i] = if block[i] > acc[i] { block[i] } else { acc[i] };
        }
    }
    for (acc, &v) in acc.iter_mut().zip(rest) {
        *acc = if v > *acc { v } else { *acc };
    }
    acc.iter()
        .fold(f32::NEG_INFINITY, |m, &v| if v > m { v } else { m })
}

/// `x Φ(x)`, GELU in its erf form (BERT's `hidden_act: "gelu"`).
#[inline(always)]
fn gelu_one(x: f32) -> f32 {
    0.5 * x * (1.0 + erf(x * FRAC_1_SQRT_2))
}

/// `Φ(x) + x φ(x)`, the derivative of GELU.
#[inline(always)]
fn gelu_slope(x: f32) -> f32 {
    let cdf = 0.5 * (1.0 + erf(x * FRAC_1_SQRT_2));
    cdf + x * INV_SQRT_2PI * exp(-0.5 * x * x)
}

/// `sqrt(2 / pi)`, the scale inside GELU's tanh approximation.
const SQRT_2_OVER_PI: f32 = 0.797_884_6;
/// The cubic coefficient of GELU's tanh approximation.
const GELU_CUBIC: f32 = 0.044_715;

/// `0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))`, GELU's tanh approximation (GPT-2's
/// `"gelu_new"`), computed as `x σ(2u)` (the same function): one vectorised `exp` where `tanh`
/// would be a libm call per element.
#[inline(always)]
fn gelu_tanh_one(x: f32) -> f32 {
    let u = SQRT_2_OVER_PI * (x + GELU_CUBIC * x * x * x);
    x / (1.0 + exp(-2.0 * u))
}

/// The derivative of [`gelu_tanh_one`]: `s + x s (1 - s) 2 sqrt(2/pi) (1 + 3 * 0.044715 x^2)`
/// with `s = σ(2u)`.
#[inline(always)]
fn gelu_tanh_slope(x: f32) -> f32 {
    let u = SQRT_2_OVER_PI * (x + GELU_CUBIC * x * x * x);
    let s = 1.0 / (1.0 + exp(-2.0 * u));
    s + x * s * (1.0 - s) * (2.0 * SQRT_2_OVER_PI) * (1.0 + 3.0 * GELU_CUBIC * x * x)
}

#[multiversion(targets("x86_64+avx512f+avx512vl+avx2+fma", "x86_64+avx2+fma"))]
fn gelu_chunk(x: &[f32], out: &mut [f32], tanh: bool) {
    if tanh {
        for (o, &v) in out.iter_mut().zip(x) {
            *o = gelu_tanh_one(v);
        }
    } else {
        for (o, &v) in out.iter_mut().zip(x) {
            *o = gelu_one(v);
        }
    }
}

#[multiversion(targets("x86_64+avx512f+avx512vl+avx2+fma", "x86_64+avx2+fma"))]
fn gelu_chunk_in_place(x: &mut [f32], tanh: bool) {
    if tanh {
        for v in x.iter_mut() {
            *v = gelu_tanh_one(*v);
        }
    } else {
        for v in x.iter_mut() {
            *v = gelu_one(*v);
        }
    }
}

#[multiversion(targets("x86_64+avx512f+avx512vl+avx2+fma", "x86_64+avx2+fma"))]
fn gelu_backward_chunk(x: &[f32], grad: &[f32], out: &mut [f32], tanh: bool) {
    if tanh {
        for ((o, &v), &g) in out.iter_mut().zip(x).zip(grad) {
            *o = g * gelu_tanh_slope(v);
        }
    } else {
        for ((o, &v), &g) in out.iter_mut().zip(x).zip(grad) {
            *o = g * gelu_slope(v);
        }
    }
}

/// GELU of every element of `x` (the tanh approximation when `tanh`, else the erf form).
pub(crate) fn gelu(x: &[f32], tanh: bool) -> Vec<f32> {
    let mut out = vec![0.0; x.len()];
    out.par_chunks_mut(CHUNK)
        .zip(x.par_chunks(CHUNK))
        .for_each(|(o, x)| gelu_chunk(x, o, tanh));
    out
}

/// GELU of every element of `x`, written over it.
pub(crate) fn gelu_in_place(x: &mut [f32], tanh: bool) {
    x.par_chunks_mut(CHUNK)
        .for_each(|x| gelu_chunk_in_place(x, tanh));
}

/// The gradient of GELU at `x` times the incoming gradient `grad`.
pub(crate) fn gelu_backward(x: &[f32], grad: &[f32], tanh: bool) -> Vec<f32> {
    let mut out = vec![0.0; x.len()];
    out.par_chunks_mut(CHUNK)
        .zip(x.par_chunks(CHUNK).zip(grad.par_chunks(CHUNK)))
        .for_each(|(o, (x, g))| gelu_backward_chunk(x, g, o, tanh));
    out
}

#[multiversion(targets("x86_64+avx512f+avx512vl+avx2+fma", "x86_64+avx2+fma"))]
fn adamw_chunk(p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], c: &AdamWCoefficients) {
    let moments = m.iter_mut().zip(v.iter_mut());
    for ((p, &g), (m, v)) in p.iter_mut().zip(g).zip(moments) {
        // burn's AdamW, operation by operation, so that the bits agree.
        *m = *m * c.beta_1 + g * c.factor_1;
        *v = *v * c.beta_2 + g * g * c.factor_2;
        let delta = (*m / c.correction_1) / ((*v / c.correction_2).sqrt() + c.epsilon);
        *p = *p * c.decay - delta * c.lr;
    }
}

/// One AdamW update over a parameter `p`, its gradient `g` and its moments `m` and `v`, all of
/// one length, in place.
pub(crate) fn adamw(p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], step: AdamWStep) {
    let c = AdamWCoefficients::new(step);
    p.par_chunks_mut(CHUNK)
        .zip(g.par_chunks(CHUNK))
        .zip(m.par_chunks_mut(CHUNK).zip(v.par_chunks_mut(CHUNK)))
        .for_each(|((p, g), (m, v))| adamw_chunk(p, g, m, v, &c));
}

/// How many elements (whole rows of `len`) one parallel task takes; never 0.
fn task_len(len: usize) -> usize {
    let len = len.max(1);
    (CHUNK / len).max(1) * len
}

#[multiversion(targets("x86_64+avx512f+avx512vl+avx2+fma", "x86_64+avx2+fma"))]
pub(crate) fn softmax_rows(x: &[f32], out: &mut [f32], len: usize) {
    for (row, o) in x.chunks_exact(len).zip(out.chunks_exact_mut(len)) {
        // A NaN is skipped here but still spreads through its own exp into the sum.
        let max = lane_max(row);
        for (o, &v) in o.iter_mut().zip(row) {
            *o = exp(v - max);
        }
        let scale = 1.0 / lane_sum(o, |e| e);
        for o in o.iter_mut() {
            *o *= scale;
        }
    }
}

#[multiversion(targets("x86_64+avx512f+avx512vl+avx2+fma", "x86_64+avx2+fma"))]
pub(crate) fn softmax_backward_rows(y: &[f32], grad: &[f32], out: &mut [f32], len: usize) {
    let rows = y.chunks_exact(len).zip(grad.chunks_exact(len));
    for ((y, g), o) in rows.zip(out.chunks_exact_mut(len)) {
        let dot = lane_sum3(y, g, g, |y, g, _| y * g);
        for ((o, &y), &g) in o.iter_mut().zip(y).zip(g) {
            *o = y * (g - dot);
        }
    }
}

/// Softmax over each run of `len` consecutive elements (the last dimension).
pub(crate) fn softmax(x: &[f32], len: usize) -> Vec<f32> {
    if len == 0 {
        return Vec::new();
    }
    let mut out = vec![0.0; x.len()];
    let step = task_len(len);
    out.par_chunks_mut(step)
        .zip(x.par_chunks(step))
        .for_each(|(o, x)| softmax_rows(x, o, len));
    out
}

/// The gradient of a last-dimension softmax with output `y`: `y * (grad - sum(grad * y))`.
pub(crate) fn softmax_backward(y: &[f32], grad: &[f32], len: usize) -> Vec<f32> {
    if len == 0 {
        return Vec::new();
    }
    let mut out = vec![0.0; y.len()];
    let step = task_len(len);
    out.par_chunks_mut(step)
        .zip(y.par_chunks(step).zip(grad.par_chunks(step)))
        .for_each(|(o, (y, g))| softmax_backward_rows(y, g, o, len));
    out
}

/// Mean and `1 / sqrt(variance + eps)` of one row (two passes: the centred variance stays
/// accurate when the mean is large).
#[inline(always)]
fn moments(row: &[f32], eps: f32) -> (f32, f32) {
    let n = row.len() as f32;
    let mean = lane_sum(row, |v| v) / n;
    let var = lane_sum(row, |v| (v - mean) * (v - mean)) / n;
    (mean, 1.0 / (var + eps).sqrt())
}

#[multiversion(targets("x86_64+avx512f+avx512vl+avx2+fma", "x86_64+avx2+fma"))]
fn layer_norm_rows(x: &[f32], gamma: &[f32], beta: &[f32], eps: f32, out: &mut [f32]) {
    let len = gamma.len();
    for (row, o) in x.chunks_exact(len).zip(out.chunks_exact_mut(len)) {
        let (mean, rstd) = moments(row, eps);
        for (((o, &v), &g), &b) in o.iter_mut().zip(row).zip(gamma).zip(beta) {
            *o = (v - mean) * rstd * g + b;
        }
    }
}

#[multiversion(targets("x86_64+avx512f+avx512vl+avx2+fma", "x86_64+avx2+fma"))]
fn layer_norm_rows_in_place(x: &mut [f32], gamma: &[f32], beta: &[f32], eps: f32) {
    for row in x.chunks_exact_mut(gamma.len()) {
        let (mean, rstd) = moments(row, eps);
        for ((v, &g), &b) in row.iter_mut().zip(gamma).zip(beta) {
            *v = (*v - mean) * rstd * g + b;
        }
    }
}

/// Gradients of one block of rows; `dgamma` and `dbeta` are added to.
#[multiversion(targets("x86_64+avx512f+avx512vl+avx2+fma", "x86_64+avx2+fma"))]
fn layer_norm_backward_rows(
    x: &[f32],
    gamma: &[f32],
    grad: &[f32],
    eps: f32,
    dx: &mut [f32],
    dgamma: &mut [f32],
    dbeta: &mut [f32],
) {
    let len = gamma.len();
    let n = len as f32;
    let rows = x.chunks_exact(len).zip(grad.chunks_exact(len));
    for ((row, g), dx) in rows.zip(dx.chunks_exact_mut(len)) {
        let (mean, rstd) = moments(row, eps);
        // With x̂ = (x - mean) rstd and gg = g γ:
        // dx = rstd (gg - mean(gg) - x̂ mean(gg x̂)).
        let xhat = |v: f32| (v - mean) * rstd;
        let mean_gg = lane_sum3(g, gamma, g, |g, w, _| g * w) / n;
        let mean_gg_xhat = lane_sum3(g, gamma, row, |g, w, v| g * w * xhat(v)) / n;
        for (((&v, &g), dg), db) in row.iter().zip(g).zip(&mut *dgamma).zip(&mut *dbeta) {
            *dg += g * xhat(v);
            *db += g;
        }
        for (((d, &v), &g), &w) in dx.iter_mut().zip(row).zip(g).zip(gamma) {
            *d = rstd * (g * w - mean_gg - xhat(v) * mean_gg_xhat);
        }
    }
}

/// Layer normalisation of each row of `gamma.len()` elements: `(x - mean) / sqrt(var + eps) * γ + β`.
pub(crate) fn layer_norm(x: &[f32], gamma: &[f32], beta: &[f32], eps: f32) -> Vec<f32> {
    if gamma.is_empty() {
        return Vec::new();
    }
    let mut out = vec![0.0; x.len()];
    let step = task_len(gamma.len());
    out.par_chunks_mut(step)
        .zip(x.par_chunks(step))
        .for_each(|(o, x)| layer_norm_rows(x, gamma, beta, eps, o));
    out
}

/// [`layer_norm`] written over `x`.
pub(crate) fn layer_norm_in_place(x: &mut [f32], gamma: &[f32], beta: &[f32], eps: f32) {
    if gamma.is_empty() {
        return;
    }
    x.par_chunks_mut(task_len(gamma.len()))
        .for_each(|x| layer_norm_rows_in_place(x, gamma, beta, eps));
}

/// The gradients of [`layer_norm`] for its input, `γ` and `β`, given the output's gradient.
pub(crate) fn layer_norm_backward(
    x: &[f32],
    gamma: &[f32],
    grad: &[f32],
    eps: f32,
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let len = gamma.len();
    if len == 0 {
        return (Vec::new(), Vec::new(), Vec::new());
    }
    let mut dx = vec![0.0; x.len()];
    let step = task_len(len);
    let (dgamma, dbeta) = dx
        .par_chunks_mut(step)
        .zip(x.par_chunks(step).zip(grad.par_chunks(step)))
        .fold(
            || (vec![0.0; len], vec![0.0; len]),
            |(mut dgamma, mut dbeta), (dx, (x, g))| {
                layer_norm_backward_rows(x, gamma, g, eps, dx, &mut dgamma, &mut dbeta);
                (dgamma, dbeta)
            },
        )
        .reduce(
            || (vec![0.0; len], vec![0.0; len]),
            |(mut ga, mut ba), (gb, bb)| {
                ga.iter_mut().zip(&gb).for_each(|(a, b)| *a += b);
                ba.iter_mut().zip(&bb).for_each(|(a, b)| *a += b);
                (ga, ba)
            },
        );
    (dx, dgamma, dbeta)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every 1/1000 from -6 to 6, and the edges.
    fn grid() -> Vec<f32> {
        let mut xs: Vec<f32> = (-6000..=6000).map(|i| i as f32 / 1000.0).collect();
        xs.extend([0.0, -0.0, 1e-30, -1e-30, 40.0, -40.0]);
        xs
    }

    #[test]
    fn erf_is_within_1e_6_of_libm() {
        for x in grid() {
            let err = (erf(x) as f64 - libm::erf(x as f64)).abs();
            assert!(err < 1e-6, "erf({x}) off by {err}");
        }
        assert!(erf(f32::NAN).is_nan());
    }

    #[test]
    fn exp_is_within_3e_7_relative_of_libm() {
        for i in -87_000..=88_000 {
            let x = i as f32 / 1000.0;
            let want = libm::exp(x as f64);
            let rel = ((exp(x) as f64 - want) / want).abs();
            assert!(rel < 3e-7, "exp({x}) off by {rel} relative");
        }
        assert_eq!(exp(-87.5), 0.0);
        assert_eq!(exp(f32::NEG_INFINITY), 0.0);
        assert!(exp(f32::NAN).is_nan());
    }

    #[test]
    fn gelu_and_its_slope_match_the_erf_formula_in_f64() {
        let xs = grid();
        let ones = vec![1.0; xs.len()];
        let ys = gelu(&xs, false);
        let slopes = gelu_backward(&xs, &ones, false);
        for ((&x, &y), &s) in xs.iter().zip(&ys).zip(&slopes) {
            let x64 = x as f64;
            let cdf = 0.5 * (1.0 + libm::erf(x64 / 2f64.sqrt()));
            let pdf = (-0.5 * x64 * x64).exp() / (2.0 * std::f64::consts::PI).sqrt();
            assert!(
                (y as f64 - x64 * cdf).abs() < 2e-6 * x64.abs().max(1.0),
                "gelu({x})"
            );
            assert!((s as f64 - (cdf + x64 * pdf)).abs() < 2e-6, "gelu'({x})");
        }
        assert!(gelu(&[f32::NAN], false)[0].is_nan());
    }

    #[test]
    fn tanh_gelu_and_its_slope_match_the_tanh_formula_in_f64() {
        let xs = grid();
        let ones = vec![1.0; xs.len()];
        let ys = gelu(&xs, true);
        let slopes = gelu_backward(&xs, &ones, true);
        for ((&x, &y), &s) in xs.iter().zip(&ys).zip(&slopes) {
            let x64 = x as f64;
            let k = (2.0 / std::f64::consts::PI).sqrt();
            let t = libm::tanh(k * (x64 + 0.044715 * x64.powi(3)));
            let want = 0.5 * x64 * (1.0 + t);
            let slope = 0.5 * (1.0 + t)
                + 0.5 * x64 * (1.0 - t * t) * k * (1.0 + 3.0 * 0.044715 * x64 * x64);
            assert!(
                (y as f64 - want).abs() < 2e-6 * x64.abs().max(1.0),
                "gelu_tanh({x})"
            );
            assert!(
                (s as f64 - slope).abs() < 2e-6,
                "gelu_tanh'({x}): {s} vs {slope}"
            );
        }
        assert!(gelu(&[f32::NAN], true)[0].is_nan());
    }

    #[test]
    fn softmax_rows_sum_to_one_and_keep_nan_and_masked_keys() {
        let len = 5;
        let x: Vec<f32> = (0..len * 7_001)
            .map(|i| ((i * 37) % 23) as f32 - 11.0)
            .collect();
        let y = softmax(&x, len);
        for (row, out) in x.chunks(len).zip(y.chunks(len)) {
            let max = row.iter().cloned().fold(f32::MIN, f32::max) as f64;
            let sum: f64 = row.iter().map(|&v| (v as f64 - max).exp()).sum();
            for (&v, &o) in row.iter().zip(out) {
                assert!((o as f64 - (v as f64 - max).exp() / sum).abs() < 1e-7);
            }
        }
        let masked = softmax(&[1.0, f32::MIN, 2.0, f32::NEG_INFINITY], 4);
        assert_eq!((masked[1], masked[3]), (0.0, 0.0));
        assert!(softmax(&[1.0, f32::NAN], 2).iter().all(|v| v.is_nan()));
    }

    #[test]
    fn lane_reductions_equal_plain_ones_at_every_length() {
        for len in [0, 1, 15, 16, 17, 64, 100] {
            let a: Vec<f32> = (0..len).map(|i| ((i * 29) % 17) as f32 - 8.5).collect();
            let b: Vec<f32> = (0..len).map(|i| 0.25 * i as f32).collect();
            let dot: f64 = a.iter().zip(&b).map(|(&a, &b)| a as f64 * b as f64).sum();
            assert!(
                (lane_sum3(&a, &b, &a, |a, b, _| a * b) as f64 - dot).abs()
                    < 1e-3 * (1.0 + dot.abs())
            );
            let sum: f64 = a.iter().map(|&v| v as f64).sum();
            assert!((lane_sum(&a, |v| v) as f64 - sum).abs() < 1e-4);
            let max = a.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
            assert_eq!(lane_max(&a), max, "length {len}");
        }
        assert_eq!(lane_max(&[f32::NAN, -3.0, f32::NAN]), -3.0);
    }

    #[test]
    fn empty_rows_give_empty_results_instead_of_a_panic() {
        assert!(softmax(&[], 0).is_empty() && softmax_backward(&[], &[], 0).is_empty());
        assert!(layer_norm(&[], &[], &[], 1e-5).is_empty());
        assert!(layer_norm_backward(&[], &[], &[], 1e-5).0.is_empty());
        assert!(gelu(&[], true).is_empty() && gelu_backward(&[], &[], false).is_empty());
    }
}
