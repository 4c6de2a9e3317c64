//! `f32` to weight blocks, as llama.cpp's reference quantizers write them
//! (`quantize_row_q8_0_ref`, `quantize_row_q4_0_ref`, `quantize_row_q4_1_ref` in
//! `ggml-quants.c`): for models that ship as floats (GPT-2), to run on the quantized products.
//! Each function appends one block of 32 values to `out`.

use half::f16;

use super::activation::largest_magnitude;

fn push_f16(out: &mut Vec<u8>, x: f32) {
    out.extend_from_slice(&f16::from_f32(x).to_le_bytes());
}

/// `d = max|x| / 127`, `q = round(x / d)` (half away from zero, C's `roundf`).
pub(super) fn q8_0(x: &[f32], out: &mut Vec<u8>) {
    let amax = x.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let d = amax / 127.0;
    let id = if d != 0.0 { 1.0 / d } else { 0.0 };
    push_f16(out, d);
    out.extend(x.iter().map(|v| (v * id).round() as i8 as u8));
}

/// `d = x_max / -8` at the largest magnitude, `q = min(15, trunc(x / d + 8.5))`; values `j` and
/// `j + 16` share byte `j`.
pub(super) fn q4_0(x: &[f32], out: &mut Vec<u8>) {
    let d = largest_magnitude(x) / -8.0;
    let id = if d != 0.0 { 1.0 / d } else { 0.0 };
    push_f16(out, d);
    let q = |v: f32| ((v * id + 8.5) as i8).min(15) as u8;
    out.extend((0..16).map(|j| q(x[j]) | q(x[j + 16]) << 4));
}

/// `d = (max - min) / 15`, `m = min`, `q = min(15, trunc((x - min) / d + 0.5))`.
pub(super) fn q4_1(x: &[f32], out: &mut Vec<u8>) {
    let min = x.iter().copied().fold(f32::INFINITY, f32::min);
    let max = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let d = (max - min) / 15.0;
    let id = if d != 0.0 { 1.0 / d } else { 0.0 };
    push_f16(out, d);
    push_f16(out, min);
    let q = |v: f32| (((v - min) * id + 0.5) as i8).min(15) as u8;
    out.extend((0..16).map(|j| q(x[j]) | q(x[j + 16]) << 4));
}
