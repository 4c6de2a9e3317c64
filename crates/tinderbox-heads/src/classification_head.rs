//! Sequence classification: pool the hidden states, then one dense layer. Two classes use a
//! single sigmoid unit (Keras' `Dense(1, activation="sigmoid")` with binary cross-entropy);
//! more use a softmax, optionally with class weights.

use burn::nn::loss::CrossEntropyLossConfig;
use burn::nn::{Dropout, DropoutConfig, Linear, LinearConfig};
use burn::prelude::*;
use serde::{Deserialize, Serialize};
use tinderbox_nn::Encoded;
use tinderbox_nn::dropout::apply_dropout;
use tinderbox_nn::init::{glorot_uniform, zero_bias};
use tinderbox_ops::{last_state, masked_max, masked_mean};

use crate::head::Head;

/// How the hidden states of a sequence become one vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Pooling {
    /// The encoder's final state, or the hidden state at the last real position (recurrent
    /// encoders; Keras' `return_sequences=False`).
    Last,
    /// The first position (`[CLS]` for BERT-style encoders).
    First,
    /// The encoder's own pooled summary (BERT's pooler: dense + tanh over `[CLS]`); the first
    /// position for encoders without one.
    Pooler,
    /// The mean over real positions (sentence-transformers).
    Mean,
    /// The maximum over real positions.
    Max,
}

/// The recipe of a [`ClassificationHead`].
#[derive(Config, Debug, PartialEq)]
pub struct ClassificationHeadConfig {
    /// The encoder's hidden size.
    pub hidden: usize,
    /// The number of classes (2 means one sigmoid unit).
    pub num_classes: usize,
    /// How the sequence is pooled.
    #[config(default = "Pooling::Last")]
    pub pooling: Pooling,
    /// Dropout before the dense layer.
    #[config(default = 0.0)]
    pub dropout: f64,
    /// A weight per class for the loss (for imbalanced data).
    #[config(default = "None")]
    pub class_weights: Option<Vec<f32>>,
}

/// Pooling, dropout and a dense layer to class logits.
#[derive(Module, Debug)]
pub struct ClassificationHead {
    dropout: Dropout,
    dense: Linear,
    #[module(skip)]
    pooling: Pooling,
    #[module(skip)]
    num_classes: usize,
    #[module(skip)]
    class_weights: Option<Vec<f32>>,
}

impl ClassificationHeadConfig {
    /// Builds the head (Keras' initialisers: Glorot-uniform weights, zero bias).
    pub fn init(&self, device: &Device) -> ClassificationHead {
        let outputs = if self.num_classes == 2 {
            1
        } else {
            self.num_classes
        };
        let mut dense = LinearConfig::new(self.hidden, outputs)
            .with_initializer(glorot_uniform())
            .init(device);
        dense.bias = Some(zero_bias(outputs, device));
        ClassificationHead {
            dropout: DropoutConfig::new(self.dropout).init(),
            dense,
            pooling: self.pooling,
            num_classes: self.num_classes,
            class_weights: self.class_weights.clone(),
        }
    }
}

impl ClassificationHead {
    /// The number of classes.
    pub fn num_classes(&self) -> usize {
        self.num_classes
    }

    fn pool(&self, encoded: Encoded, mask_pad: Tensor<2, Bool>) -> Tensor<2> {
        match self.pooling {
            Pooling::Last => match encoded.final_state {
                Some(state) => state,
                None => last_state(encoded.hidden, mask_pad),
            },
            Pooling::First => encoded.hidden.narrow(1, 0, 1).squeeze_dim(1),
            Pooling::Pooler => match encoded.pooled {
                Some(pooled) => pooled,
                None => encoded.hidden.narrow(1, 0, 1).squeeze_dim(1),
            },
            Pooling::Mean => masked_mean(encoded.hidden, mask_pad),
            Pooling::Max => masked_max(encoded.hidden, mask_pad),
        }
    }
}

impl Head for ClassificationHead {
    /// Logits `[B, C]`. With two classes the single unit `z` is returned as `[0, z]`: its
    /// softmax is `[1 - sigmoid(z), sigmoid(z)]`, so one loss and one argmax serve both cases.
    fn forward(&self, encoded: Encoded, mask_pad: Tensor<2, Bool>) -> Tensor<2> {
        let pooled = apply_dropout(&self.dropout, self.pool(encoded, mask_pad));
        let logits = self.dense.forward(pooled);
        if self.num_classes == 2 {
            Tensor::cat(vec![logits.zeros_like(), logits], 1)
        } else {
            logits
        }
    }

    /// Softmax cross-entropy, weighted per class if asked; for two classes it equals binary
    /// cross-entropy on the sigmoid unit.
    fn loss(&self, logits: Tensor<2>, targets: Tensor<1, Int>) -> Tensor<1> {
        CrossEntropyLossConfig::new()
            .with_weights(self.class_weights.clone())
            .init(&logits.device())
            .forward(logits, targets)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Distribution;
    use burn::tensor::activation::sigmoid;

    #[test]
    fn binary_head_is_a_sigmoid_unit_with_binary_cross_entropy() {
        let device = Device::default();
        let head = ClassificationHeadConfig::new(4, 2).init(&device);
        let state = Tensor::<2>::random([3, 4], Distribution::Default, &device);
        let encoded = Encoded {
            hidden: state.clone().unsqueeze_dim(1),
            final_state: Some(state.clone()),
            pooled: None,
        };
        let mask = Tensor::<2, Bool>::from_data([[false], [false], [false]], &device);
        let logits = head.forward(encoded, mask);
        assert_eq!(logits.dims(), [3, 2]);
        let targets = Tensor::<1, Int>::from_ints([1, 0, 1], &device);
        let loss: f32 = head.loss(logits, targets).into_scalar();
        let p = sigmoid(head.dense.forward(state))
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        let bce = -(p[0].ln() + (1.0 - p[1]).ln() + p[2].ln()) / 3.0;
        assert!((loss - bce).abs() < 1e-5, "{loss} vs {bce}");
    }

    #[test]
    fn class_weights_weigh_the_loss() {
        let device = Device::default();
        let logits = Tensor::<2>::from_floats([[2.0, 0.0, 0.0], [0.0, 1.0, 0.0]], &device);
        let targets = Tensor::<1, Int>::from_ints([0, 2], &device);
        let head = ClassificationHeadConfig::new(2, 3)
            .with_class_weights(Some(vec![1.0, 1.0, 3.0]))
            .init(&device);
        let loss: f32 = head.loss(logits, targets).into_scalar();
        let l0 = -(2f32.exp() / (2f32.exp() + 2.0)).ln();
        let l1 = -(1.0 / (1.0 + 1f32.exp() + 1.0)).ln();
        let expected = (l0 + 3.0 * l1) / 4.0;
        assert!((loss - expected).abs() < 1e-5, "{loss} vs {expected}");
    }
}
