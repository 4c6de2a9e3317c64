//! The optimizers a run can name in its config, built as burn optimizers.

use burn::module::ParamGroup;
use burn::optim::decay::WeightDecayConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{AdamConfig, ModuleOptimizer, SgdConfig};
use serde::{Deserialize, Serialize};

use crate::adamw::FusedAdamW;
use crate::error::{Result, TrainError};

/// Which optimizer to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OptimizerKind {
    /// Adam; `weight_decay` is added to the gradient (coupled L2), as in `torch.optim.Adam`.
    Adam,
    /// AdamW; `weight_decay` is decoupled from the gradient, as in `torch.optim.AdamW`.
    AdamW,
    /// Stochastic gradient descent with (optionally Nesterov) momentum.
    Sgd,
}

impl std::str::FromStr for OptimizerKind {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "adam" => Ok(Self::Adam),
            "adamw" => Ok(Self::AdamW),
            "sgd" => Ok(Self::Sgd),
            other => Err(format!(
                "unknown optimizer {other:?}: expected adam, adamw or sgd"
            )),
        }
    }
}

/// An optimizer with its hyper-parameters (the learning rate comes from the schedule).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OptimizerConfig {
    /// The algorithm.
    pub kind: OptimizerKind,
    /// Adam's first-moment decay.
    #[serde(default = "default_beta_1")]
    pub beta_1: f32,
    /// Adam's second-moment decay.
    #[serde(default = "default_beta_2")]
    pub beta_2: f32,
    /// Adam's denominator guard (PyTorch's default; burn's is 1e-5, Keras' 1e-7).
    #[serde(default = "default_epsilon")]
    pub epsilon: f32,
    /// Weight decay: coupled for Adam and SGD, decoupled for AdamW. 0 turns it off.
    #[serde(default)]
    pub weight_decay: f32,
    /// Parameters whose path contains any of these strings get no weight decay. Hugging Face's
    /// BERT recipe exempts biases and LayerNorm weights: [`BERT_NO_DECAY`].
    #[serde(default)]
    pub no_decay: Vec<String>,
    /// SGD momentum (0 for plain SGD).
    #[serde(default = "default_momentum")]
    pub momentum: f64,
    /// Nesterov momentum for SGD.
    #[serde(default)]
    pub nesterov: bool,
}

/// The parameter-path fragments that BERT fine-tuning and pre-training exempt from weight
/// decay: every bias and every LayerNorm (`no_decay = ["bias", "LayerNorm.weight"]` in Hugging
/// Face's scripts; burn names LayerNorm's scale `gamma` and its shift `beta`).
pub const BERT_NO_DECAY: [&str; 2] = ["bias", "layer_norm"];

fn default_beta_1() -> f32 {
    0.9
}
fn default_beta_2() -> f32 {
    0.999
}
fn default_epsilon() -> f32 {
    1e-8
}
fn default_momentum() -> f64 {
    0.9
}

impl OptimizerConfig {
    /// `kind` with PyTorch's defaults (betas 0.9/0.999, eps 1e-8), SGD momentum 0.9, and
    /// AdamW's weight decay 0.01; no weight decay for Adam and SGD.
    pub fn new(kind: OptimizerKind) -> Self {
        Self {
            kind,
            beta_1: default_beta_1(),
            beta_2: default_beta_2(),
            epsilon: default_epsilon(),
            weight_decay: if kind == OptimizerKind::AdamW {
                0.01
            } else {
                0.0
            },
            no_decay: Vec::new(),
            momentum: default_momentum(),
            nesterov: false,
        }
    }

    /// Exempts parameters whose path contains any of `fragments` from weight decay.
    pub fn with_no_decay(mut self, fragments: &[&str]) -> Self {
        self.no_decay = fragments.iter().map(|f| f.to_string()).collect();
        self
    }

    /// Sets the weight decay.
    pub fn with_weight_decay(mut self, weight_decay: f32) -> Self {
        self.weight_decay = weight_decay;
        self
    }

