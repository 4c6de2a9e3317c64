//! Gradient-norm helpers over a whole module: the global L2 norm, clipping to it (what
//! `torch.nn.utils.clip_grad_norm_` does; burn's own `GradientClipping::Norm` clips each tensor
//! separately), and scaling every gradient by a factor.
//!
//! Everything stays on the device: the norm is a one-element tensor, so clipping never waits for
//! the host.

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::prelude::*;

struct SquaredSum<'a> {
    grads: &'a GradientsParams,
    total: Option<Tensor<1>>,
}

impl ModuleVisitor for SquaredSum<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some(g) = self.grads.get::<D>(param.id) {
            let sq = g.square().sum();
            self.total = Some(match self.total.take() {
                Some(t) => t + sq,
                None => sq,
            });
        }
    }
}

struct Scale<'a> {
    grads: &'a mut GradientsParams,
    factor: Tensor<1>,
}

impl ModuleVisitor for Scale<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some(g) = self.grads.remove::<D>(param.id) {
            let factor = self.factor.clone().reshape([1; D]);
            self.grads.register::<D>(param.id, g * factor);
        }
    }
}

/// The L2 norm of all of `module`'s gradients taken together, as a one-element tensor, or `None`
/// when no parameter has a gradient.
///
/// ```
/// use burn::prelude::*;
/// use burn::nn::LinearConfig;
/// use burn::optim::GradientsParams;
/// use tinderbox_ops::global_grad_norm;
///
/// let device = Device::default().autodiff();
/// let layer = LinearConfig::new(2, 1).init(&device);
/// let loss = layer.forward(Tensor::<2>::ones([1, 2], &device)).sum();
/// let grads = GradientsParams::from_grads(loss.backward(), &layer);
/// // d loss / d w = x = [1, 1], d loss / d b = 1: norm sqrt(3).
/// let norm: f32 = global_grad_norm(&layer, &grads).unwrap().into_scalar();
/// assert!((norm - 3f32.sqrt()).abs() < 1e-6);
/// ```
pub fn global_grad_norm<M: Module>(module: &M, grads: &GradientsParams) -> Option<Tensor<1>> {
    let mut sum = SquaredSum { grads, total: None };
    module.visit(&mut sum);
    sum.total.map(Tensor::sqrt)
}

/// Multiplies every gradient of `module` by `factor` (a one-element tensor or a plain value).
pub fn scale_grads<M: Module>(
    module: &M,
    mut grads: GradientsParams,
    factor: Tensor<1>,
) -> GradientsParams {
    module.visit(&mut Scale {
        grads: &mut grads,
        factor,
    });
    grads
}

/// Rescales the gradients so that their global L2 norm is at most `max_norm`, like PyTorch's
/// `clip_grad_norm_` (factor `max_norm / (norm + 1e-6)`, capped at 1). Returns the gradients and
/// the norm measured before clipping.
pub fn clip_grad_norm<M: Module>(
    module: &M,
    grads: GradientsParams,
    max_norm: f32,
) -> (GradientsParams, Option<Tensor<1>>) {
    let Some(norm) = global_grad_norm(module, &grads) else {
        return (grads, None);
    };
    let factor = norm
        .clone()
        .add_scalar(1e-6)
        .recip()
        .mul_scalar(max_norm)
        .clamp_max(1.0);
    (scale_grads(module, grads, factor), Some(norm))
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::{Linear, LinearConfig};

    fn grads(device: &Device) -> (Linear, GradientsParams) {
        let layer = LinearConfig::new(3, 2).init(device);
        let x = Tensor::<2>::from_floats([[1.0, -2.0, 3.0], [0.5, 0.0, -1.0]], device);
        let loss = layer.forward(x).square().sum();
        let grads = GradientsParams::from_grads(loss.backward(), &layer);
        (layer, grads)
    }

    fn naive_norm(layer: &Linear, grads: &GradientsParams) -> f32 {
        let w = grads.get::<2>(layer.weight.id).unwrap();
        let b = grads.get::<1>(layer.bias.as_ref().unwrap().id).unwrap();
        let mut total = 0.0;
        for v in w.into_data().try_to_vec::<f32>().unwrap() {
            total += v * v;
        }
        for v in b.into_data().try_to_vec::<f32>().unwrap() {
            total += v * v;
        }
        total.sqrt()
    }

    #[test]
    fn norm_matches_a_naive_sum() {
        let device = Device::default().autodiff();
        let (layer, grads) = grads(&device);
        let norm: f32 = global_grad_norm(&layer, &grads).unwrap().into_scalar();
        let expected = naive_norm(&layer, &grads);
        assert!(
            (norm - expected).abs() < 1e-4 * expected,
            "{norm} vs {expected}"
        );
    }

    #[test]
    fn clipping_scales_down_to_the_limit_and_never_up() {
        let device = Device::default().autodiff();
        let (layer, g) = grads(&device);
        let before = naive_norm(&layer, &g);
        let (clipped, norm) = clip_grad_norm(&layer, g, 0.5);
        let norm: f32 = norm.unwrap().into_scalar();
        assert!((norm - before).abs() < 1e-4 * before);
        assert!((naive_norm(&layer, &clipped) - 0.5).abs() < 1e-5);

        let (layer, g) = grads(&device);
        let before = naive_norm(&layer, &g);
        let (unclipped, _) = clip_grad_norm(&layer, g, before * 10.0);
        assert!((naive_norm(&layer, &unclipped) - before).abs() < 1e-4 * before);
    }

    #[test]
    fn scaling_multiplies_every_gradient() {
        let device = Device::default().autodiff();
        let (layer, g) = grads(&device);
        let before = naive_norm(&layer, &g);
        let scaled = scale_grads(&layer, g, Tensor::from_floats([0.25], &device));
        assert!((naive_norm(&layer, &scaled) - before * 0.25).abs() < 1e-5 * before);
    }

    #[test]
    fn no_gradients_gives_no_norm() {
        let device = Device::default().autodiff();
        let layer = LinearConfig::new(2, 2).init(&device);
        assert!(global_grad_norm(&layer, &GradientsParams::new()).is_none());
    }
}
