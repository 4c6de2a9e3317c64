//! The int8 tile of `reference.rs` with x86 vector instructions: AVX-512 VNNI (`vpdpbusd`:
//! 64 products of the unsigned activation codes and signed weights into 16 sums per
//! instruction) and AVX2 (`maddubs` of the weights' magnitudes with the signed codes carrying
//! the weights' signs, which cannot saturate: |w| <= 128, |a| <= 127). The same integers and the same floating-point
//! operations as the reference, in the same order: bit for bit its results.
//!
//! Safety (both entry points): the CPU has the build's features; `t` holds `t.rows()` rows of
//! `t.stride >= 4 * t.groups` activation bytes, `t.panels` panels of `t.groups * 64` weight
//! bytes, 16 scales, biases and weight sums per panel; `out` holds `t.rows() * 16 * t.panels`
//! floats; the activations are unsigned codes for VNNI and signed ones for AVX2. The AVX2 tile
//! takes one panel.

use std::arch::x86_64::*;

use super::Tile;

/// The AVX-512 VNNI tile, up to 8 rows and 2 panels.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
pub(super) unsafe fn vnni_tile(t: &Tile, out: &mut [f32]) {
    macro_rules! rows {
        ($np:literal) => {
            match t.rows() {
                8 => vnni::<8, $np>(t, out),
                7 => vnni::<7, $np>(t, out),
                6 => vnni::<6, $np>(t, out),
                5 => vnni::<5, $np>(t, out),
                4 => vnni::<4, $np>(t, out),
                3 => vnni::<3, $np>(t, out),
                2 => vnni::<2, $np>(t, out),
                1 => vnni::<1, $np>(t, out),
                _ => unreachable!("at most 8 rows per tile"),
            }
        };
    }
    unsafe {
        match t.panels {
            2 => rows!(2),
            1 => rows!(1),
            _ => unreachable!("at most 2 panels per tile"),
        }
    }
}

#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
unsafe fn vnni<const R: usize, const P: usize>(t: &Tile, out: &mut [f32]) {
    let (a, w) = (t.acts.as_ptr(), t.weights.as_ptr());
    let panel_len = t.groups * 64;
    let mut acc = [[_mm512_setzero_si512(); P]; R];
    for g in 0..t.groups {
        // Safety: group `g` of each panel and of each row are in bounds (module comment).
        unsafe {
            let mut weights = [_mm512_setzero_si512(); P];
            for (p, weights) in weights.iter_mut().enumerate() {
                *weights = _mm512_loadu_si512(w.add(p * panel_len + g * 64) as *const _);
            }
            for (r, acc) in acc.iter_mut().enumerate() {
                let four = (a.add(r * t.stride + 4 * g) as *const i32).read_unaligned();
                let four = _mm512_set1_epi32(four);
                for (acc, weights) in acc.iter_mut().zip(&weights) {
                    *acc = _mm512_dpbusd_epi32(*acc, four, *weights);
                }
            }
        }
    }
    // Safety: 16 per panel of each per-channel value, `16 * P` floats per row of `out`.
    unsafe {
        for p in 0..P {
            let at = 16 * p;
            let sums = _mm512_loadu_si512(t.sums.as_ptr().add(at) as *const _);
            let w_scales = _mm512_loadu_ps(t.w_scales.as_ptr().add(at));
            let bias = _mm512_loadu_ps(t.bias.as_ptr().add(at));
            for (r, acc) in acc.iter().enumerate() {
                let zero = _mm512_mullo_epi32(_mm512_set1_epi32(t.zeros[r]), sums);
                let exact = _mm512_cvtepi32_ps(_mm512_sub_epi32(acc[p], zero));
                let scale = _mm512_mul_ps(_mm512_set1_ps(t.scales[r]), w_scales);
                let y = _mm512_add_ps(_mm512_mul_ps(exact, scale), bias);
                _mm512_storeu_ps(out.as_mut_ptr().add(r * 16 * P + at), y);
            }
        }
    }
}

/// The AVX2 tile, up to 4 rows.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn avx2_tile(t: &Tile, out: &mut [f32]) {
    unsafe {
        match t.rows() {
            4 => avx2::<4>(t, out),
            3 => avx2::<3>(t, out),
            2 => avx2::<2>(t, out),
            1 => avx2::<1>(t, out),
            _ => unreachable!("at most 4 rows per tile"),
        }
    }
}

#[inline]
#[target_feature(enable = "avx2")]
unsafe fn avx2<const R: usize>(t: &Tile, out: &mut [f32]) {
    let (a, w) = (t.acts.as_ptr(), t.weights.as_ptr());
    let ones = _mm256_set1_epi16(1);
    let mut acc = [[_mm256_setzero_si256(); 2]; R];
    for g in 0..t.groups {
        // Safety: as in `vnni`.
        unsafe {
            let w0 = _mm256_loadu_si256(w.add(g * 64) as *const _);
            let w1 = _mm256_loadu_si256(w.add(g * 64 + 32) as *const _);
            let (m0, m1) = (_mm256_abs_epi8(w0), _mm256_abs_epi8(w1));
            for (r, acc) in acc.iter_mut().enumerate() {
                let four = (a.add(r * t.stride + 4 * g) as *const i32).read_unaligned();
                let x = _mm256_set1_epi32(four);
                let p0 = _mm256_maddubs_epi16(m0, _mm256_sign_epi8(x, w0));
                let p1 = _mm256_maddubs_epi16(m1, _mm256_sign_epi8(x, w1));
                acc[0] = _mm256_add_epi32(acc[0], _mm256_madd_epi16(p0, ones));
                acc[1] = _mm256_add_epi32(acc[1], _mm256_madd_epi16(p1, ones));
            }
        }
    }
    // Safety: as in `vnni`, in two halves of 8 channels.
    unsafe {
        for half in 0..2 {
            let sums = _mm256_loadu_si256(t.sums.as_ptr().add(8 * half) as *const _);
            let w_scales = _mm256_loadu_ps(t.w_scales.as_ptr().add(8 * half));
            let bias = _mm256_loadu_ps(t.bias.as_ptr().add(8 * half));
            for (r, acc) in acc.iter().enumerate() {
                let zero = _mm256_mullo_epi32(_mm256_set1_epi32(t.zeros[r]), sums);
                let exact = _mm256_cvtepi32_ps(_mm256_sub_epi32(acc[half], zero));
                let scale = _mm256_mul_ps(_mm256_set1_ps(t.scales[r]), w_scales);
                let y = _mm256_add_ps(_mm256_mul_ps(exact, scale), bias);
                _mm256_storeu_ps(out.as_mut_ptr().add(r * 16 + 8 * half), y);
            }
        }
    }
}