    /// Sets SGD's momentum.
    pub fn with_momentum(mut self, momentum: f64) -> Self {
        self.momentum = momentum;
        self
    }

    /// Checks the ranges.
    pub fn validate(&self) -> Result<()> {
        let check = |name, value: f64, ok: bool, reason: &str| {
            if ok {
                Ok(())
            } else {
                Err(TrainError::InvalidConfig {
                    name,
                    value: value.to_string(),
                    reason: reason.into(),
                })
            }
        };
        let beta = |b: f32| (0.0..1.0).contains(&b);
        check(
            "beta_1",
            self.beta_1 as f64,
            beta(self.beta_1),
            "must be in [0, 1)",
        )?;
        check(
            "beta_2",
            self.beta_2 as f64,
            beta(self.beta_2),
            "must be in [0, 1)",
        )?;
        check(
            "epsilon",
            self.epsilon as f64,
            self.epsilon > 0.0,
            "must be > 0",
        )?;
        check(
            "weight_decay",
            self.weight_decay as f64,
            self.weight_decay >= 0.0 && self.weight_decay.is_finite(),
            "must be >= 0",
        )?;
        check(
            "momentum",
            self.momentum,
            (0.0..1.0).contains(&self.momentum),
            "must be in [0, 1)",
        )
    }

    /// Builds the burn optimizer: one group for every parameter, and a second without weight
    /// decay for the [`no_decay`](Self::no_decay) paths.
    pub fn init(&self) -> ModuleOptimizer {
        let all = self.with_decay(self.weight_decay);
        if self.no_decay.is_empty() || self.weight_decay == 0.0 {
            return all;
        }
        let exempt = ParamGroup::from_any_predicates(self.no_decay.clone());
        match self.kind {
            OptimizerKind::Adam => all.with_group(exempt, self.adam(None).build(), None),
            OptimizerKind::AdamW => all.with_group(exempt, self.adamw(0.0), None),
            OptimizerKind::Sgd => all.with_group(exempt, self.sgd(None).build(), None),
        }
    }

    fn with_decay(&self, weight_decay: f32) -> ModuleOptimizer {
        let decay = (weight_decay > 0.0).then(|| WeightDecayConfig::new(weight_decay));
        match self.kind {
            OptimizerKind::Adam => self.adam(decay).init(),
            OptimizerKind::AdamW => self.adamw(weight_decay).init(),
            OptimizerKind::Sgd => self.sgd(decay).init(),
        }
    }

    fn adam(&self, decay: Option<WeightDecayConfig>) -> AdamConfig {
        AdamConfig::new()
            .with_beta_1(self.beta_1)
            .with_beta_2(self.beta_2)
            .with_epsilon(self.epsilon)
            .with_weight_decay(decay)
    }

    fn adamw(&self, weight_decay: f32) -> FusedAdamW {
        FusedAdamW::new(self.beta_1, self.beta_2, self.epsilon, weight_decay)
    }

