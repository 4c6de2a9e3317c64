//! Structured pruning of a BERT encoder: whole attention heads and feed-forward neurons taken
//! out of the weight matrices, so that the pruned model is smaller on disk and does fewer
//! products, with no masks left behind.
//!
//! Importance is Michel et al. 2019 ("Are Sixteen Heads Really Better than One?", §4.1): a gate
//! `ξ_h` multiplies each head's output, and a head matters by `E |∂L/∂ξ_h|` over held-out data.
//! The gate need not exist in the model: the head's output only reaches the loss through its rows
//! of the attention output projection `W_o`, so `∂L/∂ξ_h = Σ W_o[rows of h] ⊙ ∂L/∂W_o[rows of h]`
//! (a first-order Taylor term), read from the weight gradients a backward pass leaves anyway.
//! Feed-forward neurons the same way, through their rows of the second FFN matrix. Scores are
//! normalised by their L2 norm within each layer before the global ranking, as the paper does.

use burn::module::Param;
use burn::nn::Linear;
use burn::prelude::*;
use burn::tensor::Gradients;

use crate::error::{ModelError, Result, read_values};
use crate::transformer::BertModel;

/// How much each head and each feed-forward neuron of every layer matters, summed over batches.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StructuredImportance {
    /// `heads[layer][h]`: `Σ |∂L/∂ξ_h|` over batches, for the layer's current heads in order.
    pub heads: Vec<Vec<f64>>,
    /// `neurons[layer][k]`: the same for the layer's feed-forward neurons.
    pub neurons: Vec<Vec<f64>>,
    /// Batches added.
    pub batches: usize,
}

/// What to take out of each layer: the current indices of the heads to remove and of the
/// feed-forward neurons to keep.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PrunePlan {
    /// `heads[layer]`: heads to remove (indices among the layer's current heads, ascending).
    pub heads: Vec<Vec<usize>>,
    /// `neurons[layer]`: feed-forward neurons to keep (ascending).
    pub neurons: Vec<Vec<usize>>,
}

impl StructuredImportance {
    /// All zeros, sized for `model`'s layers.
    pub fn zeros(model: &BertModel) -> Self {
        let layers = &model.encoder.layer;
        Self {
            heads: layers
                .iter()
                .map(|l| vec![0.0; l.attention.self_attn.heads()])
                .collect(),
            neurons: layers
                .iter()
                .map(|l| vec![0.0; l.output.dense.weight.dims()[0]])
                .collect(),
            batches: 0,
        }
    }

    /// Adds one batch: `grads` from the backward pass of a loss through `model` (on an
    /// autodiff device). Every layer's output projections must have a gradient.
    pub fn accumulate(&mut self, model: &BertModel, grads: &Gradients) -> Result<()> {
        if self.heads.len() != model.encoder.layer.len() {
            return Err(ModelError::config(
                "importance",
                format!(
                    "scores for {} layers, model has {}",
                    self.heads.len(),
                    model.encoder.layer.len()
                ),
            ));
        }
        for (i, layer) in model.encoder.layer.iter().enumerate() {
            let heads = layer.attention.self_attn.heads();
            let per_row = gate_gradients(&layer.attention.output.dense, grads, i, "attention")?;
            let width = per_row.len() / heads.max(1);
            for (score, rows) in self.heads[i].iter_mut().zip(per_row.chunks(width)) {
                *score += rows.iter().map(|&g| g as f64).sum::<f64>().abs();
            }
            let per_neuron = gate_gradients(&layer.output.dense, grads, i, "feed-forward")?;
            for (score, g) in self.neurons[i].iter_mut().zip(per_neuron) {
                *score += (g as f64).abs();
            }
        }
        self.batches += 1;
        Ok(())
    }

