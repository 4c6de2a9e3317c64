//! Layer normalisation with burn's parameter names (`gamma`, `beta`, so checkpoints and
//! burn-store's PyTorch adapter treat it as burn's `LayerNorm`), computed by
//! [`tinderbox_ops::layer_norm`]: one fused pass forward and backward on the CPU backend, where
//! burn's autodiff composes a dozen elementwise operations.

use burn::module::{Initializer, Param};
use burn::prelude::*;

/// Configuration of a [`LayerNorm`], as burn's `LayerNormConfig`.
#[derive(Config, Debug)]
pub struct LayerNormConfig {
    /// The size of the last dimension.
    pub d_model: usize,
    /// Added to the variance before the square root.
    #[config(default = 1e-5)]
    pub epsilon: f64,
}

impl LayerNormConfig {
    /// A layer norm at identity: `gamma` ones, `beta` zeros.
    pub fn init(&self, device: &Device) -> LayerNorm {
        LayerNorm {
            gamma: Initializer::Ones.init([self.d_model], device),
            beta: Some(Initializer::Zeros.init([self.d_model], device)),
            epsilon: self.epsilon,
        }
    }
}

/// `(x - mean) / sqrt(var + epsilon) * gamma + beta` over the last dimension.
///
/// ```
/// use burn::prelude::*;
/// use tinderbox_nn::transformer::LayerNormConfig;
///
/// let device = Device::default();
/// let norm = LayerNormConfig::new(2).with_epsilon(0.0).init(&device);
/// let y = norm.forward(Tensor::<2>::from_floats([[1.0, 3.0]], &device));
/// assert_eq!(y.into_data().try_to_vec::<f32>().unwrap(), vec![-1.0, 1.0]);
/// ```
#[derive(Module, Debug)]
pub struct LayerNorm {
    /// The scale (Hugging Face's `LayerNorm.weight`).
    pub gamma: Param<Tensor<1>>,
    /// The shift (Hugging Face's `LayerNorm.bias`).
    pub beta: Option<Param<Tensor<1>>>,
    /// Added to the variance before the square root.
    pub epsilon: f64,
}

impl LayerNorm {
    /// Normalises `x` `[..., d_model]` over its last dimension.
    pub fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        tinderbox_ops::layer_norm(
            x,
            self.gamma.val(),
            self.beta.as_ref().map(|beta| beta.val()),
            self.epsilon,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Distribution, Tolerance};

    #[test]
    fn equals_burns_layer_norm_with_the_same_parameters() {
        let device = Device::default();
        let ours = LayerNormConfig::new(8).with_epsilon(1e-12).init(&device);
        let mut theirs = burn::nn::LayerNormConfig::new(8)
            .with_epsilon(1e-12)
            .init(&device);
        let gamma = Tensor::<1>::random([8], Distribution::Normal(1.0, 0.3), &device);
        let beta = Tensor::<1>::random([8], Distribution::Normal(0.0, 0.3), &device);
        let ours = LayerNorm {
            gamma: Param::from_tensor(gamma.clone()),
            beta: Some(Param::from_tensor(beta.clone())),
            ..ours
        };
        theirs.gamma = Param::from_tensor(gamma);
        theirs.beta = Some(Param::from_tensor(beta));
        let x = Tensor::<3>::random([2, 5, 8], Distribution::Normal(2.0, 3.0), &device);
        ours.forward(x.clone())
            .into_data()
            .assert_approx_eq::<f32>(&theirs.forward(x).into_data(), Tolerance::absolute(1e-5));
    }
}
