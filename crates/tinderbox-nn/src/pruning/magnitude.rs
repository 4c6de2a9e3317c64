//! Gradual magnitude pruning while training (Zhu & Gupta 2017, "To prune, or not to prune"):
//! the sparsity of every dense weight matrix rises from 0 to a target along a cubic between two
//! points of the run; at each pruning step each matrix loses its smallest-magnitude surviving
//! weights until it has that step's sparsity, and after every update the pruned weights are set
//! back to zero, so they stay pruned (the optimizer's moments would otherwise revive them).
//!
//! The masks live in memory and are also written into the weights themselves (exact zeros): a
//! resumed run rebuilds them from its checkpoint's zeros, so pruning goes on where it stopped.

use std::collections::HashMap;

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param, ParamId};
use burn::prelude::*;
use serde::{Deserialize, Serialize};

use super::structured::check_prune_ratio;
use crate::error::{ModelError, Result};

/// When and how far to prune.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MagnitudePruningConfig {
    /// The final fraction of each matrix's weights set to zero, in `[0, 1)`.
    pub sparsity: f64,
    /// Where pruning starts, as a fraction of the run's updates.
    #[serde(default)]
    pub start: f64,
    /// Where the target is reached, as a fraction of the run's updates (the rest of the run
    /// recovers at the final sparsity).
    #[serde(default = "MagnitudePruningConfig::default_end")]
    pub end: f64,
    /// Prune every this many updates between `start` and `end` (Zhu & Gupta's `Δt`).
    #[serde(default = "MagnitudePruningConfig::default_every")]
    pub every: usize,
}

impl MagnitudePruningConfig {
    fn default_end() -> f64 {
        0.75
    }
    fn default_every() -> usize {
        10
    }

    /// `sparsity` reached three quarters into the run, pruning every 10 updates from the first.
    pub fn new(sparsity: f64) -> Self {
        Self {
            sparsity,
            start: 0.0,
            end: Self::default_end(),
            every: Self::default_every(),
        }
    }

    /// Checks the settings, naming the one at fault.
    pub fn validate(&self) -> Result<()> {
        let bad = |name, value: String, reason: &str| {
            Err(ModelError::config(name, format!("{value}: {reason}")))
        };
        check_prune_ratio("sparsity", self.sparsity)?;
        if !(0.0..=1.0).contains(&self.start)
            || !(0.0..=1.0).contains(&self.end)
            || self.start >= self.end
        {
            return bad(
                "pruning start/end",
                format!("{}/{}", self.start, self.end),
                "fractions of the run with 0 <= start < end <= 1",
            );
        }
        if self.every == 0 {
            return bad("pruning every", "0".into(), "must be >= 1");
        }
        Ok(())
    }

    /// The sparsity after `step` of `total_steps` updates: Zhu & Gupta's
    /// `s_f · (1 − (1 − p)³)`, `p` the progress from `start` to `end` counted in whole
    /// `every`-update periods, and `s_f` from `end` on.
    pub fn sparsity_at(&self, step: usize, total_steps: usize) -> f64 {
        let (t0, t1) = (
            self.start * total_steps as f64,
            self.end * total_steps as f64,
        );
        let t = step as f64;
        if t < t0 || total_steps == 0 {
            return 0.0;
        }
        if t >= t1 {
            return self.sparsity;
        }
        let every = self.every as f64;
        let t = t0 + ((t - t0) / every).floor() * every;
        let p = ((t - t0) / (t1 - t0)).clamp(0.0, 1.0);
        self.sparsity * (1.0 - (1.0 - p).powi(3))
    }
}

/// One matrix's mask: on the host for choosing, on the device for applying.
#[derive(Debug, Clone)]
struct Mask {
    keep: Vec<bool>,
    pruned: usize,
    tensor: Tensor<1>,
}

/// The pruning of one training run: its settings and the masks of the matrices it prunes, the
/// weights of every `Linear` under the module field `scope`.
#[derive(Debug, Clone)]
pub struct MagnitudePruning {
    config: MagnitudePruningConfig,
    scope: String,
    masks: HashMap<ParamId, Mask>,
}

impl MagnitudePruning {
    /// Prunes the `Linear` weights under the field `scope` of the model it is applied to (for
    /// example `encoder`, leaving a classifier's head dense).
    pub fn new(config: MagnitudePruningConfig, scope: &str) -> Result<Self> {
        config.validate()?;
        Ok(Self {
            config,
            scope: scope.into(),
            masks: HashMap::new(),
        })
    }

    /// The settings.
    pub fn config(&self) -> &MagnitudePruningConfig {
        &self.config
    }

    /// `module` after update `step` of `total_steps`: pruned further if the schedule says so,
    /// its pruned weights set back to zero in any case.
    pub fn apply<M: Module>(&mut self, module: M, step: usize, total_steps: usize) -> M {
        let target = self.config.sparsity_at(step, total_steps);
        let mut mapper = Masker {
            pruning: self,
            target,
            at: Position::default(),
        };
        module.map(&mut mapper)
    }
}

