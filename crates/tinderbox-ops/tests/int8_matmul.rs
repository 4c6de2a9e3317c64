//! Int8 dense products: every vector build equals the reference bit for bit (shapes with
//! partial panels, partial groups of four, partial tiles, threads), the reference equals the
//! product of the dequantized matrices within float rounding, quantization round-trips, and bad
//! shapes and values are errors that name them.

use tinderbox_ops::quant::int8::Int8Matrix;
use tinderbox_ops::quant::{Kernel, QuantError};

#[path = "support/rng.rs"]
mod rng;

use rng::Rng;

/// (m, rows, cols): one tile; partial panels, groups and tiles; a product big enough to be
/// split between threads.
const SHAPES: [(usize, usize, usize); 5] = [
    (1, 16, 4),
    (3, 5, 7),
    (13, 37, 70),
    (9, 48, 384),
    (150, 100, 300),
];

#[test]
fn every_vector_build_equals_the_reference_bit_for_bit() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for (m, rows, cols) in SHAPES {
        let w = Int8Matrix::quantize(rows, cols, &rng.values(rows * cols, 0.2)).unwrap();
        let centred = rng.values(m * cols, 3.0);
        // Nearly all positive, as GELU's outputs (a zero point near the bottom), with a row of
        // zeros.
        let mut skewed: Vec<f32> = centred.iter().map(|v| v.abs() - 0.1).collect();
        skewed[..cols].fill(0.0);
        let bias = rng.values(rows, 1.0);
        for (x, bias) in [
            (&centred, None),
            (&centred, Some(&bias[..])),
            (&skewed, Some(&bias[..])),
        ] {
            let want = w.matmul_with(Kernel::Reference, x, m, bias).unwrap();
            for &kernel in Kernel::available() {
                let got = w.matmul_with(kernel, x, m, bias).unwrap();
                let same = want
                    .iter()
                    .zip(&got)
                    .all(|(a, b)| a.to_bits() == b.to_bits());
                assert!(same, "{kernel:?} [{m}, {cols}] x [{rows}, {cols}]ᵀ differs");
            }
        }
    }
}

#[test]
fn extreme_weights_do_not_saturate_any_build() {
    // -128 weights and ±127 activations (codes 0 and 254, zero point 127, scale 1): the
    // largest pair sums AVX2's `maddubs` forms.
    let (rows, cols) = (16, 64);
    let values: Vec<i8> = (0..rows * cols)
        .map(|i| if i % 3 == 0 { -128 } else { 127 })
        .collect();
    let w = Int8Matrix::from_parts(rows, cols, values.clone(), vec![1.0; rows]).unwrap();
    let x: Vec<f32> = (0..2 * cols)
        .map(|i| if i % 2 == 0 { 127.0 } else { -127.0 })
        .collect();
    for &kernel in Kernel::available() {
        let y = w.matmul_with(kernel, &x, 2, None).unwrap();
        for (i, row) in x.chunks(cols).enumerate() {
            for (n, w_row) in values.chunks(cols).enumerate() {
                let exact: f32 = row.iter().zip(w_row).map(|(a, &b)| a * b as f32).sum();
                assert_eq!(y[i * rows + n], exact, "{kernel:?} row {i} channel {n}");
            }
        }
    }
}

