//! Inverted dropout whose mask is cheap to draw on the CPU.
//!
//! burn's `Dropout` draws every element from a ChaCha generator on one thread and then multiplies
//! twice (by the 0/1 mask, then by `1 / keep`). In a MiniLM fine-tuning step on the CPU backend
//! that was about a tenth of the time. On a CPU device the mask here comes from a counter-based
//! hash (SplitMix64) filled in parallel, already scaled, and one multiplication applies it. A GPU
//! device keeps burn's on-device generator: uploading a mask would cost more than drawing it
//! there. Either way the seed comes from burn's generator, so `device.seed(s)` makes runs
//! repeatable.

use burn::prelude::*;
use burn::tensor::{DType, Distribution, TensorData};
use multiversion::multiversion;
use rayon::prelude::*;

/// Elements per parallel task; even, so that every task starts on a whole 64-bit draw.
const CHUNK: usize = 1 << 15;

/// Zeroes each element of `x` with probability `prob` and scales the others by `1 / (1 - prob)`,
/// so that the expected value is unchanged (PyTorch's and burn's inverted dropout).
///
/// It always drops: callers decide whether the model is training. `prob <= 0` (or NaN) returns `x`
/// and `prob >= 1` returns zeros, as `torch.nn.functional.dropout` does. Gradients flow through
/// the kept elements with the same scale.
///
/// ```
/// use burn::prelude::*;
/// use tinderbox_ops::dropout;
///
/// let device = Device::default();
/// let x = Tensor::<2>::ones([4, 1000], &device);
/// let dropped = dropout(x, 0.25);
/// let kept = dropped.clone().not_equal_elem(0.0).float().mean().into_scalar::<f32>();
/// assert!((kept - 0.75).abs() < 0.03);
/// // What is kept is scaled by 1 / 0.75.
/// assert!((dropped.max().into_scalar::<f32>() - 4.0 / 3.0).abs() < 1e-6);
/// ```
pub fn dropout<const D: usize>(x: Tensor<D>, prob: f64) -> Tensor<D> {
    if prob.is_nan() || prob <= 0.0 {
        return x;
    }
    if prob >= 1.0 {
        return x.zeros_like();
    }
    let keep = 1.0 - prob;
    let device = x.device();
    if x.dtype() == DType::F32 && crate::on_host(&device) {
        let seed = draw_seed(&device);
        let mask = scaled_mask(x.shape().num_elements(), keep, seed);
        let mask = Tensor::<D>::from_data(TensorData::new(mask, x.shape()), &device);
        x * mask
    } else {
        let mask = x.random_like(Distribution::Bernoulli(keep));
        x * mask.mul_scalar(1.0 / keep)
    }
}

/// The multipliers of inverted dropout for `len` elements on a host device: `1 / (1 - prob)`
/// where kept, 0 where dropped, seeded from burn's generator as [`dropout`] is. `0 < prob < 1`.
pub(crate) fn host_multipliers(len: usize, prob: f64, device: &Device) -> Vec<f32> {
    scaled_mask(len, 1.0 - prob, draw_seed(device))
}

/// 64 bits from burn's generator for `device`, so that seeding the device seeds the masks too.
fn draw_seed(device: &Device) -> u64 {
    // Three 30-bit draws: int tensors may be 32-bit, and a bound of 2^31 can round up past
    // i32::MAX when the backend samples in floating point.
    let draws: Tensor<1, Int> =
        Tensor::random([3], Distribution::Uniform(0.0, 1_073_741_824.0), device);
    draws
        .into_data()
        .iter::<i64>()
        .fold(0u64, |acc, d| (acc << 30) ^ d as u64)
}

/// `len` values, each `1 / keep` with probability `keep` and 0 otherwise. Element `i` depends only
/// on `seed` and `i`, not on how the work is split between threads.
fn scaled_mask(len: usize, keep: f64, seed: u64) -> Vec<f32> {
    // A 32-bit draw below `threshold` keeps the element.
    let threshold = (keep * 4_294_967_296.0) as u64;
    let scale = (1.0 / keep) as f32;
    let mut mask = vec![0.0f32; len];
    mask.par_chunks_mut(CHUNK)
        .enumerate()
        .for_each(|(chunk_index, chunk)| {
            let first_draw = (chunk_index * CHUNK / 2) as u64;
            fill_pairs(chunk, seed, first_draw, threshold, scale);
        });
    mask
}