/// The fraction of zero weights over every `Linear` weight under the field `scope` of `module`
/// (0 when there is none).
pub fn linear_sparsity<M: Module>(module: &M, scope: &str) -> f64 {
    let mut counter = ZeroCounter {
        scope: scope.into(),
        at: Position::default(),
        zeros: 0,
        total: 0,
    };
    module.visit(&mut counter);
    if counter.total == 0 {
        0.0
    } else {
        counter.zeros as f64 / counter.total as f64
    }
}

/// Where a module walk is: the field names and container types entered so far.
#[derive(Default)]
struct Position {
    path: Vec<String>,
    containers: Vec<String>,
}

impl Position {
    fn enter(&mut self, name: &str, container_type: &str) {
        self.path.push(name.into());
        self.containers.push(container_type.into());
    }

    fn exit(&mut self) {
        self.path.pop();
        self.containers.pop();
    }

    /// Whether the parameter here is a `Linear` weight under the field `scope`.
    fn prunable(&self, scope: &str) -> bool {
        self.path.first().is_some_and(|p| p == scope)
            && self.path.last().is_some_and(|p| p == "weight")
            && self.containers.last().is_some_and(|c| c == "Struct:Linear")
    }
}

struct Masker<'a> {
    pruning: &'a mut MagnitudePruning,
    target: f64,
    at: Position,
}

impl ModuleMapper for Masker<'_> {
    fn enter_module(&mut self, name: &str, container_type: &str) {
        self.at.enter(name, container_type);
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.at.exit();
    }

    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        if !self.at.prunable(&self.pruning.scope) {
            return param;
        }
        let (id, tensor, mapper) = param.consume();
        let (autodiff, require_grad) = (tensor.is_autodiff(), tensor.is_require_grad());
        let dims = tensor.dims();
        let inner = tensor.inner();
        let mask = self
            .pruning
            .masks
            .entry(id)
            .or_insert_with(|| Mask::from_zeros(&inner));
        if mask.keep.len() != dims.iter().product::<usize>() {
            // The weights did not read back: leave them as they are.
            return Param::from_mapped_value(id, restore(inner, autodiff, require_grad), mapper);
        }
        let goal = (self.target * mask.keep.len() as f64).round() as usize;
        if goal > mask.pruned {
            mask.prune_smallest(&inner, goal - mask.pruned);
        }
        let masked = if mask.pruned == 0 {
            inner
        } else {
            inner * mask.tensor.clone().reshape(dims)
        };
        Param::from_mapped_value(id, restore(masked, autodiff, require_grad), mapper)
    }
}

/// A parameter's value back on the device it came from, requiring gradients as it did.
fn restore<const D: usize>(inner: Tensor<D>, autodiff: bool, require_grad: bool) -> Tensor<D> {
    match (autodiff, require_grad) {
        (false, _) => inner,
        (true, false) => Tensor::from_inner(inner),
        (true, true) => Tensor::from_inner(inner).require_grad(),
    }
}

fn host_values<const D: usize>(tensor: &Tensor<D>) -> Vec<f32> {
    // A tensor of the model's own device and dtype always reads back; were it not to, no
    // weight would count as pruned and the schedule would prune again at its next step.
    tensor
        .clone()
        .into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .unwrap_or_default()
}

impl Mask {
    /// The mask of a matrix whose pruned weights are its exact zeros (a fresh or resumed run).
    fn from_zeros<const D: usize>(weights: &Tensor<D>) -> Self {
        let keep: Vec<bool> = host_values(weights).iter().map(|&w| w != 0.0).collect();
        let mut mask = Self {
            pruned: keep.iter().filter(|&&k| !k).count(),
            tensor: Tensor::zeros([0], &weights.device()),
            keep,
        };
        mask.upload(&weights.device());
        mask
    }

    /// Prunes the `count` surviving weights of smallest magnitude (ties to the lower index).
    fn prune_smallest<const D: usize>(&mut self, weights: &Tensor<D>, count: usize) {
        let values = host_values(weights);
        let mut survivors: Vec<(f32, usize)> = values
            .iter()
            .enumerate()
            .filter(|&(i, _)| self.keep.get(i).copied().unwrap_or(false))
            .map(|(i, w)| (w.abs(), i))
            .collect();
        let count = count.min(survivors.len());
        if count == 0 {
            return;
        }
        let order = |a: &(f32, usize), b: &(f32, usize)| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1));
        survivors.select_nth_unstable_by(count - 1, order);
        for &(_, i) in &survivors[..count] {
            self.keep[i] = false;
        }
        self.pruned += count;
        self.upload(&weights.device());
    }

    fn upload(&mut self, device: &Device) {
        let ones: Vec<f32> = self.keep.iter().map(|&k| f32::from(u8::from(k))).collect();
        let len = ones.len();
        self.tensor = Tensor::from_data(TensorData::new(ones, [len]), device);
    }
}

struct ZeroCounter {
    scope: String,
    at: Position,
    zeros: usize,
    total: usize,
}

