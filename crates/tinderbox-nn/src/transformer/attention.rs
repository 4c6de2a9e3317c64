//! Multi-head self-attention with the query/key/value projections of BERT's `BertSelfAttention`
//! (the output projection lives in the encoder layer, as in the checkpoints).

use burn::nn::{Dropout, DropoutConfig, Linear};
use burn::prelude::*;
use tinderbox_ops::{attention_probs, scaled_dot_product_attention};

use crate::dropout::apply_dropout;
use crate::init::normal_linear;

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
}

/// `softmax(Q Kᵀ / sqrt(d)) V` over `heads` heads of width `hidden / heads`.
///
/// At inference, and in training without attention dropout, it runs burn's fused attention op;
/// with dropout it builds the probabilities so that it can drop some, as BERT does.
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
    dropout: Dropout,
    #[module(skip)]
    heads: usize,
}

impl MultiHeadSelfAttentionConfig {
    /// Builds the layer with BERT's initialisation (normal weights, zero biases).
    pub fn init(&self, device: &Device) -> MultiHeadSelfAttention {
        let projection = || normal_linear(self.hidden, self.hidden, self.initializer_range, device);
        MultiHeadSelfAttention {
            query: projection(),
            key: projection(),
            value: projection(),
            dropout: DropoutConfig::new(self.dropout).init(),
            heads: self.heads.max(1),
        }
    }
}

impl MultiHeadSelfAttention {
    /// `[B, L, H]` to `[B, heads, L, H / heads]`.
    fn split_heads(&self, x: Tensor<3>) -> Tensor<4> {
        let [b, l, h] = x.dims();
        x.reshape([b, l, self.heads, h / self.heads])
            .swap_dims(1, 2)
    }

    /// Attends every position of `x [B, L, H]` to the unpadded positions (`mask_pad [B, L]`,
    /// true at padding) and, if `causal`, to earlier ones only. Returns the context `[B, L, H]`.
    pub fn forward(
        &self,
        x: Tensor<3>,
        mask_pad: Option<Tensor<2, Bool>>,
        causal: bool,
    ) -> Tensor<3> {
        let [b, l, h] = x.dims();
        let q = self.split_heads(self.query.forward(x.clone()));
        let k = self.split_heads(self.key.forward(x.clone()));
        let v = self.split_heads(self.value.forward(x));
        let dropping = self.dropout.prob > 0.0 && q.device().is_autodiff();
        let context = if dropping {
            self.attend_with_dropout(q, k, v, mask_pad, causal)
        } else {
            scaled_dot_product_attention(q, k, v, mask_pad, causal)
        };
        context.swap_dims(1, 2).reshape([b, l, h])
    }

    fn attend_with_dropout(
        &self,
        q: Tensor<4>,
        k: Tensor<4>,
        v: Tensor<4>,
        mask_pad: Option<Tensor<2, Bool>>,
        causal: bool,
    ) -> Tensor<4> {
        apply_dropout(&self.dropout, attention_probs(q, k, mask_pad, causal)).matmul(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Distribution;

    #[test]
    fn fused_and_explicit_paths_agree() {
        let device = Device::default();
        let layer = MultiHeadSelfAttentionConfig::new(8, 2)
            .with_dropout(0.0)
            .init(&device);
        let x = Tensor::<3>::random([2, 4, 8], Distribution::Normal(0.0, 1.0), &device);
        let pad = Tensor::<2, Bool>::from_data([[false, false, true, true], [false; 4]], &device);
        let fused = layer.forward(x.clone(), Some(pad.clone()), true);
        let split = |t| layer.split_heads(t);
        let explicit = layer
            .attend_with_dropout(
                split(layer.query.forward(x.clone())),
                split(layer.key.forward(x.clone())),
                split(layer.value.forward(x)),
                Some(pad),
                true,
            )
            .swap_dims(1, 2)
            .reshape([2, 4, 8]);
        let diff: f32 = (fused - explicit).abs().max().into_scalar();
        assert!(diff < 1e-5, "{diff}");
    }
}
