//! Products on quantized blocks: every vector build equals the reference bit for bit, the
//! reference equals the dequantized product within float rounding, and bad shapes and types are
//! errors that name them.

use half::f16;
use tinderbox_ops::quant::activation::{Q8Block, quantize_q8, quantize_q8_k};
use tinderbox_ops::quant::{GgmlType, Kernel, QuantError, QuantizedMatrix, dequantize};

const TYPES: [GgmlType; 6] = [
    GgmlType::Q8_0,
    GgmlType::Q4_0,
    GgmlType::Q4_1,
    GgmlType::Q4_K,
    GgmlType::Q5_K,
    GgmlType::Q6_K,
];

#[path = "support/rng.rs"]
mod rng;

use rng::Rng;

/// A random `[rows, cols]` matrix of `ty`: floats quantized for the 32-value types, random bits
/// with small positive super-scales for the K types (every bit pattern of the rest is valid).
fn random_matrix(ty: GgmlType, rows: usize, cols: usize, rng: &mut Rng) -> QuantizedMatrix {
    if ty.block_len() == 32 {
        let values: Vec<f32> = (0..rows * cols).map(|_| rng.uniform()).collect();
        return QuantizedMatrix::quantize(ty, rows, cols, &values).unwrap();
    }
    let mut data: Vec<u8> = (0..ty.bytes_for(rows * cols).unwrap())
        .map(|_| rng.next() as u8)
        .collect();
    let scale_at: &[usize] = match ty {
        GgmlType::Q6_K => &[208],
        _ => &[0, 2],
    };
    for block in data.chunks_exact_mut(ty.block_bytes()) {
        for &at in scale_at {
            let d = f16::from_f32(0.001 + 0.01 * rng.uniform().abs());
            block[at..at + 2].copy_from_slice(&d.to_le_bytes());
        }
    }
    QuantizedMatrix::new(ty, rows, cols, data).unwrap()
}

fn inputs(m: usize, cols: usize, rng: &mut Rng) -> Vec<f32> {
    (0..m * cols).map(|_| 3.0 * rng.uniform()).collect()
}

#[test]
fn every_vector_build_equals_the_reference_bit_for_bit() {
    let kernels = Kernel::available();
    eprintln!("builds on this CPU: {kernels:?}");
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    // 37 rows run one at a time; 40 rows eight at a time from the packed layout (Q4_0, Q4_1,
    // Q8_0), with enough work to be split between threads.
    for (rows, cols) in [(37, 512), (40, 512), (400, 1024)] {
        for ty in TYPES {
            let w = random_matrix(ty, rows, cols, &mut rng);
            let x = inputs(3, cols, &mut rng);
            let reference = w.matmul_with(Kernel::Reference, &x, 3).unwrap();
            for &kernel in &kernels[1..] {
                let ours = w.matmul_with(kernel, &x, 3).unwrap();
                let differ = ours
                    .iter()
                    .zip(&reference)
                    .filter(|(a, b)| a.to_bits() != b.to_bits())
                    .count();
                assert_eq!(
                    differ, 0,
                    "{ty:?} {kernel:?} [{rows}, {cols}]: {differ} outputs differ"
                );
            }
        }
    }
}

/// The activations as the product sees them (quantized, then expanded), and `Σ |s|` of the
/// 32-value blocks: Q4_1 takes each block's sum from `s`, rounded through f16 (relative 2^-11).
fn seen_activations(ty: GgmlType, x: &[f32]) -> (Vec<f32>, f64) {
    if ty.block_len() == 32 {
        let mut blocks: Vec<Q8Block> = Vec::new();
        quantize_q8(x, &mut blocks);
        let values = blocks
            .iter()
            .flat_map(|b| b.qs.iter().map(move |&q| q as f32 * b.d))
            .collect();
        (values, blocks.iter().map(|b| b.s.abs() as f64).sum())
    } else {
        let mut blocks = Vec::new();
        quantize_q8_k(x, &mut blocks);
        let values = blocks
            .iter()
            .flat_map(|b| b.qs.iter().map(move |&q| q as f32 * b.d))
            .collect();
        (values, 0.0)
    }
}

#[test]
fn the_reference_is_the_dequantized_product_up_to_float_rounding() {
    let mut rng = Rng(42);
    for ty in TYPES {
        let (rows, cols) = (5, 768);
        let w = random_matrix(ty, rows, cols, &mut rng);
        let x = inputs(2, cols, &mut rng);
        let ours = w.matmul_with(Kernel::Reference, &x, 2).unwrap();
        let weights = w.dequantize();
        for i in 0..2 {
            let (seen, sums) = seen_activations(ty, &x[i * cols..(i + 1) * cols]);
            let exact = &x[i * cols..(i + 1) * cols];
            for r in 0..rows {
                let row = &weights[r * cols..(r + 1) * cols];
                let dot = |a: &[f32]| -> (f64, f64) {
                    row.iter().zip(a).fold((0.0, 0.0), |(s, m), (&w, &a)| {
                        (s + w as f64 * a as f64, m + (w as f64 * a as f64).abs())
                    })
                };
                let (expected, magnitude) = dot(&seen);
                let got = ours[i * rows + r] as f64;
                // Only f32 sums separate them, and for Q4_1 the f16 rounding of each block's
                // sum `s` (times the block's minimum, at most the largest weight).
                let largest = row.iter().fold(0.0f64, |m, w| m.max(w.abs() as f64));
                let slack = if ty == GgmlType::Q4_1 {
                    1e-3 * sums * largest
                } else {
                    0.0
                };
                assert!(
                    (got - expected).abs() <= 1e-5 * magnitude + 1e-4 + slack,
                    "{ty:?} row {r}: {got} vs {expected} (magnitude {magnitude})"
                );
                // And 8-bit activations cost under 2 % of the magnitude against exact floats.
                let (float, _) = dot(exact);
                assert!(
                    (got - float).abs() <= 0.02 * magnitude,
                    "{ty:?}: {got} vs {float}"
                );
            }
        }
    }
}

