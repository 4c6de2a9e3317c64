//! burn's `Dropout` module applied with tinderbox's faster mask.
//!
//! Models keep burn's [`Dropout`] as their field (its probability, and its training flag that
//! freezing and evaluation switch off), so checkpoints and module trees are unchanged; only the
//! mask is drawn by [`tinderbox_ops::dropout`], in parallel on the CPU.

use burn::nn::Dropout;
use burn::prelude::*;

/// What `layer.forward(x)` computes, with the mask drawn by [`tinderbox_ops::dropout`]: identity
/// unless the layer's training flag is on and `x` lives on an autodiff device.
///
/// ```
/// use burn::nn::DropoutConfig;
/// use burn::prelude::*;
/// use tinderbox_nn::dropout::apply_dropout;
///
/// let layer = DropoutConfig::new(0.5).init();
/// let x = Tensor::<2>::ones([2, 3], &Device::default());
/// // Without autodiff nothing trains, so nothing is dropped.
/// assert_eq!(apply_dropout(&layer, x.clone()).into_data(), x.into_data());
/// ```
pub fn apply_dropout<const D: usize>(layer: &Dropout, x: Tensor<D>) -> Tensor<D> {
    if !layer.training.is_enabled() || !x.device().is_autodiff() {
        return x;
    }
    tinderbox_ops::dropout(x, layer.prob)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::DropoutConfig;

    #[test]
    fn drops_while_training_on_autodiff_only() {
        let device = Device::default().autodiff();
        let layer = DropoutConfig::new(0.5).init();
        let x = Tensor::<1>::ones([4096], &device);
        let dropped = apply_dropout(&layer, x.clone())
            .equal_elem(0.0)
            .int()
            .sum()
            .into_scalar::<i64>();
        assert!((1800..2300).contains(&dropped), "{dropped}");

        let frozen = Dropout {
            prob: 0.5,
            training: burn::module::Param::from_bool(false),
        };
        assert_eq!(
            apply_dropout(&frozen, x.clone()).into_data(),
            x.clone().into_data()
        );
    }
}
