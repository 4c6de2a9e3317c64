//! Any [`SequenceEncoder`] with any [`Head`] (with the `train` feature, trainable on
//! `TextBatch`es).

use burn::prelude::*;
use burn::tensor::activation::softmax;
use tinderbox_nn::pruning::{MagnitudePruning, MagnitudePruningConfig, linear_sparsity};
use tinderbox_nn::{ModelError, SequenceEncoder};

use crate::head::Head;

/// An encoder and a head: the model of every text classifier (LSTM or transformer).
///
/// ```
/// use burn::prelude::*;
/// use tinderbox_heads::{ClassificationHeadConfig, SequenceClassifier};
/// use tinderbox_nn::text::LstmEncoderConfig;
///
/// let device = Device::default();
/// let model = SequenceClassifier::new(
///     LstmEncoderConfig::new(1000).init(&device),
///     ClassificationHeadConfig::new(32, 2).init(&device),
/// );
/// let ids = Tensor::<2, Int>::from_ints([[0, 0, 17, 4], [5, 6, 7, 8]], &device);
/// let probs = model.predict_proba(ids.clone(), ids.equal_elem(0));
/// assert_eq!(probs.dims(), [2, 2]);
/// ```
#[derive(Module, Debug)]
pub struct SequenceClassifier<E, H> {
    /// The encoder.
    pub encoder: E,
    /// The head.
    pub head: H,
    /// How a batch that carries a teacher's logits is scored while training.
    #[module(skip)]
    pub distillation: Option<Distillation>,
    /// The encoder's gradual magnitude pruning while training, if any (the head stays dense).
    #[module(skip)]
    pub pruning: Option<MagnitudePruning>,
}

/// Knowledge distillation's settings (Hinton et al. 2015): the loss is
/// `α · T² · KL(teacher ‖ student at temperature T) + (1 - α) · cross-entropy`
/// ([`tinderbox_ops::distillation_loss`]).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Distillation {
    /// `T`: above 1 softens both distributions, so that the teacher's ranking of the wrong
    /// classes carries information.
    pub temperature: f64,
    /// `α`: the weight of the soft term (the rest goes to the labels).
    pub alpha: f64,
}

impl<E: SequenceEncoder, H: Head> SequenceClassifier<E, H> {
    /// Joins an encoder and a head.
    pub fn new(encoder: E, head: H) -> Self {
        Self {
            encoder,
            head,
            distillation: None,
            pruning: None,
        }
    }

    /// The classifier whose encoder's dense layers are pruned by magnitude while it trains, as
    /// `config` schedules (Zhu & Gupta 2017; the pruned weights are exact zeros in every
    /// checkpoint, so a resumed run keeps them).
    pub fn with_pruning(self, config: MagnitudePruningConfig) -> Result<Self, ModelError> {
        Ok(Self {
            pruning: Some(MagnitudePruning::new(config, "encoder")?),
            ..self
        })
    }

    /// The fraction of the encoder's dense weights that are zero.
    pub fn encoder_sparsity(&self) -> f64 {
        linear_sparsity(self, "encoder")
    }

    /// The classifier trained on its batches' teacher logits with `distillation` (batches
    /// without them keep the head's loss).
    pub fn with_distillation(self, distillation: Distillation) -> Self {
        Self {
            distillation: Some(distillation),
            ..self
        }
    }

    /// Class logits `[B, C]`.
    pub fn logits(&self, ids: Tensor<2, Int>, mask_pad: Tensor<2, Bool>) -> Tensor<2> {
        let encoded = self.encoder.encode(ids, mask_pad.clone());
        self.head.forward(encoded, mask_pad)
    }

    /// Class logits `[B, C]` from the encoder's token embeddings `[B, L, E]` (see
    /// [`SequenceEncoder::embed_tokens`]): the differentiable entry that gradient attributions use.
    pub fn logits_embedded(&self, embedded: Tensor<3>, mask_pad: Tensor<2, Bool>) -> Tensor<2> {
        let encoded = self.encoder.encode_embedded(embedded, mask_pad.clone());
        self.head.forward(encoded, mask_pad)
    }

    /// Class probabilities `[B, C]`.
    pub fn predict_proba(&self, ids: Tensor<2, Int>, mask_pad: Tensor<2, Bool>) -> Tensor<2> {
        softmax(self.logits(ids, mask_pad), 1)
    }
}
