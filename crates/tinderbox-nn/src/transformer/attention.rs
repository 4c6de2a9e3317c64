//! Multi-head self-attention with the query/key/value projections of BERT's `BertSelfAttention`
//! (the output projection lives in the encoder layer, as in the checkpoints).
//!
//! Reference: `transformers` 5.24, `modeling_bert.py` `BertSelfAttention` (eager; masked scores
//! at the float minimum, as there); within 1e-5 through the whole model
//! (`tests/minilm_reference.rs`, `tests/mlm_reference.rs`).

use burn::nn::{Dropout, DropoutConfig, Linear};
use burn::prelude::*;
use tinderbox_ops::multi_head_attention;

use crate::init::normal_linear;
use crate::quantized::{Int8Twin, project};

/// The recipe of a [`MultiHeadSelfAttention`].
#[derive(Config, Debug, PartialEq)]
pub struct MultiHeadSelfAttentionConfig {
    /// Model width; a multiple of `heads`.
    pub hidden: usize,
    /// Number of heads.
    pub heads: usize,
    /// Dropout on the attention probabilities while training.
    #[config(default = 0.1)]
    pub dropout: f64,
    /// Standard deviation of the normal initialiser (BERT's `initializer_range`).
    #[config(default = 0.02)]
    pub initializer_range: f64,
    /// The width of each head; `hidden / heads` unless heads were pruned away (then the
    /// projections are `heads × head_width` wide, narrower than the model).
    #[config(default = "None")]
    pub head_width: Option<usize>,
}

/// `softmax(Q Kᵀ / sqrt(d)) V` over `heads` heads of width `hidden / heads`.
///
/// The heads stay side by side in the projections' layout: [`multi_head_attention`] reads them in
/// place (one fused operation on burn's CPU backend). While training on an autodiff device it
/// drops attention probabilities, as BERT does.
///
/// ```
/// use burn::prelude::*;
/// use tinderbox_nn::transformer::MultiHeadSelfAttentionConfig;
///
/// let device = Device::default();
/// let attention = MultiHeadSelfAttentionConfig::new(16, 4).init(&device);
/// let x = Tensor::<3>::ones([2, 5, 16], &device);
/// let pad = Tensor::<2, Bool>::from_data([[false, false, false, true, true], [false; 5]], &device);
/// assert_eq!(attention.forward(x, Some(pad), false).dims(), [2, 5, 16]);
/// ```
#[derive(Module, Debug)]
pub struct MultiHeadSelfAttention {
    /// Query projection.
    pub query: Linear,
    /// Key projection.
    pub key: Linear,
    /// Value projection.
    pub value: Linear,
    /// The int8 twins of the three projections, once quantized (`BertModel::quantize_int8`).
    #[module(skip)]
    pub(crate) int8: [Int8Twin; 3],
    dropout: Dropout,
    #[module(skip)]
    heads: usize,
}

impl MultiHeadSelfAttentionConfig {
    /// The width of the projections: all heads side by side.
    pub fn width(&self) -> usize {
        let heads = self.heads.max(1);
        heads * self.head_width.unwrap_or(self.hidden / heads)
    }

    /// Builds the layer with BERT's initialisation (normal weights, zero biases).
    pub fn init(&self, device: &Device) -> MultiHeadSelfAttention {
        let width = self.width();
        let projection = || normal_linear(self.hidden, width, self.initializer_range, device);
        MultiHeadSelfAttention {
            query: projection(),
            key: projection(),
            value: projection(),
            int8: Default::default(),
            dropout: DropoutConfig::new(self.dropout).init(),
            heads: self.heads.max(1),
        }
    }
}

impl MultiHeadSelfAttention {
    /// The number of heads.
    pub fn heads(&self) -> usize {
        self.heads
    }

    /// After pruning took heads out of the projections.
    pub(crate) fn set_heads(&mut self, heads: usize) {
        self.heads = heads.max(1);
    }

    /// Attends every position of `x [B, L, H]` to the unpadded positions (`mask_pad [B, L]`,
    /// true at padding) and, if `causal`, to earlier ones only. Returns the context
    /// `[B, L, heads × head width]` (`[B, L, H]` unless heads were pruned).
    pub fn forward(
        &self,
        x: Tensor<3>,
        mask_pad: Option<Tensor<2, Bool>>,
        causal: bool,
    ) -> Tensor<3> {
        let dropout = if self.dropout.training.is_enabled() && x.device().is_autodiff() {
            self.dropout.prob
        } else {
            0.0
        };
        let [q, k, v] = self.project(x);
        multi_head_attention(q, k, v, self.heads, mask_pad, causal, dropout)
    }

    /// The attention weights `[B, heads, L, L]` that [`forward`](Self::forward) applies (without
    /// dropout): rows are queries, columns keys. For inspection (attention rollout).
    pub fn probs(
        &self,
        x: Tensor<3>,
        mask_pad: Option<Tensor<2, Bool>>,
        causal: bool,
    ) -> Tensor<4> {
        let [b, l, _] = x.dims();
        let split = |t: Tensor<3>| {
            let d = t.dims()[2] / self.heads;
            t.reshape([b, l, self.heads, d]).swap_dims(1, 2)
        };
        let [q, k, _] = self.project(x).map(split);
        tinderbox_ops::attention_probs(q, k, mask_pad, causal)
    }

    /// The query, key and value projections of `x`, through the int8 twins if quantized.
    fn project(&self, x: Tensor<3>) -> [Tensor<3>; 3] {
        let layers = [&self.query, &self.key, &self.value];
        std::array::from_fn(|i| project(layers[i], &self.int8[i], x.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Distribution;
    use burn::tensor::activation::softmax;

    #[test]
    fn matches_attention_written_out_per_head() {
        let device = Device::default();
        let layer = MultiHeadSelfAttentionConfig::new(8, 2).init(&device);
        let x = Tensor::<3>::random([2, 4, 8], Distribution::Normal(0.0, 1.0), &device);
        let pad = Tensor::<2, Bool>::from_data([[false, false, true, true], [false; 4]], &device);
        let ours = layer.forward(x.clone(), Some(pad.clone()), true);
        // [B, L, 8] to [B, 2, L, 4]
        let split = |t: Tensor<3>| t.reshape([2, 4, 2, 4]).swap_dims(1, 2);
        let (q, k, v) = (
            split(layer.query.forward(x.clone())),
            split(layer.key.forward(x.clone())),
            split(layer.value.forward(x)),
        );
        let keys_hidden = pad.reshape([2, 1, 1, 4]).expand([2, 2, 4, 4]);
        let future = tinderbox_ops::causal_mask(4, &device);
        let hidden = keys_hidden.bool_or(future.reshape([1, 1, 4, 4]).expand([2, 2, 4, 4]));
        let scores = (q.matmul(k.swap_dims(2, 3)) / 2.0).mask_fill(hidden, f32::NEG_INFINITY);
        let written_out = softmax(scores, 3)
            .matmul(v)
            .swap_dims(1, 2)
            .reshape([2, 4, 8]);
        let diff: f32 = (ours - written_out).abs().max().into_scalar();
        assert!(diff < 1e-5, "{diff}");
    }
}
