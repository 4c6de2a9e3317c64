//! One block of each quantized format to `f32`, written as llama.cpp's `dequantize_row_*` and
//! the `gguf` package compute it: the same products and sums in the same order, so the floats
//! are the same bits. Callers pass exactly one block and an output of its length.

use half::f16;

pub(super) fn half(b: &[u8], at: usize) -> f32 {
    f16::from_le_bytes([b[at], b[at + 1]]).to_f32()
}

/// `d f16 | qs[16]`: value `j` is the low nibble of `qs[j]` (`j < 16`) or the high nibble of
/// `qs[j - 16]`, minus 8, times `d`.
pub(super) fn q4_0(b: &[u8], out: &mut [f32]) {
    let d = half(b, 0);
    let qs = &b[2..18];
    for j in 0..16 {
        out[j] = d * ((qs[j] & 0x0F) as i8 - 8) as f32;
        out[j + 16] = d * ((qs[j] >> 4) as i8 - 8) as f32;
    }
}

/// `d f16 | m f16 | qs[16]`: `d * q + m` with 4-bit `q` laid out as in [`q4_0`].
pub(super) fn q4_1(b: &[u8], out: &mut [f32]) {
    let (d, m) = (half(b, 0), half(b, 2));
    let qs = &b[4..20];
    for j in 0..16 {
        out[j] = d * (qs[j] & 0x0F) as f32 + m;
        out[j + 16] = d * (qs[j] >> 4) as f32 + m;
    }
}

/// The 5-bit value `j` of a Q5 block: its nibble as in [`q4_0`], its fifth bit bit `j` of `qh`.
fn five_bits(qh: u32, qs: &[u8], j: usize) -> u8 {
    let low = if j < 16 {
        qs[j] & 0x0F
    } else {
        qs[j - 16] >> 4
    };
    low | (((qh >> j) & 1) as u8) << 4
}

/// `d f16 | qh u32 | qs[16]`: `d * (q - 16)`.
pub(super) fn q5_0(b: &[u8], out: &mut [f32]) {
    let d = half(b, 0);
    let qh = u32::from_le_bytes([b[2], b[3], b[4], b[5]]);
    let qs = &b[6..22];
    for (j, o) in out.iter_mut().enumerate() {
        *o = d * (five_bits(qh, qs, j) as i8 - 16) as f32;
    }
}

/// `d f16 | m f16 | qh u32 | qs[16]`: `d * q + m`.
pub(super) fn q5_1(b: &[u8], out: &mut [f32]) {
    let (d, m) = (half(b, 0), half(b, 2));
    let qh = u32::from_le_bytes([b[4], b[5], b[6], b[7]]);
    let qs = &b[8..24];
    for (j, o) in out.iter_mut().enumerate() {
        *o = d * five_bits(qh, qs, j) as f32 + m;
    }
}

/// `d f16 | qs[32] i8`: `q * d`.
pub(super) fn q8_0(b: &[u8], out: &mut [f32]) {
    let d = half(b, 0);
    for (o, &q) in out.iter_mut().zip(&b[2..34]) {
        *o = q as i8 as f32 * d;
    }
}

/// The 6-bit scale and minimum of group `g` (0..8) from the 12 packed bytes of a Q4_K or Q5_K
/// block (llama.cpp's `get_scale_min_k4`).
pub(super) fn scale_min(scales: &[u8], g: usize) -> (u8, u8) {
    if g < 4 {
        (scales[g] & 0x3F, scales[g + 4] & 0x3F)
    } else {
        (
            (scales[g + 4] & 0x0F) | ((scales[g - 4] >> 2) & 0x30),
            (scales[g + 4] >> 4) | ((scales[g] >> 2) & 0x30),
        )
    }
}

/// `d f16 | dmin f16 | scales[12] | qs[128]`: 8 groups of 32; group `g`'s values are
/// `(d * sc) * q - dmin * m`, with `q` the low (even `g`) or high (odd `g`) nibbles of
/// `qs[32 * (g / 2)..][..32]`.
pub(super) fn q4_k(b: &[u8], out: &mut [f32]) {
    let (d, dmin) = (half(b, 0), half(b, 2));
    let (scales, qs) = (&b[4..16], &b[16..144]);
    for g in 0..8 {
        let (sc, m) = scale_min(scales, g);
        let (dl, ml) = (d * sc as f32, dmin * m as f32);
        let bytes = &qs[32 * (g / 2)..32 * (g / 2) + 32];
        let shift = 4 * (g % 2);
        for (o, &q) in out[32 * g..32 * g + 32].iter_mut().zip(bytes) {
            *o = dl * ((q >> shift) & 0x0F) as f32 - ml;
        }
    }
}

/// `d f16 | dmin f16 | scales[12] | qh[32] | qs[128]`: as [`q4_k`], with bit `g` of `qh[i]` as
/// the fifth bit of value `i` of group `g`.
pub(super) fn q5_k(b: &[u8], out: &mut [f32]) {
    let (d, dmin) = (half(b, 0), half(b, 2));
    let (scales, qh, qs) = (&b[4..16], &b[16..48], &b[48..176]);
    for g in 0..8 {
        let (sc, m) = scale_min(scales, g);
        let (dl, ml) = (d * sc as f32, dmin * m as f32);
        let bytes = &qs[32 * (g / 2)..32 * (g / 2) + 32];
        let shift = 4 * (g % 2);
        for i in 0..32 {
            let q = ((bytes[i] >> shift) & 0x0F) | ((qh[i] >> g) & 1) << 4;
            out[32 * g + i] = dl * q as f32 - ml;
        }
    }
}

/// `ql[128] | qh[64] | scales[16] i8 | d f16`: value `e` is `(d * scales[e / 16]) * (q - 32)`,
/// its low 4 bits from `ql[64 * (e / 128) + e % 64]` (high nibble in the second 64 of each
/// half), its high 2 bits from `qh[32 * (e / 128) + e % 32]` (shifted by 2 per 32).
pub(super) fn q6_k(b: &[u8], out: &mut [f32]) {
    let (ql, qh, scales) = (&b[..128], &b[128..192], &b[192..208]);
    let d = half(b, 208);
    for (e, o) in out.iter_mut().enumerate() {
        let (h, r) = (e / 128, e % 128);
        let low = (ql[64 * h + r % 64] >> (4 * (r / 64))) & 0x0F;
        let high = (qh[32 * h + r % 32] >> (2 * (r / 32))) & 0x03;
        let q = (low | high << 4) as i8 - 32;
        *o = (d * scales[e / 16] as i8 as f32) * q as f32;
    }
}
