//! Sine and cosine position tables (Vaswani et al., 2017) as the starting values of BERT's
//! learned position embeddings.
//!
//! A masked-language model learns nothing from the context until its attention can tell near
//! positions from far ones. With BERT's `N(0, 0.02)` table every position is as unlike its
//! neighbour as any other, and a small BERT trained from scratch spends its first thousand steps
//! predicting the unigram distribution. In a sinusoidal table the dot product of two rows depends
//! only on their offset and is largest at offset 0, so neighbouring positions start similar. The
//! table stays a learned `position_embeddings` with its Hugging Face name and shape: checkpoints
//! load and save as before.

use burn::prelude::*;

/// `positions x hidden` values, row-major: column `c` of row `p` is `sin(p * w)` for even `c` and
/// `cos(p * w)` for odd `c`, with `w = 10000^(-2 floor(c / 2) / hidden)`, scaled so that the
/// root mean square of the table is `rms` (exactly, for an even `hidden`).
///
/// ```
/// let table = tinderbox_nn::transformer::sinusoidal_table(128, 256, 0.02);
/// let rms = (table.iter().map(|v| v * v).sum::<f32>() / table.len() as f32).sqrt();
/// assert!((rms - 0.02).abs() < 1e-6);
/// ```
pub fn sinusoidal_table(positions: usize, hidden: usize, rms: f64) -> Vec<f32> {
    // A sine and a cosine of one frequency square-sum to 1: a pair's mean square is 1/2.
    let scale = rms * std::f64::consts::SQRT_2;
    let mut table = Vec::with_capacity(positions * hidden);
    for p in 0..positions {
        for c in 0..hidden {
            let exponent = (2 * (c / 2)) as f64 / hidden as f64;
            let angle = p as f64 * 10_000f64.powf(-exponent);
            let wave = if c % 2 == 0 { angle.sin() } else { angle.cos() };
            table.push((wave * scale) as f32);
        }
    }
    table
}

/// [`sinusoidal_table`] as a `[positions, hidden]` tensor on `device`.
pub fn sinusoidal_positions(
    positions: usize,
    hidden: usize,
    rms: f64,
    device: &Device,
) -> Tensor<2> {
    let table = sinusoidal_table(positions, hidden, rms);
    Tensor::<1>::from_floats(table.as_slice(), device).reshape([positions, hidden])
}

/// `positions x hidden` values in which every head of width `2 * pairs` can tell any two
/// positions apart: column pair `c` (columns `2c` and `2c + 1`) holds `sin(p w)` and `cos(p w)`
/// with `w = pi (c mod pairs + 1/2) / pairs`, scaled so that the root mean square of the table is
/// `rms`. Wider tables repeat the `pairs` frequencies, every second copy negated: with an even
/// number of copies each row sums to zero, so the LayerNorm after BERT's embeddings, which
/// subtracts a row's mean, leaves the waves as they are.
///
/// Summed over one set of frequencies, `cos(w d)` is `sin(pi d) / (2 sin(pi d / (2 pairs)))`,
/// which is 0 at every whole offset `d` that is not a multiple of `2 pairs`: two rows less than
/// `2 pairs` apart are orthogonal, unlike [`sinusoidal_table`]'s, whose neighbours are nearly
/// parallel. A rotation of each pair moves a row to another offset, so a query and key
/// projection can aim a head at a fixed neighbour (see
/// [`LocalHeadsInit`](super::LocalHeadsInit)).
///
/// ```
/// let table = tinderbox_nn::transformer::fourier_table(16, 8, 4, 0.1);
/// let dot = |i: usize, j: usize| (0..8).map(|c| table[i * 8 + c] * table[j * 8 + c]).sum::<f32>();
/// assert!(dot(3, 3) > 0.07 && dot(3, 4).abs() < 1e-6 && dot(3, 10).abs() < 1e-6);
/// ```
pub fn fourier_table(positions: usize, hidden: usize, pairs: usize, rms: f64) -> Vec<f32> {
    let pairs = pairs.max(1);
    let scale = rms * std::f64::consts::SQRT_2;
    let mut table = Vec::with_capacity(positions * hidden);
    for p in 0..positions {
        for c in 0..hidden {
            let angle = p as f64 * fourier_frequency((c / 2) % pairs, pairs);
            let wave = if c % 2 == 0 { angle.sin() } else { angle.cos() };
            table.push((wave * scale * fourier_sign(c / 2, pairs)) as f32);
        }
    }
    table
}