impl ModuleVisitor for ZeroCounter {
    fn enter_module(&mut self, name: &str, container_type: &str) {
        self.at.enter(name, container_type);
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.at.exit();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if self.at.prunable(&self.scope) {
            let values = host_values(&param.val());
            self.zeros += values.iter().filter(|&&v| v == 0.0).count();
            self.total += values.len();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::{Linear, LinearConfig};
    use burn::tensor::Distribution;

    #[derive(Module, Debug)]
    struct Tiny {
        encoder: Vec<Linear>,
        head: Linear,
    }

    fn weights(linear: &Linear) -> Vec<f32> {
        host_values(&linear.weight.val())
    }

    #[test]
    fn prunes_the_smallest_weights_under_its_scope_and_keeps_them_pruned() {
        let device = Device::default();
        let mut model = Tiny {
            encoder: vec![
                LinearConfig::new(8, 16).init(&device),
                LinearConfig::new(16, 4).init(&device),
            ],
            head: LinearConfig::new(4, 2).init(&device),
        };
        let before = weights(&model.encoder[0]);
        let config = MagnitudePruningConfig {
            sparsity: 0.5,
            start: 0.0,
            end: 0.5,
            every: 1,
        };
        let mut pruning = MagnitudePruning::new(config, "encoder").unwrap();
        // Halfway through the ramp: 0.5 · (1 − 0.5³) = 43.75 % of each matrix.
        model = pruning.apply(model, 25, 100);
        let after = weights(&model.encoder[0]);
        let zeros: Vec<usize> = (0..after.len()).filter(|&i| after[i] == 0.0).collect();
        assert_eq!(zeros.len(), 56); // round(0.4375 · 128)
        let threshold = zeros.iter().map(|&i| before[i].abs()).fold(0.0, f32::max);
        for (i, (&b, &a)) in before.iter().zip(&after).enumerate() {
            if a != 0.0 {
                assert_eq!(a, b, "a kept weight changed");
                assert!(b.abs() >= threshold, "weight {i} kept below the threshold");
            }
        }
        assert_eq!(
            weights(&model.encoder[1])
                .iter()
                .filter(|&&w| w == 0.0)
                .count(),
            28
        );
        assert!(
            weights(&model.head).iter().all(|&w| w != 0.0),
            "the head is out of scope"
        );

        // An update revives pruned weights: the next call zeroes them again, and the final
        // target prunes further without bringing any back.
        model.encoder[0].weight = model.encoder[0]
            .weight
            .clone()
            .map(|w| w + Tensor::random([8, 16], Distribution::Normal(0.0, 1.0), &device));
        model = pruning.apply(model, 26, 100);
        let revived = weights(&model.encoder[0]);
        assert!(zeros.iter().all(|&i| revived[i] == 0.0));
        model = pruning.apply(model, 60, 100);
        let last = weights(&model.encoder[0]);
        assert_eq!(last.iter().filter(|&&w| w == 0.0).count(), 64);
        assert!(zeros.iter().all(|&i| last[i] == 0.0));
        let sparsity = linear_sparsity(&model, "encoder");
        assert!((sparsity - 0.5).abs() < 1e-9, "{sparsity}");

        // A fresh pruning (a resumed run) reads the masks from the zeros.
        let mut resumed = MagnitudePruning::new(config, "encoder").unwrap();
        let again = resumed.apply(model, 61, 100);
        assert_eq!(weights(&again.encoder[0]), last);
    }

    #[test]
    fn the_schedule_is_zhu_and_gupta_cubic_in_whole_periods() {
        let config = MagnitudePruningConfig {
            sparsity: 0.8,
            start: 0.1,
            end: 0.5,
            every: 5,
        };
        // 100 updates: pruning from update 10 to 50, every 5.
        assert_eq!(config.sparsity_at(0, 100), 0.0);
        assert_eq!(config.sparsity_at(9, 100), 0.0);
        assert_eq!(config.sparsity_at(10, 100), 0.0);
        let at = |p: f64| 0.8 * (1.0 - (1.0 - p).powi(3));
        assert!((config.sparsity_at(20, 100) - at(0.25)).abs() < 1e-12);
        // Within a period the sparsity holds.
        assert_eq!(config.sparsity_at(24, 100), config.sparsity_at(20, 100));
        assert_eq!(config.sparsity_at(50, 100), 0.8);
        assert_eq!(config.sparsity_at(100, 100), 0.8);
        let mut last = 0.0;
        for step in 0..=100 {
            let s = config.sparsity_at(step, 100);
            assert!(s >= last, "not monotone at {step}");
            last = s;
        }
    }

    #[test]
    fn bad_settings_name_the_value() {
        for sparsity in [1.0, -0.5, f64::NAN] {
            let e = MagnitudePruningConfig::new(sparsity)
                .validate()
                .unwrap_err();
            assert!(e.to_string().contains("[0, 1)"), "{e}");
        }
        let mut config = MagnitudePruningConfig::new(0.5);
        config.start = 0.8;
        config.end = 0.2;
        assert!(
            config
                .validate()
                .unwrap_err()
                .to_string()
                .contains("0.8/0.2")
        );
        config = MagnitudePruningConfig::new(0.5);
        config.every = 0;
        assert!(MagnitudePruning::new(config, "encoder").is_err());
    }
}
