//! Token classification (tagging, named entities): one dense layer over every position's hidden
//! state, scored with cross-entropy that skips padding and sub-word continuations labelled -100.

use burn::nn::{Dropout, DropoutConfig, Linear, LinearConfig};
use burn::prelude::*;
use tinderbox_nn::Encoded;
use tinderbox_nn::dropout::apply_dropout;
use tinderbox_nn::init::{glorot_uniform, zero_bias};
use tinderbox_ops::{IGNORE_INDEX, cross_entropy};

use crate::head::Head;

/// The recipe of a [`TokenClassificationHead`].
#[derive(Config, Debug, PartialEq)]
pub struct TokenClassificationHeadConfig {
    /// The encoder's hidden size.
    pub hidden: usize,
    /// The number of tags.
    pub num_labels: usize,
    /// Dropout before the dense layer.
    #[config(default = 0.1)]
    pub dropout: f64,
}

/// Dropout and a dense layer at every position.
///
/// Its logits are `[B * L, C]`, row `b * L + l` for position `l` of sequence `b`; targets are
/// flattened the same way, with [`IGNORE_INDEX`] where no tag is to be learned. Padding
/// positions are ignored whatever their target.
///
/// ```
/// use burn::prelude::*;
/// use tinderbox_heads::{Head, TokenClassificationHeadConfig};
/// use tinderbox_nn::Encoded;
///
/// let device = Device::default();
/// let head = TokenClassificationHeadConfig::new(8, 5).init(&device);
/// let encoded = Encoded { hidden: Tensor::ones([2, 3, 8], &device), final_state: None, pooled: None };
/// let pad = Tensor::<2, Bool>::from_data([[false, false, true], [false; 3]], &device);
/// let logits = head.forward(encoded, pad);
/// assert_eq!(logits.dims(), [6, 5]);
/// ```
#[derive(Module, Debug)]
pub struct TokenClassificationHead {
    dropout: Dropout,
    dense: Linear,
}

impl TokenClassificationHeadConfig {
    /// Builds the head (Glorot-uniform weights, zero bias).
    pub fn init(&self, device: &Device) -> TokenClassificationHead {
        let mut dense = LinearConfig::new(self.hidden, self.num_labels)
            .with_initializer(glorot_uniform())
            .init(device);
        dense.bias = Some(zero_bias(self.num_labels, device));
        TokenClassificationHead {
            dropout: DropoutConfig::new(self.dropout).init(),
            dense,
        }
    }
}

impl TokenClassificationHead {
    /// Flattens per-position tags `[B, L]` into targets `[B * L]`, with padding ignored.
    pub fn targets(tags: Tensor<2, Int>, mask_pad: Tensor<2, Bool>) -> Tensor<1, Int> {
        let [b, l] = tags.dims();
        tags.mask_fill(mask_pad, IGNORE_INDEX).reshape([b * l])
    }
}

impl Head for TokenClassificationHead {
    fn forward(&self, encoded: Encoded, _mask_pad: Tensor<2, Bool>) -> Tensor<2> {
        let [b, l, h] = encoded.hidden.dims();
        let hidden = apply_dropout(&self.dropout, encoded.hidden).reshape([b * l, h]);
        self.dense.forward(hidden)
    }

    /// Mean cross-entropy over the positions whose target is not [`IGNORE_INDEX`].
    fn loss(&self, logits: Tensor<2>, targets: Tensor<1, Int>) -> Tensor<1> {
        cross_entropy(logits, targets, 0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::activation::log_softmax;

    #[test]
    fn loss_skips_padding_and_ignored_positions() {
        let device = Device::default();
        let head = TokenClassificationHeadConfig::new(4, 3)
            .with_dropout(0.0)
            .init(&device);
        let hidden = Tensor::<3>::from_floats(
            [[
                [1.0, 0.0, 2.0, -1.0],
                [0.5, 0.5, 0.5, 0.5],
                [9.0, 9.0, 9.0, 9.0],
            ]],
            &device,
        );
        let pad = Tensor::<2, Bool>::from_data([[false, false, true]], &device);
        let tags = Tensor::<2, Int>::from_ints([[2, IGNORE_INDEX, 1]], &device);
        let encoded = Encoded {
            hidden,
            final_state: None,
            pooled: None,
        };
        let logits = head.forward(encoded, pad.clone());
        let targets = TokenClassificationHead::targets(tags, pad);
        let loss: f32 = head.loss(logits.clone(), targets).into_scalar();
        // Only position 0 (tag 2) counts.
        let expected = -log_softmax(logits, 1)
            .slice([0..1, 2..3])
            .into_scalar::<f32>();
        assert!((loss - expected).abs() < 1e-6, "{loss} vs {expected}");
    }
}