    fn sgd(&self, decay: Option<WeightDecayConfig>) -> SgdConfig {
        SgdConfig::new()
            .with_weight_decay(decay)
            .with_momentum((self.momentum > 0.0).then(|| {
                // PyTorch's SGD: no dampening (burn defaults to 0.1).
                MomentumConfig::new()
                    .with_momentum(self.momentum)
                    .with_dampening(0.0)
                    .with_nesterov(self.nesterov)
            }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::module::Param;
    use burn::optim::GradientsParams;
    use burn::prelude::*;

    #[derive(Module, Debug)]
    struct Scalar {
        w: Param<Tensor<1>>,
    }

    /// Minimises (w - 3)^2 from w = 0 and returns w after `steps` steps.
    fn descend(config: &OptimizerConfig, lr: f64, steps: usize) -> f32 {
        let device = Device::default().autodiff();
        let mut model = Scalar {
            w: Param::from_tensor(Tensor::zeros([1], &device)),
        };
        let mut optim = config.init();
        for _ in 0..steps {
            let loss = model.w.val().sub_scalar(3.0).square().sum();
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optim.step(lr, model, grads);
        }
        model.w.val().into_scalar()
    }

    #[derive(Module, Debug)]
    struct Block {
        dense: burn::nn::Linear,
        layer_norm: burn::nn::LayerNorm,
    }

    #[test]
    fn no_decay_paths_are_exempt_from_weight_decay() {
        let device = Device::default().autodiff();
        let mut block = Block {
            dense: burn::nn::LinearConfig::new(3, 3).init(&device),
            layer_norm: burn::nn::LayerNormConfig::new(3).init(&device),
        };
        // Non-zero biases and shift, so that decay would show.
        block.dense.bias = Some(Param::from_tensor(Tensor::ones([3], &device)));
        block.layer_norm.beta = Some(Param::from_tensor(Tensor::ones([3], &device)));
        let before = |b: &Block| {
            [
                b.dense.weight.val().into_data(),
                b.dense.bias.as_ref().unwrap().val().into_data(),
                b.layer_norm.gamma.val().into_data(),
                b.layer_norm.beta.as_ref().unwrap().val().into_data(),
            ]
        };
        let start = before(&block);
        let config = OptimizerConfig::new(OptimizerKind::AdamW)
            .with_weight_decay(0.5)
            .with_no_decay(&BERT_NO_DECAY);
        let mut optim = config.init();
        // A zero gradient: AdamW then moves a parameter by its decay alone, w -= lr * wd * w.
        let x = Tensor::<2>::ones([2, 3], &device);
        let loss = block
            .layer_norm
            .forward(block.dense.forward(x))
            .sum()
            .mul_scalar(0.0);
        let grads = GradientsParams::from_grads(loss.backward(), &block);
        let block = optim.step(0.1, block, grads);
        let end = before(&block);
        let decayed: Vec<f32> = start[0]
            .iter::<f32>()
            .map(|w| w * (1.0 - 0.1 * 0.5))
            .collect();
        end[0].assert_approx_eq::<f32>(
            &burn::tensor::TensorData::new(decayed, [3, 3]),
            burn::tensor::Tolerance::default(),
        );
        for i in 1..4 {
            assert_eq!(end[i], start[i], "parameter {i} was decayed");
        }
    }

    #[test]
    fn first_steps_match_the_update_rules() {
        // Adam's first step moves each weight by lr (m_hat / sqrt(v_hat) = sign(g)).
        let adam = descend(&OptimizerConfig::new(OptimizerKind::Adam), 0.1, 1);
        assert!((adam - 0.1).abs() < 1e-5, "{adam}");
        // SGD with momentum 0.9, no dampening: v1 = g = -6, w1 = 0.6; v2 = 0.9*-6 + -4.8.
        let sgd = OptimizerConfig::new(OptimizerKind::Sgd);
        let w1 = descend(&sgd, 0.1, 1);
        assert!((w1 - 0.6).abs() < 1e-5, "{w1}");
        let w2 = descend(&sgd, 0.1, 2);
        assert!((w2 - (0.6 + 0.1 * (0.9 * 6.0 + 4.8))).abs() < 1e-5, "{w2}");
        // All three converge.
        for kind in [
            OptimizerKind::Adam,
            OptimizerKind::AdamW,
            OptimizerKind::Sgd,
        ] {
            let w = descend(
                &OptimizerConfig::new(kind).with_weight_decay(0.0),
                0.05,
                300,
            );
            assert!((w - 3.0).abs() < 0.05, "{kind:?} ended at {w}");
        }
    }

    #[test]
    fn out_of_range_values_are_rejected() {
        let mut c = OptimizerConfig::new(OptimizerKind::Sgd);
        c.momentum = 1.5;
        assert!(c.validate().unwrap_err().to_string().contains("momentum"));
        assert!("rmsprop".parse::<OptimizerKind>().is_err());
        assert_eq!(
            "AdamW".parse::<OptimizerKind>().unwrap(),
            OptimizerKind::AdamW
        );
    }
}