#[test]
fn rows_split_between_threads_equal_each_row_alone() {
    let mut rng = Rng(7);
    let w = random_matrix(GgmlType::Q4_1, 4000, 256, &mut rng);
    let x = inputs(4, 256, &mut rng);
    let together = w.matmul(&x, 4).unwrap();
    for i in 0..4 {
        let alone = w.matmul(&x[i * 256..(i + 1) * 256], 1).unwrap();
        assert_eq!(alone, together[i * 4000..(i + 1) * 4000]);
    }
}

#[test]
fn quantizers_round_trip_within_half_a_step() {
    let mut rng = Rng(3);
    let values: Vec<f32> = (0..4 * 64).map(|_| rng.uniform()).collect();
    // The largest error as a fraction of a block's largest magnitude: half a step of 127 for
    // Q8_0; Q4_0 spans -8..7 steps of max/8, so the side opposite the largest value loses up
    // to a whole step; Q4_1 half a step of (max - min) / 15.
    for (ty, fraction) in [
        (GgmlType::Q8_0, 0.5 / 127.0),
        (GgmlType::Q4_0, 1.0 / 8.0),
        (GgmlType::Q4_1, 1.0 / 15.0),
    ] {
        let w = QuantizedMatrix::quantize(ty, 4, 64, &values).unwrap();
        assert_eq!(w.byte_len(), ty.bytes_for(256).unwrap());
        let back = w.dequantize();
        for (block, restored) in values.chunks(32).zip(back.chunks(32)) {
            let amax = block.iter().fold(0.0f32, |m, v| m.max(v.abs()));
            for (v, r) in block.iter().zip(restored) {
                // Plus the f16 rounding of the scale (and of Q4_1's minimum).
                assert!(
                    (v - r).abs() <= fraction * amax + 2e-3,
                    "{ty:?}: {v} -> {r}"
                );
            }
        }
    }
}

#[test]
fn dequantized_rows_and_permuted_rows_agree_with_the_whole() {
    let mut rng = Rng(11);
    // Q6_K rows as GGUF has them, Q4_1 rows interleaved eight at a time.
    for (ty, rows) in [(GgmlType::Q6_K, 4), (GgmlType::Q4_1, 16)] {
        let cols = 256;
        let w = random_matrix(ty, rows, cols, &mut rng);
        let whole = w.dequantize();
        let order: Vec<usize> = (0..rows).rev().collect();
        let permuted = w.permute_rows(&order).unwrap();
        let mut row = vec![0.0; cols];
        for (i, &from) in order.iter().enumerate() {
            permuted.dequantize_row(i, &mut row).unwrap();
            assert_eq!(row, whole[from * cols..(from + 1) * cols], "{ty:?}");
        }
        let rb = ty.bytes_for(cols).unwrap();
        let mut direct = vec![0.0; cols];
        dequantize(ty, &w.gguf_bytes()[rb..2 * rb], &mut direct).unwrap();
        assert_eq!(direct, whole[cols..2 * cols], "{ty:?}");
        assert_eq!(w.gguf_bytes().len(), w.byte_len());
        assert!(w.dequantize_row(rows, &mut row).is_err());
        assert!(w.permute_rows(&[0, rows + 5]).is_err());
    }
}

#[test]
fn bad_types_and_shapes_are_errors_that_name_them() {
    let err = QuantizedMatrix::new(GgmlType::Q5_0, 1, 32, vec![0; 22]).unwrap_err();
    assert_eq!(err, QuantError::NoKernel(GgmlType::Q5_0));
    assert!(
        err.to_string()
            .contains("Q5_0 weights have no quantized product"),
        "{err}"
    );
    let err = QuantizedMatrix::new(GgmlType::Q4_0, 2, 32, vec![0; 18]).unwrap_err();
    assert!(
        err.to_string()
            .contains("a [2, 32] matrix: Q4_0: 18 bytes for 64 values"),
        "{err}"
    );
    let err = QuantizedMatrix::new(GgmlType::Q4_K, 1, 32, vec![0; 18]).unwrap_err();
    assert!(matches!(err, QuantError::Blocks { .. }), "{err}");
    let err = QuantizedMatrix::quantize(GgmlType::Q4_K, 1, 256, &[0.0; 256]).unwrap_err();
    assert!(
        err.to_string()
            .contains("quantizing f32 to Q4_K is not supported"),
        "{err}"
    );
    let w = QuantizedMatrix::quantize(GgmlType::Q8_0, 1, 32, &[1.0; 32]).unwrap();
    let err = w.matmul(&[1.0; 31], 1).unwrap_err();
    assert!(
        err.to_string().contains("input of 31 values for 1 rows"),
        "{err}"
    );
}
