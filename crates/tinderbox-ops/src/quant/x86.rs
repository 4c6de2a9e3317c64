//! The dot products of `reference.rs` with x86 vector instructions, in two builds chosen at run
//! time: AVX2 (`maddubs` then `madd` for the 8-bit products) and AVX-512 VNNI (`vpdpbusd` on
//! 256-bit registers, one instruction for the same sums). The results are the reference's bit for
//! bit: the same integer sums, combined in the same order.
//!
//! Written after llama.cpp's x86 kernels (`ggml-cpu/arch/x86/quants.c`): nibbles unpacked with
//! one shift and mask per 32 values, signed products through `sign` so that `maddubs` (unsigned
//! times signed) cannot saturate, the K formats' minima from the activations' sums of 16.
//!
//! Safety: every function reads whole blocks; callers pass `w` holding exactly as many weight
//! blocks as `x` has activation blocks (checked by `matrix.rs`) and call the build the CPU has.

use std::arch::x86_64::*;

use super::activation::{Q8Block, Q8KBlock};

macro_rules! kernels {
    ($name:ident, $features:literal, |$ax:ident, $sy:ident| $mul_sum_u8_i8:expr) => {
        pub(super) mod $name {
            use super::*;

            /// Σ of `ax[i] * sy[i]` (unsigned times signed bytes) in 8 lanes of 4 products.
            #[inline]
            #[target_feature(enable = $features)]
            fn mul_sum_us8($ax: __m256i, $sy: __m256i) -> __m256i {
                $mul_sum_u8_i8
            }

            /// Σ of `x[i] * y[i]` (signed bytes, |x| <= 127) in 8 lanes of 4 products.
            #[inline]
            #[target_feature(enable = $features)]
            fn mul_sum_i8(x: __m256i, y: __m256i) -> __m256i {
                mul_sum_us8(_mm256_sign_epi8(x, x), _mm256_sign_epi8(y, x))
            }

            #[inline]
            #[target_feature(enable = $features)]
            unsafe fn f16_at(p: *const u8) -> f32 {
                let h = unsafe { (p as *const u16).read_unaligned() };
                _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(h as i32)))
            }

            /// 16 bytes of nibbles as 32 bytes: the low nibbles, then the high ones.
            #[inline]
            #[target_feature(enable = $features)]
            unsafe fn nibbles(p: *const u8) -> __m256i {
                let raw = unsafe { _mm_loadu_si128(p as *const __m128i) };
                let both = _mm256_set_m128i(_mm_srli_epi16(raw, 4), raw);
                _mm256_and_si256(both, _mm256_set1_epi8(0x0F))
            }

            #[inline]
            #[target_feature(enable = $features)]
            unsafe fn load(p: *const u8) -> __m256i {
                unsafe { _mm256_loadu_si256(p as *const __m256i) }
            }

            // One row at a time (a matrix whose rows are not a multiple of 8): each block's
            // integer sum, then a scalar fused multiply-add, as the reference.

            #[target_feature(enable = $features)]
            pub(crate) unsafe fn q8_0(w: &[u8], x: &[Q8Block]) -> f32 {
                let mut acc = 0.0f32;
                for (i, y) in x.iter().enumerate() {
                    let b = unsafe { w.as_ptr().add(34 * i) };
                    let q = mul_sum_i8(unsafe { load(b.add(2)) }, unsafe {
                        load(y.qs.as_ptr() as *const u8)
                    });
                    acc = (unsafe { f16_at(b) } * y.d).mul_add(hsum_i32(q) as f32, acc);
                }
                acc
            }

            #[target_feature(enable = $features)]
            pub(crate) unsafe fn q4_0(w: &[u8], x: &[Q8Block]) -> f32 {
                let mut acc = 0.0f32;
                for (i, y) in x.iter().enumerate() {
                    let b = unsafe { w.as_ptr().add(18 * i) };
                    let qx = _mm256_sub_epi8(unsafe { nibbles(b.add(2)) }, _mm256_set1_epi8(8));
                    let q = mul_sum_i8(qx, unsafe { load(y.qs.as_ptr() as *const u8) });
                    acc = (unsafe { f16_at(b) } * y.d).mul_add(hsum_i32(q) as f32, acc);
                }
                acc
            }

            #[target_feature(enable = $features)]
            pub(crate) unsafe fn q4_1(w: &[u8], x: &[Q8Block]) -> f32 {
                let (mut acc, mut mins) = (0.0f32, 0.0f32);
                for (i, y) in x.iter().enumerate() {
                    let b = unsafe { w.as_ptr().add(20 * i) };
                    let q = mul_sum_us8(unsafe { nibbles(b.add(4)) }, unsafe {
                        load(y.qs.as_ptr() as *const u8)
                    });
                    acc = (unsafe { f16_at(b) } * y.d).mul_add(hsum_i32(q) as f32, acc);
                    mins = unsafe { f16_at(b.add(2)) }.mul_add(y.s, mins);
                }
                acc + mins
            }

            // Eight rows at a time, from the interleaved layout of `packed.rs`: lane `r` of
            // every register is row `r`, so each block's 8 sums, scales and minima are whole
            // registers and nothing is summed across lanes.

            /// The four bytes `at..at + 4` of a block's activations in every lane.
            #[inline]
            #[target_feature(enable = $features)]
            unsafe fn broadcast4(y: &Q8Block, at: usize) -> __m256i {
                _mm256_set1_epi32(unsafe { (y.qs.as_ptr().add(at) as *const i32).read_unaligned() })
            }

            /// Eight f16 values as f32.
            #[inline]
            #[target_feature(enable = $features)]
            unsafe fn halves8(p: *const u8) -> __m256 {
                _mm256_cvtph_ps(unsafe { _mm_loadu_si128(p as *const __m128i) })
            }

            /// The 8 rows' integer sums of one Q4 block: `qs` holds, for t in 0..4, 8 rows' bytes
            /// `4t..4t + 4` (low nibbles: values `4t..`, high nibbles: values `16 + 4t..`).
            #[inline]
            #[target_feature(enable = $features)]
            unsafe fn q4_sums_x8(qs: *const u8, y: &Q8Block, centred: bool) -> __m256i {
                let low = _mm256_set1_epi8(0x0F);
                let (mut a, mut b) = (_mm256_setzero_si256(), _mm256_setzero_si256());
                for t in 0..4 {
                    let v = unsafe { load(qs.add(32 * t)) };
                    let (mut lo, mut hi) = (
                        _mm256_and_si256(v, low),
                        _mm256_and_si256(_mm256_srli_epi16(v, 4), low),
                    );
                    let (xl, xh) = unsafe { (broadcast4(y, 4 * t), broadcast4(y, 16 + 4 * t)) };
                    if centred {
                        lo = _mm256_sub_epi8(lo, _mm256_set1_epi8(8));
                        hi = _mm256_sub_epi8(hi, _mm256_set1_epi8(8));
                        a = _mm256_add_epi32(a, mul_sum_i8(lo, xl));
                        b = _mm256_add_epi32(b, mul_sum_i8(hi, xh));
                    } else {
                        a = _mm256_add_epi32(a, mul_sum_us8(lo, xl));
                        b = _mm256_add_epi32(b, mul_sum_us8(hi, xh));
                    }
                }
                _mm256_add_epi32(a, b)
            }

            #[target_feature(enable = $features)]
            pub(crate) unsafe fn q4_0_x8(w: &[u8], x: &[Q8Block], out: &mut [f32; 8]) {
                let mut acc = _mm256_setzero_ps();
                for (i, y) in x.iter().enumerate() {
                    let p = unsafe { w.as_ptr().add(144 * i) };
                    let d = _mm256_mul_ps(unsafe { halves8(p) }, _mm256_set1_ps(y.d));
                    let sums = unsafe { q4_sums_x8(p.add(16), y, true) };
                    acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(sums), acc);
                }
                unsafe { _mm256_storeu_ps(out.as_mut_ptr(), acc) };
            }

            #[target_feature(enable = $features)]
            pub(crate) unsafe fn q4_1_x8(w: &[u8], x: &[Q8Block], out: &mut [f32; 8]) {
                let (mut acc, mut mins) = (_mm256_setzero_ps(), _mm256_setzero_ps());
                for (i, y) in x.iter().enumerate() {
                    let p = unsafe { w.as_ptr().add(160 * i) };
                    let d = _mm256_mul_ps(unsafe { halves8(p) }, _mm256_set1_ps(y.d));
                    let sums = unsafe { q4_sums_x8(p.add(32), y, false) };
                    acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(sums), acc);
                    mins =
                        _mm256_fmadd_ps(unsafe { halves8(p.add(16)) }, _mm256_set1_ps(y.s), mins);
                }
                unsafe { _mm256_storeu_ps(out.as_mut_ptr(), _mm256_add_ps(acc, mins)) };
            }

            #[target_feature(enable = $features)]
            pub(crate) unsafe fn q8_0_x8(w: &[u8], x: &[Q8Block], out: &mut [f32; 8]) {
                let mut acc = _mm256_setzero_ps();
                for (i, y) in x.iter().enumerate() {
                    let p = unsafe { w.as_ptr().add(272 * i) };
                    let d = _mm256_mul_ps(unsafe { halves8(p) }, _mm256_set1_ps(y.d));
                    let (mut a, mut b) = (_mm256_setzero_si256(), _mm256_setzero_si256());
                    for t in (0..8).step_by(2) {
                        let (v0, v1) =
                            unsafe { (load(p.add(16 + 32 * t)), load(p.add(48 + 32 * t))) };
                        a = _mm256_add_epi32(a, mul_sum_i8(v0, unsafe { broadcast4(y, 4 * t) }));
                        b = _mm256_add_epi32(
                            b,
                            mul_sum_i8(v1, unsafe { broadcast4(y, 4 * t + 4) }),
                        );
                    }
                    acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(_mm256_add_epi32(a, b)), acc);
                }
                unsafe { _mm256_storeu_ps(out.as_mut_ptr(), acc) };
            }

            /// The 8 six-bit scales and 8 six-bit minima of a Q4_K/Q5_K block (llama.cpp's
            /// `kmask` shuffle of the 12 packed bytes).
            #[inline]
            #[target_feature(enable = $features)]
            unsafe fn scales_and_mins(p: *const u8) -> ([u8; 8], [u8; 8]) {
                let mut raw = [0u8; 12];
                unsafe { std::ptr::copy_nonoverlapping(p, raw.as_mut_ptr(), 12) };
                let (mut sc, mut m) = ([0u8; 8], [0u8; 8]);
                for g in 0..4 {
                    sc[g] = raw[g] & 0x3F;
                    m[g] = raw[g + 4] & 0x3F;
                    sc[g + 4] = (raw[g + 8] & 0x0F) | ((raw[g] >> 2) & 0x30);
                    m[g + 4] = (raw[g + 8] >> 4) | ((raw[g + 4] >> 2) & 0x30);
                }
                (sc, m)
            }

            /// `Σ_g m_g (bsums[2g] + bsums[2g + 1])` for one Q8_K block.
            #[inline]
            #[target_feature(enable = $features)]
            fn min_sum(m: &[u8; 8], y: &Q8KBlock) -> i32 {
                let sums = unsafe { _mm256_loadu_si256(y.bsums.as_ptr() as *const __m256i) };
                let pairs = _mm_hadd_epi16(
                    _mm256_castsi256_si128(sums),
                    _mm256_extracti128_si256(sums, 1),
                );
                let mins =
                    _mm_cvtepu8_epi16(unsafe { _mm_loadl_epi64(m.as_ptr() as *const __m128i) });
                let prod = _mm_madd_epi16(mins, pairs);
                let prod = _mm_add_epi32(prod, _mm_shuffle_epi32(prod, 0b01_00_11_10));
                let prod = _mm_add_epi32(prod, _mm_shuffle_epi32(prod, 0b10_11_00_01));
                _mm_cvtsi128_si32(prod)
            }

            #[inline]
            #[target_feature(enable = $features)]
            fn hsum_i32(x: __m256i) -> i32 {
                let r = _mm_add_epi32(_mm256_castsi256_si128(x), _mm256_extracti128_si256(x, 1));
                let r = _mm_add_epi32(r, _mm_shuffle_epi32(r, 0b01_00_11_10));
                let r = _mm_add_epi32(r, _mm_shuffle_epi32(r, 0b10_11_00_01));
                _mm_cvtsi128_si32(r)
            }

            /// `scale * Σ q q_y` over 32 values in 8 lanes (`q` at most 6 bits: `maddubs`
            /// cannot saturate).
            #[inline]
            #[target_feature(enable = $features)]
            fn scaled(q: __m256i, y: __m256i, scale: __m256i) -> __m256i {
                _mm256_madd_epi16(_mm256_maddubs_epi16(q, y), scale)
            }

            /// `Σ_g sc_g Σ q q_y` of one Q4_K/Q5_K block in 8 lanes: `qs` the 128 nibble bytes,
            /// `qh` the 32 bytes of fifth bits (Q5_K; bit `g` of byte `i` for value `i` of
            /// group `g`).
            #[inline]
            #[target_feature(enable = $features)]
            unsafe fn k_sums(
                qs: *const u8,
                qh: Option<__m256i>,
                y: &Q8KBlock,
                sc: &[u8; 8],
            ) -> __m256i {
                let low = _mm256_set1_epi8(0x0F);
                // Bit g of each qh byte, moved to bit 4: the fifth bit of group g.
                let fifth = |g: usize| match qh {
                    Some(high) => {
                        let mask = _mm256_set1_epi8(1 << g);
                        let bit = _mm256_cmpeq_epi8(_mm256_and_si256(high, mask), mask);
                        _mm256_and_si256(bit, _mm256_set1_epi8(16))
                    }
                    None => _mm256_setzero_si256(),
                };
                let mut sumi = _mm256_setzero_si256();
                for j in 0..4 {
                    let bits = unsafe { load(qs.add(32 * j)) };
                    let y0 = unsafe { load(y.qs.as_ptr().add(64 * j) as *const u8) };
                    let y1 = unsafe { load(y.qs.as_ptr().add(64 * j + 32) as *const u8) };
                    let q0 = _mm256_or_si256(_mm256_and_si256(bits, low), fifth(2 * j));
                    let q1 = _mm256_or_si256(
                        _mm256_and_si256(_mm256_srli_epi16(bits, 4), low),
                        fifth(2 * j + 1),
                    );
                    sumi =
                        _mm256_add_epi32(sumi, scaled(q0, y0, _mm256_set1_epi16(sc[2 * j] as i16)));
                    sumi = _mm256_add_epi32(
                        sumi,
                        scaled(q1, y1, _mm256_set1_epi16(sc[2 * j + 1] as i16)),
                    );
                }
                sumi
            }

            #[target_feature(enable = $features)]
            pub(crate) unsafe fn q4_k(w: &[u8], x: &[Q8KBlock]) -> f32 {
                let mut acc = 0.0f32;
                for (i, y) in x.iter().enumerate() {
                    let b = unsafe { w.as_ptr().add(144 * i) };
                    let (sc, m) = unsafe { scales_and_mins(b.add(4)) };
                    let sumi = unsafe { k_sums(b.add(16), None, y, &sc) };
                    let (d, dmin) = unsafe { (f16_at(b), f16_at(b.add(2))) };
                    acc += y.d * d * hsum_i32(sumi) as f32 - y.d * dmin * min_sum(&m, y) as f32;
                }
                acc
            }

            #[target_feature(enable = $features)]
            pub(crate) unsafe fn q5_k(w: &[u8], x: &[Q8KBlock]) -> f32 {
                let mut acc = 0.0f32;
                for (i, y) in x.iter().enumerate() {
                    let b = unsafe { w.as_ptr().add(176 * i) };
                    let (sc, m) = unsafe { scales_and_mins(b.add(4)) };
                    let high = unsafe { load(b.add(16)) };
                    let sumi = unsafe { k_sums(b.add(48), Some(high), y, &sc) };
                    let (d, dmin) = unsafe { (f16_at(b), f16_at(b.add(2))) };
                    acc += y.d * d * hsum_i32(sumi) as f32 - y.d * dmin * min_sum(&m, y) as f32;
                }
                acc
            }

            #[target_feature(enable = $features)]
            pub(crate) unsafe fn q6_k(w: &[u8], x: &[Q8KBlock]) -> f32 {
                let low = _mm256_set1_epi8(0x0F);
                let two = _mm256_set1_epi8(0x03);
                let offset = _mm256_set1_epi8(32);
                let mut acc = 0.0f32;
                for (i, y) in x.iter().enumerate() {
                    let b = unsafe { w.as_ptr().add(210 * i) };
                    let scales = unsafe { std::slice::from_raw_parts(b.add(192), 16) };
                    let mut sumi = _mm256_setzero_si256();
                    for h in 0..2 {
                        let qh = unsafe { load(b.add(128 + 32 * h)) };
                        let ql0 = unsafe { load(b.add(64 * h)) };
                        let ql1 = unsafe { load(b.add(64 * h + 32)) };
                        let lows = [
                            _mm256_and_si256(ql0, low),
                            _mm256_and_si256(ql1, low),
                            _mm256_and_si256(_mm256_srli_epi16(ql0, 4), low),
                            _mm256_and_si256(_mm256_srli_epi16(ql1, 4), low),
                        ];
                        let highs = [
                            _mm256_slli_epi16(_mm256_and_si256(qh, two), 4),
                            _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2), two), 4),
                            _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 4), two), 4),
                            _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 6), two), 4),
                        ];
                        for k in 0..4 {
                            let e = 128 * h + 32 * k;
                            let q = _mm256_or_si256(lows[k], highs[k]);
                            let yk = unsafe { load(y.qs.as_ptr().add(e) as *const u8) };
                            // (q - 32) y as q y - 32 y: maddubs wants its first input unsigned.
                            let p = _mm256_sub_epi16(
                                _mm256_maddubs_epi16(q, yk),
                                _mm256_maddubs_epi16(offset, yk),
                            );
                            let (s0, s1) = (scales[e / 16] as i8, scales[e / 16 + 1] as i8);
                            let scale = _mm256_set_m128i(
                                _mm_set1_epi16(s1 as i16),
                                _mm_set1_epi16(s0 as i16),
                            );
                            sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(p, scale));
                        }
                    }
                    acc += y.d * unsafe { f16_at(b.add(208)) } * hsum_i32(sumi) as f32;
                }
                acc
            }
        }
    };
}

kernels!(avx2, "avx2,fma,f16c", |ax, sy| {
    _mm256_madd_epi16(_mm256_maddubs_epi16(ax, sy), _mm256_set1_epi16(1))
});

kernels!(
    avx512_vnni,
    "avx2,fma,f16c,avx512f,avx512vl,avx512vnni",
    |ax, sy| _mm256_dpbusd_epi32(_mm256_setzero_si256(), ax, sy)
);