    /// The scores divided by their L2 norm within each layer (Michel et al.'s normalisation,
    /// which makes layers comparable for a global ranking).
    pub fn normalized(&self) -> Self {
        let norm = |rows: &[Vec<f64>]| -> Vec<Vec<f64>> {
            rows.iter()
                .map(|r| {
                    let n = r.iter().map(|v| v * v).sum::<f64>().sqrt();
                    r.iter()
                        .map(|v| if n > 0.0 { v / n } else { 0.0 })
                        .collect()
                })
                .collect()
        };
        Self {
            heads: norm(&self.heads),
            neurons: norm(&self.neurons),
            batches: self.batches,
        }
    }
}

/// `Σ_columns W ⊙ ∂L/∂W` for each input row of `dense` (`[in, out]`): the gradient of the loss
/// with respect to a gate on each of its inputs.
fn gate_gradients(dense: &Linear, grads: &Gradients, layer: usize, what: &str) -> Result<Vec<f32>> {
    let weight = dense.weight.val();
    let grad = weight.grad(grads).ok_or_else(|| {
        ModelError::config(
            "importance",
            format!("layer {layer}'s {what} output projection has no gradient (was the model on an autodiff device, and the loss computed through it?)"),
        )
    })?;
    read_values((weight.inner() * grad).sum_dim(1), "gate gradients")
}

/// Checks that `ratio` is a fraction that can be pruned: in `[0, 1)`.
pub fn check_prune_ratio(name: &str, ratio: f64) -> Result<()> {
    if (0.0..1.0).contains(&ratio) {
        Ok(())
    } else {
        Err(ModelError::config(
            name,
            format!("pruning ratio {ratio} is outside [0, 1)"),
        ))
    }
}

impl PrunePlan {
    /// Removes the `head_ratio` least important heads and the `ffn_ratio` least important
    /// feed-forward neurons of the whole model (by [`StructuredImportance::normalized`] scores,
    /// ties to the lower index), keeping at least one of each in every layer.
    pub fn from_importance(
        importance: &StructuredImportance,
        head_ratio: f64,
        ffn_ratio: f64,
    ) -> Result<Self> {
        check_prune_ratio("heads", head_ratio)?;
        check_prune_ratio("ffn", ffn_ratio)?;
        let scores = importance.normalized();
        let heads = least_important(&scores.heads, head_ratio);
        let removed = least_important(&scores.neurons, ffn_ratio);
        let neurons = removed
            .iter()
            .zip(&scores.neurons)
            .map(|(gone, all)| (0..all.len()).filter(|k| !gone.contains(k)).collect())
            .collect();
        Ok(Self { heads, neurons })
    }
}

/// Per layer, the indices (ascending) of the globally lowest `ratio` of all scores, never a
/// layer's last one.
fn least_important(scores: &[Vec<f64>], ratio: f64) -> Vec<Vec<usize>> {
    let total: usize = scores.iter().map(Vec::len).sum();
    let target = (ratio * total as f64).round() as usize;
    let mut order: Vec<(usize, usize)> = scores
        .iter()
        .enumerate()
        .flat_map(|(l, r)| (0..r.len()).map(move |i| (l, i)))
        .collect();
    order.sort_by(|&(la, ia), &(lb, ib)| {
        scores[la][ia]
            .total_cmp(&scores[lb][ib])
            .then((la, ia).cmp(&(lb, ib)))
    });
    let mut removed: Vec<Vec<usize>> = vec![Vec::new(); scores.len()];
    let mut count = 0;
    for (l, i) in order {
        if count == target {
            break;
        }
        if removed[l].len() + 1 < scores[l].len() {
            removed[l].push(i);
            count += 1;
        }
    }
    for r in &mut removed {
        r.sort_unstable();
    }
    removed
}