/// Element `2 i + j` of `chunk` from the low (`j = 0`) or high half of draw `first_draw + i`:
/// `scale` where that half is below `threshold`, else 0.
#[multiversion(targets("x86_64+avx512f+avx512vl+avx512dq+avx2+fma", "x86_64+avx2+fma"))]
fn fill_pairs(chunk: &mut [f32], seed: u64, first_draw: u64, threshold: u64, scale: f32) {
    let pick = |bits: u64| if bits < threshold { scale } else { 0.0 };
    // Whole pairs in a loop of its own, without a branch for an odd end, so that it vectorises.
    let (pairs, odd) = chunk.as_chunks_mut::<2>();
    for (i, pair) in pairs.iter_mut().enumerate() {
        let bits = splitmix64(seed, first_draw + i as u64);
        pair[0] = pick(bits & 0xFFFF_FFFF);
        pair[1] = pick(bits >> 32);
    }
    if let [last] = odd {
        *last = pick(splitmix64(seed, first_draw + pairs.len() as u64) & 0xFFFF_FFFF);
    }
}

/// The `index`-th output of the SplitMix64 generator started at `seed` (Steele, Lea and Flood
/// 2014): a strong 64-bit mix of a Weyl sequence, so any element can be drawn on its own.
#[inline(always)]
fn splitmix64(seed: u64, index: u64) -> u64 {
    let mut z = seed.wrapping_add(index.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn device() -> Device {
        Device::default()
    }

    #[test]
    fn drops_the_requested_fraction_and_keeps_the_mean() {
        let x = Tensor::<2>::ones([256, 1024], &device());
        for prob in [0.1, 0.5, 0.9] {
            let out = dropout(x.clone(), prob)
                .into_data()
                .try_to_vec::<f32>()
                .unwrap();
            let n = out.len() as f64;
            let dropped = out.iter().filter(|v| **v == 0.0).count() as f64 / n;
            // 262,144 Bernoulli draws: the standard error is below 0.001.
            assert!(
                (dropped - prob).abs() < 0.005,
                "p={prob}: dropped {dropped}"
            );
            let scale = (1.0 / (1.0 - prob)) as f32;
            assert!(out.iter().all(|v| *v == 0.0 || (*v - scale).abs() < 1e-6));
            let mean = out.iter().map(|v| *v as f64).sum::<f64>() / n;
            assert!((mean - 1.0).abs() < 0.03, "p={prob}: mean {mean}");
        }
    }

    #[test]
    fn neighbours_and_rows_are_independent() {
        // A weak counter hash shows up as correlated neighbours or repeated rows.
        let out = dropout(Tensor::<2>::ones([512, 512], &device()), 0.5)
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        let kept: Vec<bool> = out.iter().map(|v| *v != 0.0).collect();
        let both = kept.windows(2).filter(|w| w[0] && w[1]).count() as f64;
        let pairs = (kept.len() - 1) as f64;
        assert!((both / pairs - 0.25).abs() < 0.005, "{}", both / pairs);
        let rows: Vec<&[bool]> = kept.chunks(512).collect();
        assert!(rows.windows(2).all(|w| w[0] != w[1]));
    }

    #[test]
    fn the_device_seed_makes_masks_repeatable() {
        let device = device();
        let x = Tensor::<1>::ones([10_000], &device);
        device.seed(7);
        let first = dropout(x.clone(), 0.3).into_data();
        let other = dropout(x.clone(), 0.3).into_data();
        device.seed(7);
        let again = dropout(x, 0.3).into_data();
        assert_eq!(first, again);
        assert_ne!(first, other);
    }

    #[test]
    fn edge_probabilities() {
        let x = Tensor::<1>::from_floats([1.0, -2.0, 3.0], &device());
        let same = dropout(x.clone(), 0.0).into_data();
        assert_eq!(same, x.clone().into_data());
        assert_eq!(
            dropout(x.clone(), f64::NAN).into_data(),
            x.clone().into_data()
        );
        let zeros = dropout(x, 1.0).into_data().try_to_vec::<f32>().unwrap();
        assert_eq!(zeros, vec![0.0; 3]);
    }

    #[test]
    fn gradients_pass_through_kept_elements_only() {
        let device = device().autodiff();
        let x = Tensor::<1>::ones([4096], &device).require_grad();
        let out = dropout(x.clone(), 0.4);
        let grads = out.clone().sum().backward();
        let grad = x
            .grad(&grads)
            .unwrap()
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        let out = out.into_data().try_to_vec::<f32>().unwrap();
        // d(sum)/dx is the mask itself: the same scale where kept, zero where dropped.
        assert_eq!(grad, out);
    }

    #[test]
    fn masks_do_not_depend_on_the_split_between_threads() {
        let whole = scaled_mask(3 * CHUNK + 7, 0.5, 42);
        let short = scaled_mask(CHUNK + 3, 0.5, 42);
        assert_eq!(&whole[..CHUNK + 3], &short[..]);
    }
}
