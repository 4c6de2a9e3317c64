//! Root-mean-square layer normalisation (Zhang & Sennrich 2019), as Llama computes it:
//! `x / sqrt(mean(x²) + eps) * weight`, in `f32`.
//!
//! Reference: `transformers` 5.25, `modeling_llama.py` `LlamaRMSNorm`.

use burn::module::Param;
use burn::prelude::*;

/// The weight of an RMS norm over the last dimension.
#[derive(Module, Debug)]
pub struct RmsNorm {
    /// The per-feature scale, `weight` in the checkpoint.
    pub weight: Param<Tensor<1>>,
    /// Added to the mean square before the root.
    #[module(skip)]
    pub eps: f64,
}

impl RmsNorm {
    /// A norm of `width` features with unit weights.
    pub fn new(width: usize, eps: f64, device: &Device) -> Self {
        Self {
            weight: Param::from_tensor(Tensor::ones([width], device)),
            eps,
        }
    }

    /// Normalises the last dimension of `x`.
    pub fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        let variance = x.clone().square().mean_dim(D - 1);
        let normed = x * variance.add_scalar(self.eps).sqrt().recip();
        let width = self.weight.dims()[0];
        let mut shape = [1; D];
        shape[D - 1] = width;
        normed * self.weight.val().reshape(shape)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_come_out_with_unit_root_mean_square() {
        let device = Device::default();
        let norm = RmsNorm::new(4, 0.0, &device);
        let x = Tensor::<2>::from_floats([[1.0, 2.0, 3.0, 4.0], [0.5, -0.5, 0.5, -0.5]], &device);
        let y: Vec<f32> = norm.forward(x).into_data().try_to_vec().unwrap();
        let rms = (7.5f32).sqrt();
        assert!((y[0] - 1.0 / rms).abs() < 1e-6 && (y[3] - 4.0 / rms).abs() < 1e-6);
        assert_eq!(&y[4..], &[1.0, -1.0, 1.0, -1.0]);
    }
}
