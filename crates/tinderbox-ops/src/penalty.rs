//! L1 and L2 weight penalties, added to the loss the way Keras' `kernel_regularizer=l1(a)` and
//! `l2(b)` do: `a * sum(|w|) + b * sum(w^2)` over weight matrices and kernels.
//!
//! Only parameters of rank 2 or more are penalised, so biases and normalisation scales are left
//! alone, as Keras' kernel regularisers and Hugging Face's weight-decay exclusions do.

use burn::module::{Module, ModuleVisitor, Param};
use burn::prelude::*;

struct Penalty {
    l1: f64,
    l2: f64,
    total: Option<Tensor<1>>,
}

impl ModuleVisitor for Penalty {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if D < 2 {
            return;
        }
        let w = param.val();
        let mut term: Option<Tensor<1>> = None;
        if self.l1 != 0.0 {
            term = Some(w.clone().abs().sum().mul_scalar(self.l1));
        }
        if self.l2 != 0.0 {
            let sq = w.square().sum().mul_scalar(self.l2);
            term = Some(match term {
                Some(t) => t + sq,
                None => sq,
            });
        }
        if let Some(term) = term {
            self.total = Some(match self.total.take() {
                Some(t) => t + term,
                None => term,
            });
        }
    }
}

/// `l1 * sum(|w|) + l2 * sum(w^2)` over every parameter of rank >= 2, as a one-element tensor
/// that gradients flow through; `None` when both factors are zero or nothing is penalised.
///
/// ```
/// use burn::prelude::*;
/// use burn::nn::LinearConfig;
/// use tinderbox_ops::weight_penalty;
///
/// let device = Device::default();
/// let layer = LinearConfig::new(2, 2).init(&device);
/// let w = layer.weight.val().into_data().try_to_vec::<f32>().unwrap();
/// let expected: f32 = w.iter().map(|v| 0.1 * v.abs() + 0.01 * v * v).sum();
/// let penalty: f32 = weight_penalty(&layer, 0.1, 0.01).unwrap().into_scalar();
/// assert!((penalty - expected).abs() < 1e-6);
/// ```
pub fn weight_penalty<M: Module>(module: &M, l1: f64, l2: f64) -> Option<Tensor<1>> {
    if l1 == 0.0 && l2 == 0.0 {
        return None;
    }
    let mut penalty = Penalty {
        l1,
        l2,
        total: None,
    };
    module.visit(&mut penalty);
    penalty.total
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::LinearConfig;
    use burn::optim::GradientsParams;

    #[test]
    fn gradient_is_l1_sign_plus_twice_l2_weight_and_biases_are_free() {
        let device = Device::default().autodiff();
        let layer = LinearConfig::new(3, 2).init(&device);
        let penalty = weight_penalty(&layer, 0.5, 0.25).unwrap();
        let grads = GradientsParams::from_grads(penalty.backward(), &layer);
        let w = layer.weight.val().into_data().try_to_vec::<f32>().unwrap();
        let g = grads
            .get::<2>(layer.weight.id)
            .unwrap()
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        for (w, g) in w.iter().zip(g) {
            let expected = 0.5 * w.signum() + 0.5 * w;
            assert!((g - expected).abs() < 1e-6, "{g} vs {expected}");
        }
        assert!(grads.get::<1>(layer.bias.as_ref().unwrap().id).is_none());
    }

    #[test]
    fn zero_factors_add_nothing() {
        let layer = LinearConfig::new(3, 2).init(&Device::default());
        assert!(weight_penalty(&layer, 0.0, 0.0).is_none());
    }
}
