//! A dense layer applied over the last dimension as one matrix product.

use burn::nn::Linear;
use burn::prelude::*;

use crate::fused::dense;

/// `layer` applied to the last dimension of `x [..., d_in]`, with every leading dimension folded
/// into the rows of a single `[rows, d_in] x [d_in, d_out]` product, as PyTorch's `F.linear` does.
///
/// Why: for sequence lengths that are multiples of 32, burn's [`Linear::forward`] keeps a `[B, L,
/// d_in]` input batched and multiplies each sequence on its own, packing the weight again for
/// every one, and under autodiff its input gradient does the same against the transposed weight:
/// one product over all rows is twice as fast forward and backward at MiniLM's shapes. On burn's
/// CPU backend (`f32`) the product is moreover a fused operation that adds onto the bias rows and
/// writes its gradients without burn's zero-filled, copied buffers (`cargo bench --bench linear`).
/// Elsewhere it is burn's `linear` on the folded rows. The result equals burn's up to rounding.
///
/// ```
/// use burn::nn::LinearConfig;
/// use burn::prelude::*;
/// use tinderbox_ops::linear;
///
/// let device = Device::default();
/// let layer = LinearConfig::new(4, 3).init(&device);
/// let y = linear(&layer, Tensor::<3>::ones([2, 5, 4], &device));
/// assert_eq!(y.dims(), [2, 5, 3]);
/// ```
pub fn linear<const D: usize>(layer: &Linear, x: Tensor<D>) -> Tensor<D> {
    if D < 2 {
        return layer.forward(x);
    }
    linear_with_weights(x, layer.weight.val(), layer.bias.as_ref().map(|b| b.val()))
}

/// [`linear`] with the weight `[d_in, d_out]` and bias given as tensors: `x · weight + bias` over
/// the last dimension. A weight that is the transpose of a row-major matrix (a tied output
/// projection, `embedding.transpose()`) is read in place on the CPU backend, not copied.
///
/// ```
/// use burn::prelude::*;
/// use tinderbox_ops::linear_with_weights;
///
/// let device = Device::default();
/// let embedding = Tensor::<2>::from_floats([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]], &device);
/// let hidden = Tensor::<3>::from_floats([[[3.0, 4.0]]], &device);
/// let logits = linear_with_weights(hidden, embedding.transpose(), None);
/// let logits: Vec<f32> = logits.into_data().try_to_vec().unwrap();
/// assert_eq!(logits, vec![3.0, 8.0, 7.0]);
/// ```
pub fn linear_with_weights<const D: usize>(
    x: Tensor<D>,
    weight: Tensor<2>,
    bias: Option<Tensor<1>>,
) -> Tensor<D> {
    if D < 2 {
        let [d_in, d_out] = weight.dims();
        let y = dense(x.reshape([1, d_in]), weight, bias);
        return y.reshape([d_out; D]);
    }
    let mut dims = x.dims();
    let d_in = dims[D - 1];
    let rows = dims[..D - 1].iter().product::<usize>();
    let y = dense(x.reshape([rows, d_in]), weight, bias);
    dims[D - 1] = y.dims()[1];
    y.reshape(dims)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::LinearConfig;
    use burn::tensor::{Distribution, Tolerance};

    #[test]
    fn equals_burns_batched_linear_forward_and_backward() {
        let device = Device::default().autodiff();
        let layer = LinearConfig::new(8, 5).init(&device);
        // 32 rows per sequence: the length at which burn keeps the product batched.
        let x =
            Tensor::<3>::random([3, 32, 8], Distribution::Normal(0.0, 1.0), &device).require_grad();
        let ours = linear(&layer, x.clone());
        let theirs = layer.forward(x.clone());
        assert_eq!(ours.dims(), [3, 32, 5]);
        ours.to_data()
            .assert_approx_eq::<f32>(&theirs.to_data(), Tolerance::absolute(1e-5));

        let weights = Tensor::<3>::random([3, 32, 5], Distribution::Normal(0.0, 1.0), &device);
        let ours = (ours * weights.clone()).sum().backward();
        let theirs = (theirs * weights).sum().backward();
        for (a, b) in [
            (x.grad(&ours).unwrap(), x.grad(&theirs).unwrap()),
            (
                layer.weight.grad(&ours).unwrap().reshape([1, 8, 5]),
                layer.weight.grad(&theirs).unwrap().reshape([1, 8, 5]),
            ),
        ] {
            a.to_data()
                .assert_approx_eq::<f32>(&b.to_data(), Tolerance::absolute(1e-4));
        }
        let (a, b) = (
            layer.bias.as_ref().unwrap().grad(&ours).unwrap(),
            layer.bias.as_ref().unwrap().grad(&theirs).unwrap(),
        );
        a.to_data()
            .assert_approx_eq::<f32>(&b.to_data(), Tolerance::absolute(1e-4));
    }

    #[test]
    fn keeps_four_dimensions_and_one_or_two_as_they_are() {
        let device = Device::default();
        let layer = LinearConfig::new(4, 2).init(&device);
        let x = Tensor::<4>::random([2, 3, 5, 4], Distribution::Default, &device);
        let y = linear(&layer, x.clone());
        assert_eq!(y.dims(), [2, 3, 5, 2]);
        y.to_data().assert_approx_eq::<f32>(
            &layer.forward(x.clone()).to_data(),
            Tolerance::absolute(1e-6),
        );
        let row = x.clone().reshape([30, 4]);
        assert_eq!(linear(&layer, row).dims(), [30, 2]);
        let one = Tensor::<1>::ones([4], &device);
        assert_eq!(linear(&layer, one).dims(), [2]);
    }

    #[test]
    fn an_empty_batch_gives_an_empty_result() {
        let device = Device::default();
        let layer = LinearConfig::new(4, 2).init(&device);
        let y = linear(&layer, Tensor::<3>::zeros([0, 7, 4], &device));
        assert_eq!(y.dims(), [0, 7, 2]);
    }
}
