//! Keras' default initialisers, so that models written after a Keras original start from the
//! same distribution: Glorot (Xavier) uniform kernels and zero biases.

use burn::module::Param;
use burn::nn::{Initializer, Linear, LinearConfig};
use burn::prelude::*;

/// Keras' `glorot_uniform`: `U(-l, l)` with `l = sqrt(6 / (fan_in + fan_out))`, where a
/// convolution's fans count the kernel window (`k*k*channels`), as burn's layers compute them.
pub fn glorot_uniform() -> Initializer {
    Initializer::XavierUniform { gain: 1.0 }
}

/// A zero bias of `size` elements, as Keras' `bias_initializer="zeros"`.
pub fn zero_bias(size: usize, device: &Device) -> Param<Tensor<1>> {
    Param::from_tensor(Tensor::zeros([size], device))
}

/// BERT's dense layer: weights from `N(0, std)` (its `initializer_range`), zero bias.
pub fn normal_linear(d_in: usize, d_out: usize, std: f64, device: &Device) -> Linear {
    let mut linear = LinearConfig::new(d_in, d_out)
        .with_initializer(Initializer::Normal { mean: 0.0, std })
        .init(device);
    linear.bias = Some(zero_bias(d_out, device));
    linear
}
