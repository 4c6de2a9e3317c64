//! Activations quantized on the fly to 8-bit blocks, the other side of every quantized product:
//! llama.cpp's `block_q8_0`/`block_q8_1` (32 values, for the 32-value weight formats) and
//! `block_q8_K` (256 values with sums of each 16, for the K formats).
//!
//! Reference: llama.cpp's `quantize_row_q8_0`/`quantize_row_q8_1` as its x86 build runs them
//! (`ggml-cpu/arch/x86/quants.c`: scale `127 / max|x|`, rounding half to even, the scale kept
//! as `f16`) and `quantize_row_q8_K_ref` (`ggml-quants.c`: scale `-127 / x` at the largest
//! magnitude, `f32`). Doing the same keeps our integer sums equal to llama.cpp's, so that
//! greedy continuations can be compared token for token.

use half::f16;

/// Values per block of the 32-value formats.
pub const QK: usize = 32;
/// Values per block of the K formats.
pub const QK_K: usize = 256;

/// 32 activations as `d * qs[i]`; `s = d * Σ qs` is what Q4_1 weights need for their minimum.
#[derive(Debug, Clone, Copy, PartialEq)]
#[repr(C)]
pub struct Q8Block {
    /// The scale, rounded through `f16` as llama.cpp stores it.
    pub d: f32,
    /// `d * Σ qs`, rounded through `f16` (llama.cpp's `block_q8_1.s`).
    pub s: f32,
    /// The quantized values.
    pub qs: [i8; QK],
}

/// 256 activations as `d * qs[i]`, with the sum of each 16 values for the K formats' minima.
#[derive(Debug, Clone, Copy, PartialEq)]
#[repr(C)]
pub struct Q8KBlock {
    /// The scale.
    pub d: f32,
    /// The quantized values.
    pub qs: [i8; QK_K],
    /// `Σ qs[16 j..16 j + 16]`.
    pub bsums: [i16; QK_K / 16],
}

/// `x` rounded to the nearest integer, halves to even, for |x| < 2^22: llama.cpp's
/// `nearest_int` (adding 1.5 * 2^23 leaves no fraction bits), which unlike `round_ties_even`
/// compiles to plain additions on every x86-64.
fn nearest(x: f32) -> f32 {
    (x + 12_582_912.0) - 12_582_912.0
}

/// The value of largest magnitude, with its sign (0 for an empty or all-zero slice): the
/// reference quantizers map it to the end of their range.
pub(super) fn largest_magnitude(x: &[f32]) -> f32 {
    let (mut amax, mut max) = (0.0f32, 0.0f32);
    for &v in x {
        if v.abs() > amax {
            amax = v.abs();
            max = v;
        }
    }
    max
}

fn through_f16(x: f32) -> f32 {
    f16::from_f32(x).to_f32()
}

/// Quantizes `x` (a multiple of 32 values) into `out`, one block per 32 values.
pub fn quantize_q8(x: &[f32], out: &mut Vec<Q8Block>) {
    out.clear();
    out.extend(x.chunks_exact(QK).map(|chunk| {
        let max = chunk.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        let d = max / 127.0;
        let id = if max != 0.0 { 127.0 / max } else { 0.0 };
        let mut qs = [0i8; QK];
        let mut sum = 0i32;
        for (q, v) in qs.iter_mut().zip(chunk) {
            // |v * id| <= 127 up to rounding, so the clamp only guards the conversion.
            let r = nearest(v * id).clamp(-127.0, 127.0) as i32;
            *q = r as i8;
            sum += r;
        }
        Q8Block {
            d: through_f16(d),
            s: through_f16(d * sum as f32),
            qs,
        }
    }));
}

/// Quantizes `x` (a multiple of 256 values) into `out`, one block per 256 values.
pub fn quantize_q8_k(x: &[f32], out: &mut Vec<Q8KBlock>) {
    out.clear();
    out.extend(x.chunks_exact(QK_K).map(|chunk| {
        // The value of largest magnitude, with its sign, maps to -127 exactly.
        let max = largest_magnitude(chunk);
        let mut block = Q8KBlock {
            d: 0.0,
            qs: [0; QK_K],
            bsums: [0; QK_K / 16],
        };
        if max == 0.0 {
            return block;
        }
        let iscale = -127.0 / max;
        for (q, v) in block.qs.iter_mut().zip(chunk) {
            *q = (nearest(iscale * v) as i32).clamp(-128, 127) as i8;
        }
        for (sum, group) in block.bsums.iter_mut().zip(block.qs.chunks_exact(16)) {
            *sum = group.iter().map(|&q| q as i16).sum();
        }
        block.d = 1.0 / iscale;
        block
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(n: usize, seed: u32) -> Vec<f32> {
        (0..n)
            .map(|i| (((i as u32).wrapping_mul(2_654_435_761) ^ seed) % 2001) as f32 / 1000.0 - 1.0)
            .collect()
    }

    #[test]
    fn q8_blocks_round_trip_within_half_a_step() {
        let x = values(96, 7);
        let mut blocks = Vec::new();
        quantize_q8(&x, &mut blocks);
        assert_eq!(blocks.len(), 3);
        for (block, chunk) in blocks.iter().zip(x.chunks(QK)) {
            let max = chunk.iter().fold(0.0f32, |m, v| m.max(v.abs()));
            // The largest value lands on ±127; the f16 scale moves every value by < 0.1 %.
            assert!(block.qs.iter().any(|q| q.unsigned_abs() == 127));
            for (q, v) in block.qs.iter().zip(chunk) {
                assert!((*q as f32 * block.d - v).abs() <= 0.5 * max / 127.0 + 1e-3 * max);
            }
            let sum: i32 = block.qs.iter().map(|&q| q as i32).sum();
            assert!((block.s - block.d * sum as f32).abs() <= 1e-3 * block.s.abs().max(1e-3));
        }
    }

    #[test]
    fn q8_k_blocks_map_the_largest_magnitude_to_minus_127_and_sum_each_16() {
        let mut x = values(512, 3);
        x[300] = -4.0;
        let mut blocks = Vec::new();
        quantize_q8_k(&x, &mut blocks);
        assert_eq!(blocks.len(), 2);
        assert_eq!(blocks[1].qs[300 - 256], -127);
        for (block, chunk) in blocks.iter().zip(x.chunks(QK_K)) {
            for (q, v) in block.qs.iter().zip(chunk) {
                assert!((*q as f32 * block.d - v).abs() <= 0.5 * block.d.abs() * 1.0001);
            }
            for (j, sum) in block.bsums.iter().enumerate() {
                let expected: i16 = block.qs[16 * j..16 * j + 16]
                    .iter()
                    .map(|&q| q as i16)
                    .sum();
                assert_eq!(*sum, expected);
            }
        }
    }

    #[test]
    fn zero_blocks_quantize_to_zero_scales() {
        let mut q8 = Vec::new();
        quantize_q8(&[0.0; 32], &mut q8);
        assert_eq!((q8[0].d, q8[0].s, q8[0].qs), (0.0, 0.0, [0; 32]));
        let mut q8k = Vec::new();
        quantize_q8_k(&[0.0; 256], &mut q8k);
        assert_eq!(q8k[0].d, 0.0);
        assert!(q8k[0].qs.iter().all(|&q| q == 0));
    }
}
