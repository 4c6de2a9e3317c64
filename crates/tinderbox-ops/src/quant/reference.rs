//! The plain dot products of one row of weight blocks with one row of quantized activations:
//! the definition the vector kernels (`x86.rs`) are tested against. Each block's integer sum is
//! exact, and the floats are combined one block at a time, in order (a fused multiply-add per
//! block for the 32-value formats), as every kernel combines them: the kernels are tested bit
//! for bit. The arithmetic is llama.cpp's (`ggml_vec_dot_*` in `ggml-cpu/quants.c`).

use super::activation::{Q8Block, Q8KBlock};
use super::blocks::{half, scale_min};

/// The 4-bit value `v` (0..32) of a block's 16 bytes: low nibbles first, then high ones.
fn nibble(qs: &[u8], v: usize) -> i32 {
    if v < 16 {
        (qs[v] & 0x0F) as i32
    } else {
        (qs[v - 16] >> 4) as i32
    }
}

/// Q8_0 weights (`d f16 | qs[32] i8`) against Q8_0 activations.
pub(super) fn q8_0(w: &[u8], x: &[Q8Block]) -> f32 {
    let mut acc = 0.0f32;
    for (b, y) in w.chunks_exact(34).zip(x) {
        let isum: i32 = (0..32)
            .map(|v| b[2 + v] as i8 as i32 * y.qs[v] as i32)
            .sum();
        acc = (half(b, 0) * y.d).mul_add(isum as f32, acc);
    }
    acc
}

/// Q4_0 weights (`d f16 | qs[16]`, values `nibble - 8`) against Q8_0 activations.
pub(super) fn q4_0(w: &[u8], x: &[Q8Block]) -> f32 {
    let mut acc = 0.0f32;
    for (b, y) in w.chunks_exact(18).zip(x) {
        let isum: i32 = (0..32)
            .map(|v| (nibble(&b[2..18], v) - 8) * y.qs[v] as i32)
            .sum();
        acc = (half(b, 0) * y.d).mul_add(isum as f32, acc);
    }
    acc
}

/// Q4_1 weights (`d f16 | m f16 | qs[16]`, values `d * nibble + m`) against Q8_1 activations:
/// `Σ (d q + m) y = d d_y Σ q q_y + m s_y`, the minima summed apart and added last.
pub(super) fn q4_1(w: &[u8], x: &[Q8Block]) -> f32 {
    let (mut acc, mut mins) = (0.0f32, 0.0f32);
    for (b, y) in w.chunks_exact(20).zip(x) {
        let isum: i32 = (0..32).map(|v| nibble(&b[4..20], v) * y.qs[v] as i32).sum();
        acc = (half(b, 0) * y.d).mul_add(isum as f32, acc);
        mins = half(b, 2).mul_add(y.s, mins);
    }
    acc + mins
}

/// The K formats' sum `d Σ_g sc_g Σ q q_y - dmin Σ_g m_g Σ q_y` of one 256-value block, with the
/// 4- or 5-bit value `value(g, i)` of group `g`.
fn k_block(b: &[u8], y: &Q8KBlock, value: impl Fn(usize, usize) -> u8) -> f32 {
    let scales = &b[4..16];
    let (mut sumi, mut summ) = (0i32, 0i32);
    for g in 0..8 {
        let (sc, m) = scale_min(scales, g);
        let isum: i32 = (0..32)
            .map(|i| value(g, i) as i32 * y.qs[32 * g + i] as i32)
            .sum();
        sumi += sc as i32 * isum;
        summ += m as i32 * (y.bsums[2 * g] as i32 + y.bsums[2 * g + 1] as i32);
    }
    y.d * half(b, 0) * sumi as f32 - y.d * half(b, 2) * summ as f32
}

/// Q4_K weights (`d | dmin | scales[12] | qs[128]`) against Q8_K activations.
pub(super) fn q4_k(w: &[u8], x: &[Q8KBlock]) -> f32 {
    let mut sum = 0.0f32;
    for (b, y) in w.chunks_exact(144).zip(x) {
        let qs = &b[16..144];
        sum += k_block(b, y, |g, i| (qs[32 * (g / 2) + i] >> (4 * (g % 2))) & 0x0F);
    }
    sum
}

/// Q5_K weights (`d | dmin | scales[12] | qh[32] | qs[128]`) against Q8_K activations.
pub(super) fn q5_k(w: &[u8], x: &[Q8KBlock]) -> f32 {
    let mut sum = 0.0f32;
    for (b, y) in w.chunks_exact(176).zip(x) {
        let (qh, qs) = (&b[16..48], &b[48..176]);
        sum += k_block(b, y, |g, i| {
            ((qs[32 * (g / 2) + i] >> (4 * (g % 2))) & 0x0F) | ((qh[i] >> g) & 1) << 4
        });
    }
    sum
}

/// Q6_K weights (`ql[128] | qh[64] | scales[16] i8 | d f16`) against Q8_K activations.
pub(super) fn q6_k(w: &[u8], x: &[Q8KBlock]) -> f32 {
    let mut sum = 0.0f32;
    for (b, y) in w.chunks_exact(210).zip(x) {
        let (ql, qh, scales) = (&b[..128], &b[128..192], &b[192..208]);
        let mut sumi = 0i32;
        for (group, &scale) in scales.iter().enumerate() {
            let isum: i32 = (16 * group..16 * group + 16)
                .map(|e| {
                    let (h, r) = (e / 128, e % 128);
                    let low = (ql[64 * h + r % 64] >> (4 * (r / 64))) & 0x0F;
                    let high = (qh[32 * h + r % 32] >> (2 * (r / 32))) & 0x03;
                    ((low | high << 4) as i32 - 32) * y.qs[e] as i32
                })
                .sum();
            sumi += scale as i8 as i32 * isum;
        }
        sum += y.d * half(b, 208) * sumi as f32;
    }
    sum
}