impl BertModel {
    /// This model with the heads and feed-forward neurons of `plan` taken out of its weights;
    /// its configuration records them (`pruned_heads`, `intermediate_sizes`), so that it saves
    /// and loads like any BERT. Prune before quantizing: an int8 model is an error.
    pub fn prune(&self, plan: &PrunePlan) -> Result<BertModel> {
        let layers = self.encoder.layer.len();
        if plan.heads.len() != layers || plan.neurons.len() != layers {
            return Err(ModelError::config(
                "prune plan",
                format!(
                    "{} head lists and {} neuron lists for {layers} layers",
                    plan.heads.len(),
                    plan.neurons.len()
                ),
            ));
        }
        if self.is_int8() {
            return Err(ModelError::config(
                "prune",
                "the model is quantized to int8: prune the f32 model, then quantize".into(),
            ));
        }
        let mut model = self.clone();
        let mut config = self.config.clone();
        let head_width = config.head_width();
        let mut sizes = Vec::with_capacity(layers);
        for (i, layer) in model.encoder.layer.iter_mut().enumerate() {
            let kept_heads = config.kept_heads(i);
            let (remove, keep_neurons) = (&plan.heads[i], &plan.neurons[i]);
            check_indices(i, "head", remove, kept_heads.len())?;
            check_indices(
                i,
                "neuron",
                keep_neurons,
                layer.output.dense.weight.dims()[0],
            )?;
            if remove.len() >= kept_heads.len() || keep_neurons.is_empty() {
                return Err(ModelError::config(
                    "prune plan",
                    format!("layer {i} would keep no heads or no neurons (keep at least one)"),
                ));
            }
            let keep_heads: Vec<usize> = (0..kept_heads.len())
                .filter(|h| !remove.contains(h))
                .collect();
            let columns: Vec<usize> = keep_heads
                .iter()
                .flat_map(|h| h * head_width..(h + 1) * head_width)
                .collect();
            let attention = &mut layer.attention.self_attn;
            for dense in [
                &mut attention.query,
                &mut attention.key,
                &mut attention.value,
            ] {
                *dense = select_outputs(dense, &columns);
            }
            attention.set_heads(keep_heads.len());
            let output = &mut layer.attention.output.dense;
            *output = select_inputs(output, &columns);
            let up = &mut layer.intermediate.dense;
            *up = select_outputs(up, keep_neurons);
            let down = &mut layer.output.dense;
            *down = select_inputs(down, keep_neurons);
            if !remove.is_empty() {
                let pruned = config.pruned_heads.entry(i).or_default();
                pruned.extend(remove.iter().map(|&h| kept_heads[h]));
                pruned.sort_unstable();
            }
            sizes.push(keep_neurons.len());
        }
        config.intermediate_sizes = if sizes.iter().all(|&s| s == config.intermediate_size) {
            None
        } else {
            Some(sizes)
        };
        config.validate()?;
        model.config = config;
        Ok(model)
    }
}

fn check_indices(layer: usize, what: &str, indices: &[usize], len: usize) -> Result<()> {
    let ascending = indices.windows(2).all(|w| w[0] < w[1]);
    match indices.iter().find(|&&i| i >= len) {
        Some(i) => Err(ModelError::config(
            "prune plan",
            format!("layer {layer}: {what} {i} does not exist ({len})"),
        )),
        None if !ascending => Err(ModelError::config(
            "prune plan",
            format!("layer {layer}: {what} indices must be ascending and distinct"),
        )),
        None => Ok(()),
    }
}

fn index_tensor(indices: &[usize], device: &Device) -> Tensor<1, Int> {
    let data: Vec<i64> = indices.iter().map(|&i| i as i64).collect();
    Tensor::from_data(TensorData::new(data, [indices.len()]), device)
}

/// `dense` with only the output columns `keep` (weights `[in, out]`, and the bias).
fn select_outputs(dense: &Linear, keep: &[usize]) -> Linear {
    let device = dense.weight.device();
    let index = index_tensor(keep, &device);
    Linear {
        weight: Param::from_tensor(dense.weight.val().select(1, index.clone())),
        bias: dense
            .bias
            .as_ref()
            .map(|b| Param::from_tensor(b.val().select(0, index))),
    }
}

/// `dense` with only the input rows `keep` (its bias unchanged).
fn select_inputs(dense: &Linear, keep: &[usize]) -> Linear {
    let index = index_tensor(keep, &dense.weight.device());
    Linear {
        weight: Param::from_tensor(dense.weight.val().select(0, index)),
        bias: dense.bias.as_ref().map(|b| Param::from_tensor(b.val())),
    }
}
