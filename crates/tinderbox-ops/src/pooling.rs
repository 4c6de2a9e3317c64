//! Pooling hidden states `[B, L, H]` over the positions that are not padding.
//!
//! The padding mask follows burn's convention: `mask_pad [B, L]` is true at padding.

use burn::prelude::*;

fn keep_weights(mask_pad: Tensor<2, Bool>) -> Tensor<3> {
    mask_pad.bool_not().float().unsqueeze_dim(2)
}

/// The mean over real positions `[B, H]`; a row that is all padding gives zeros.
///
/// ```
/// use burn::prelude::*;
/// use tinderbox_ops::masked_mean;
///
/// let device = Device::default();
/// let hidden = Tensor::<3>::from_floats([[[1.0], [3.0], [100.0]]], &device);
/// let pad = Tensor::<2, Bool>::from_data([[false, false, true]], &device);
/// let mean: Vec<f32> = masked_mean(hidden, pad).into_data().try_to_vec().unwrap();
/// assert_eq!(mean, vec![2.0]);
/// ```
pub fn masked_mean(hidden: Tensor<3>, mask_pad: Tensor<2, Bool>) -> Tensor<2> {
    let keep = keep_weights(mask_pad);
    let total: Tensor<2> = (hidden * keep.clone()).sum_dim(1).squeeze_dim(1);
    let count: Tensor<2> = keep.sum_dim(1).squeeze_dim(1).clamp_min(1.0);
    total / count
}

/// The maximum over real positions `[B, H]`; a row that is all padding gives the minimum of
/// the `f32` range.
pub fn masked_max(hidden: Tensor<3>, mask_pad: Tensor<2, Bool>) -> Tensor<2> {
    let [_, _, h] = hidden.dims();
    let mask = mask_pad.unsqueeze_dim::<3>(2).repeat_dim(2, h);
    hidden.mask_fill(mask, f32::MIN).max_dim(1).squeeze_dim(1)
}

/// The index of the last real position of each row `[B]` (0 for an all-padding row): the end of
/// a right-padded sequence, the final position of a left-padded one.
pub fn last_positions(mask_pad: Tensor<2, Bool>) -> Tensor<1, Int> {
    let [b, l] = mask_pad.dims();
    let device = mask_pad.device();
    let positions = Tensor::<1, Int>::arange(0..l as i64, &device)
        .unsqueeze::<2>()
        .repeat_dim(0, b);
    positions.mask_fill(mask_pad, 0).max_dim(1).squeeze_dim(1)
}

/// The hidden state at each row's last real position `[B, H]`.
pub fn last_state(hidden: Tensor<3>, mask_pad: Tensor<2, Bool>) -> Tensor<2> {
    let [_, _, h] = hidden.dims();
    let index = last_positions(mask_pad)
        .unsqueeze_dim::<2>(1)
        .unsqueeze_dim::<3>(2)
        .repeat_dim(2, h);
    hidden.gather(1, index).squeeze_dim(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn floats(t: Tensor<2>) -> Vec<f32> {
        t.into_data().try_to_vec::<f32>().unwrap()
    }

    fn setup() -> (Tensor<3>, Tensor<2, Bool>) {
        let device = Device::default();
        // Two rows of 4 positions, 2 features; row 0 right-padded after 2, row 1 left-padded by 1.
        let hidden = Tensor::<3>::from_floats(
            [
                [[1.0, -1.0], [3.0, 5.0], [9.0, 9.0], [9.0, 9.0]],
                [[7.0, 7.0], [2.0, 0.0], [4.0, 6.0], [-6.0, 3.0]],
            ],
            &device,
        );
        let pad = Tensor::<2, Bool>::from_data(
            [[false, false, true, true], [true, false, false, false]],
            &device,
        );
        (hidden, pad)
    }

    #[test]
    fn pools_only_real_positions() {
        let (hidden, pad) = setup();
        assert_eq!(
            floats(masked_mean(hidden.clone(), pad.clone())),
            vec![2.0, 2.0, 0.0, 3.0]
        );
        assert_eq!(
            floats(masked_max(hidden.clone(), pad.clone())),
            vec![3.0, 5.0, 4.0, 6.0]
        );
        let last: Vec<i64> = last_positions(pad.clone())
            .into_data()
            .convert::<i64>()
            .try_to_vec()
            .unwrap();
        assert_eq!(last, vec![1, 3]);
        assert_eq!(floats(last_state(hidden, pad)), vec![3.0, 5.0, -6.0, 3.0]);
    }

    #[test]
    fn all_padding_rows_do_not_divide_by_zero() {
        let device = Device::default();
        let hidden = Tensor::<3>::ones([1, 3, 2], &device);
        let pad = Tensor::<2, Bool>::from_data([[true, true, true]], &device);
        assert_eq!(floats(masked_mean(hidden, pad)), vec![0.0, 0.0]);
    }
}
