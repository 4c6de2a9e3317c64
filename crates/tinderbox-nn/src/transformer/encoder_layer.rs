//! One transformer encoder layer with BERT's checkpoint layout: self-attention, its output
//! projection and LayerNorm, then the feed-forward `intermediate` and `output` blocks.
//!
//! `norm_first = false` is BERT's post-LayerNorm layer, `x = LN(x + sublayer(x))`;
//! `norm_first = true` the pre-LayerNorm variant, `x = x + sublayer(LN(x))`, which trains more
//! stably from scratch and needs a final LayerNorm after the stack.

use super::{LayerNorm, LayerNormConfig};
use burn::nn::{Dropout, DropoutConfig, Linear};
use burn::prelude::*;

use super::activation::HiddenAct;
use super::attention::{MultiHeadSelfAttention, MultiHeadSelfAttentionConfig};
use crate::dropout::apply_dropout;
use crate::init::normal_linear;
use crate::quantized::{Int8Twin, project};

/// The recipe of a [`BertLayer`].
#[derive(Config, Debug, PartialEq)]
pub struct BertLayerConfig {
    /// Model width.
    pub hidden: usize,
    /// Attention heads.
    pub heads: usize,
    /// Feed-forward width.
    pub intermediate: usize,
    /// Feed-forward activation.
    #[config(default = "HiddenAct::Gelu")]
    pub hidden_act: HiddenAct,
    /// Dropout after each sub-layer.
    #[config(default = 0.1)]
    pub hidden_dropout: f64,
    /// Dropout on the attention probabilities.
    #[config(default = 0.1)]
    pub attention_dropout: f64,
    /// LayerNorm epsilon.
    #[config(default = 1e-12)]
    pub layer_norm_eps: f64,
    /// Pre-LayerNorm instead of BERT's post-LayerNorm.
    #[config(default = false)]
    pub norm_first: bool,
    /// Standard deviation of the normal initialiser.
    #[config(default = 0.02)]
    pub initializer_range: f64,
    /// The width of each head, when the attention is narrower than the model (pruned heads);
    /// `hidden / heads` by default.
    #[config(default = "None")]
    pub head_width: Option<usize>,
}

/// A dense layer, dropout, and the residual LayerNorm (`BertSelfOutput` and `BertOutput`).
#[derive(Module, Debug)]
pub struct ResidualOutput {
    /// The projection back to the model width.
    pub dense: Linear,
    /// Its int8 twin, once quantized.
    #[module(skip)]
    pub(crate) dense_int8: Int8Twin,
    /// Hugging Face's `LayerNorm`.
    pub layer_norm: LayerNorm,
    dropout: Dropout,
}

/// Self-attention and its output block (`BertAttention`).
#[derive(Module, Debug)]
pub struct BertAttention {
    /// Hugging Face's `self` (a Rust keyword).
    pub self_attn: MultiHeadSelfAttention,
    /// Output projection, dropout, LayerNorm.
    pub output: ResidualOutput,
}

/// The feed-forward expansion and its activation (`BertIntermediate`).
#[derive(Module, Debug)]
pub struct BertIntermediate {
    /// `[hidden, intermediate]`.
    pub dense: Linear,
    /// Its int8 twin, once quantized.
    #[module(skip)]
    pub(crate) dense_int8: Int8Twin,
    #[module(skip)]
    act: HiddenAct,
}

/// One encoder layer.
#[derive(Module, Debug)]
pub struct BertLayer {
    /// The attention block.
    pub attention: BertAttention,
    /// The feed-forward expansion.
    pub intermediate: BertIntermediate,
    /// The feed-forward projection and its LayerNorm.
    pub output: ResidualOutput,
    #[module(skip)]
    norm_first: bool,
}

impl BertLayerConfig {
    fn dense(&self, d_in: usize, d_out: usize, device: &Device) -> Linear {
        normal_linear(d_in, d_out, self.initializer_range, device)
    }