/// The sign of column pair `pair` in [`fourier_table`]: odd copies of the frequencies are negated.
pub(crate) fn fourier_sign(pair: usize, pairs: usize) -> f64 {
    if (pair / pairs.max(1)).is_multiple_of(2) {
        1.0
    } else {
        -1.0
    }
}

/// The `k`-th of `pairs` frequencies of [`fourier_table`]: `pi (k + 1/2) / pairs`.
pub(crate) fn fourier_frequency(k: usize, pairs: usize) -> f64 {
    std::f64::consts::PI * (k as f64 + 0.5) / pairs as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dot(table: &[f32], hidden: usize, i: usize, j: usize) -> f64 {
        (0..hidden)
            .map(|c| table[i * hidden + c] as f64 * table[j * hidden + c] as f64)
            .sum()
    }

    #[test]
    fn first_rows_are_the_known_waves() {
        let s = 0.5 * std::f64::consts::SQRT_2;
        let table = sinusoidal_table(3, 4, 0.5);
        // Row 0: sin 0, cos 0 for both frequencies.
        let expected_0 = [0.0, s, 0.0, s];
        // Row 1: frequencies 1 and 10000^(-1/2) = 0.01.
        let expected_1 = [
            1f64.sin() * s,
            1f64.cos() * s,
            0.01f64.sin() * s,
            0.01f64.cos() * s,
        ];
        for (got, want) in table[..8].iter().zip(expected_0.iter().chain(&expected_1)) {
            assert!((*got as f64 - want).abs() < 1e-6, "{got} vs {want}");
        }
    }

    #[test]
    fn equals_burns_sinusoids_at_root_mean_square_one_half_sqrt_two() {
        // burn's `generate_sinusoids` (the fixed encoding of `PositionalEncoding`) computes the
        // same waves unscaled, in f32; it asserts an even width and at most `max_timescale`
        // positions, which is why the table is written here.
        let device = Default::default();
        let ours = sinusoidal_positions(60, 16, std::f64::consts::FRAC_1_SQRT_2, &device);
        let burns = burn::nn::generate_sinusoids(60, 16, 10_000, &device);
        let diff: f32 = (ours - burns).abs().max().into_scalar();
        assert!(diff < 1e-4, "max difference {diff}");
    }

    #[test]
    fn similarity_depends_on_the_offset_and_peaks_at_zero() {
        let hidden = 64;
        let table = sinusoidal_table(40, hidden, 0.02);
        for offset in 0..8 {
            let first = dot(&table, hidden, 5, 5 + offset);
            let later = dot(&table, hidden, 30, 30 + offset);
            assert!(
                (first - later).abs() < 1e-6,
                "offset {offset}: {first} vs {later}"
            );
        }
        let own = dot(&table, hidden, 10, 10);
        let near = dot(&table, hidden, 10, 11);
        let far = dot(&table, hidden, 10, 30);
        assert!(own > near && near > far, "{own} {near} {far}");
    }

    #[test]
    fn fourier_rows_are_orthogonal_below_twice_the_pairs() {
        let (hidden, pairs) = (32, 8);
        let table = fourier_table(40, hidden, pairs, 0.1);
        let rms = (table.iter().map(|v| v * v).sum::<f32>() / table.len() as f32).sqrt();
        assert!((rms - 0.1).abs() < 1e-6, "{rms}");
        let own = dot(&table, hidden, 7, 7);
        assert!((own - hidden as f64 * 0.01).abs() < 1e-5, "{own}");
        for offset in 1..2 * pairs {
            let d = dot(&table, hidden, 7, 7 + offset);
            assert!(d.abs() < 1e-5, "offset {offset}: {d}");
        }
        // Half a period of the slowest wave away every wave is at its opposite: the sum flips sign.
        let opposite = dot(&table, hidden, 7, 7 + 2 * pairs);
        assert!((opposite + own).abs() < 1e-5, "{opposite} vs {own}");
        // Two copies of the frequencies, the second negated: every row sums to zero.
        for row in table.chunks(hidden) {
            let sum: f32 = row.iter().sum();
            assert!(sum.abs() < 1e-5, "{sum}");
        }
    }

    #[test]
    fn odd_widths_and_empty_tables() {
        assert_eq!(fourier_table(3, 5, 2, 0.1).len(), 15);
        assert!(fourier_table(0, 8, 4, 0.1).is_empty());
        assert_eq!(sinusoidal_table(3, 5, 0.1).len(), 15);
        assert!(sinusoidal_table(0, 8, 0.1).is_empty());
        let device = Default::default();
        assert_eq!(sinusoidal_positions(7, 6, 0.1, &device).dims(), [7, 6]);
    }
}