#[test]
fn the_reference_is_the_product_of_the_dequantized_matrices() {
    let mut rng = Rng(77);
    let (m, rows, cols) = (7, 20, 96);
    let weights = rng.values(rows * cols, 0.5);
    let w = Int8Matrix::quantize(rows, cols, &weights).unwrap();
    let x = rng.values(m * cols, 2.0);
    let y = w.matmul_with(Kernel::Reference, &x, m, None).unwrap();
    let dequantized = w.dequantize();
    for (i, row) in x.chunks(cols).enumerate() {
        // The activations as the kernel rounds them: codes 0..=254 over [min(v, 0), max(v, 0)].
        let lo = row.iter().fold(0.0f32, |a, &v| a.min(v));
        let hi = row.iter().fold(0.0f32, |a, &v| a.max(v));
        let (s, inverse) = ((hi - lo) / 254.0, 254.0 / (hi - lo));
        let zero = (-lo * inverse).round_ties_even();
        let q: Vec<f32> = row
            .iter()
            .map(|v| ((v * inverse).round_ties_even() + zero).clamp(0.0, 254.0))
            .map(|u| (u - zero) * s)
            .collect();
        for (n, w_row) in dequantized.chunks(cols).enumerate() {
            let want: f64 = q
                .iter()
                .zip(w_row)
                .map(|(a, b)| *a as f64 * *b as f64)
                .sum();
            let got = y[i * rows + n] as f64;
            assert!(
                (got - want).abs() <= 1e-4 * (1.0 + want.abs()),
                "{got} vs {want}"
            );
        }
        // And the f32 product itself within int8 rounding.
        for (n, w_row) in weights.chunks(cols).enumerate() {
            let exact: f32 = row.iter().zip(w_row).map(|(a, b)| a * b).sum();
            let got = y[i * rows + n];
            assert!(
                (got - exact).abs() < 0.05 * (1.0 + exact.abs()),
                "{got} vs {exact}"
            );
        }
    }
}

#[test]
fn quantization_round_trips_and_rows_of_zeros_stay_zero() {
    let mut rng = Rng(5);
    let (rows, cols) = (18, 33);
    let mut values = rng.values(rows * cols, 4.0);
    values[cols..2 * cols].fill(0.0);
    let w = Int8Matrix::quantize(rows, cols, &values).unwrap();
    assert_eq!(w.scales()[1], 0.0);
    for (row, (a, b)) in values
        .chunks(cols)
        .zip(w.dequantize().chunks(cols))
        .enumerate()
    {
        let step = w.scales()[row];
        assert!(
            a.iter()
                .zip(b)
                .all(|(a, b)| (a - b).abs() <= 0.5 * step + 1e-6)
        );
        // Each row's largest magnitude is 127 exactly.
        let q = &w.values()[row * cols..(row + 1) * cols];
        let largest = q.iter().map(|v| v.unsigned_abs()).max().unwrap();
        assert_eq!(largest, if step == 0.0 { 0 } else { 127 });
    }
    let again = Int8Matrix::from_parts(rows, cols, w.values(), w.scales().to_vec()).unwrap();
    assert_eq!(again, w);
    let x = rng.values(cols, 1.0);
    assert_eq!(
        again.matmul(&x, 1, None).unwrap(),
        w.matmul(&x, 1, None).unwrap()
    );
}

#[test]
fn bad_shapes_and_values_are_named() {
    let err = Int8Matrix::quantize(2, 3, &[0.0; 5]).unwrap_err();
    assert!(
        err.to_string()
            .contains("int8 matrix [2, 3]: 5 f32 values do not fit"),
        "{err}"
    );
    let err = Int8Matrix::quantize(1, 2, &[1.0, f32::NAN]).unwrap_err();
    assert!(
        matches!(err, QuantError::NotFinite { row: 0, col: 1, .. }),
        "{err}"
    );
    let err = Int8Matrix::from_parts(2, 2, vec![0; 4], vec![1.0]).unwrap_err();
    assert!(err.to_string().contains("1 scales do not fit"), "{err}");
    let w = Int8Matrix::quantize(2, 4, &[1.0; 8]).unwrap();
    let err = w.matmul(&[1.0; 6], 2, None).unwrap_err();
    assert!(
        err.to_string().contains("match the matrix's 4 columns"),
        "{err}"
    );
    // A row with an infinity gives NaN, as f32 would; the other rows are untouched.
    let y = w
        .matmul(&[1.0, 2.0, 3.0, 4.0, 0.0, f32::INFINITY, 0.0, 0.0], 2, None)
        .unwrap();
    assert!(
        (y[0] - 10.0).abs() < 0.1 && y[2..].iter().all(|v| v.is_nan()),
        "{y:?}"
    );
    let err = w.matmul(&[1.0; 4], 1, Some(&[0.0; 3])).unwrap_err();
    assert!(err.to_string().contains("3 bias do not fit"), "{err}");
}