    fn residual(&self, d_in: usize, device: &Device) -> ResidualOutput {
        ResidualOutput {
            dense: self.dense(d_in, self.hidden, device),
            dense_int8: None,
            layer_norm: LayerNormConfig::new(self.hidden)
                .with_epsilon(self.layer_norm_eps)
                .init(device),
            dropout: DropoutConfig::new(self.hidden_dropout).init(),
        }
    }

    /// Builds the layer with BERT's initialisation.
    pub fn init(&self, device: &Device) -> BertLayer {
        let attention = MultiHeadSelfAttentionConfig::new(self.hidden, self.heads)
            .with_dropout(self.attention_dropout)
            .with_initializer_range(self.initializer_range)
            .with_head_width(self.head_width);
        BertLayer {
            attention: BertAttention {
                output: self.residual(attention.width(), device),
                self_attn: attention.init(device),
            },
            intermediate: BertIntermediate {
                dense: self.dense(self.hidden, self.intermediate, device),
                dense_int8: None,
                act: self.hidden_act,
            },
            output: self.residual(self.intermediate, device),
            norm_first: self.norm_first,
        }
    }
}

impl BertLayer {
    /// The attention weights `[B, heads, L, L]` this layer applies to its input `x`.
    pub fn attention_probs(&self, x: Tensor<3>, mask_pad: Option<Tensor<2, Bool>>) -> Tensor<4> {
        let x = if self.norm_first {
            self.attention.output.layer_norm.forward(x)
        } else {
            x
        };
        self.attention.self_attn.probs(x, mask_pad, false)
    }

    /// `[B, L, H]` to `[B, L, H]`; `mask_pad [B, L]` is true at padding.
    pub fn forward(&self, x: Tensor<3>, mask_pad: Option<Tensor<2, Bool>>) -> Tensor<3> {
        let attention = &self.attention;
        let feed_forward = |h: Tensor<3>| {
            let (up, down) = (&self.intermediate, &self.output);
            let inner = up.act.forward(project(&up.dense, &up.dense_int8, h));
            apply_dropout(&down.dropout, project(&down.dense, &down.dense_int8, inner))
        };
        let attend = |h: Tensor<3>| {
            let context = attention.self_attn.forward(h, mask_pad.clone(), false);
            apply_dropout(
                &attention.output.dropout,
                project(
                    &attention.output.dense,
                    &attention.output.dense_int8,
                    context,
                ),
            )
        };
        if self.norm_first {
            let x = x.clone() + attend(attention.output.layer_norm.forward(x));
            x.clone() + feed_forward(self.output.layer_norm.forward(x))
        } else {
            let x = attention.output.layer_norm.forward(x.clone() + attend(x));
            self.output.layer_norm.forward(x.clone() + feed_forward(x))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Distribution;

    fn layer(norm_first: bool) -> BertLayer {
        BertLayerConfig::new(8, 2, 16)
            .with_norm_first(norm_first)
            .init(&Device::default())
    }

    #[test]
    fn padding_does_not_change_real_positions() {
        let device = Device::default();
        for norm_first in [false, true] {
            let layer = layer(norm_first);
            let x = Tensor::<3>::random([1, 5, 8], Distribution::Normal(0.0, 1.0), &device);
            let pad = Tensor::<2, Bool>::from_data([[false, false, false, true, true]], &device);
            let padded = layer.forward(x.clone(), Some(pad)).narrow(1, 0, 3);
            let alone = layer.forward(x.narrow(1, 0, 3), None);
            let diff: f32 = (padded - alone).abs().max().into_scalar();
            assert!(diff < 1e-5, "norm_first={norm_first}: {diff}");
        }
    }

    #[test]
    fn post_norm_output_is_normalised() {
        let device = Device::default();
        let x = Tensor::<3>::random([2, 3, 8], Distribution::Normal(3.0, 5.0), &device);
        let y = layer(false).forward(x, None);
        // LayerNorm with gamma 1, beta 0: every position has mean 0 and variance 1.
        let mean: f32 = y.clone().mean_dim(2).abs().max().into_scalar();
        let var: f32 = (y.var_bias(2) - 1.0).abs().max().into_scalar();
        assert!(mean < 1e-5 && var < 1e-3, "mean {mean}, var {var}");
    }
}
