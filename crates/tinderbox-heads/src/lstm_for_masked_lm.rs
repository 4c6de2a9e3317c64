//! The seeds' masked-language-model toy: `Embedding(vocab, 256)`, `LSTM(128)` returning every
//! position, and a dense softmax over the vocabulary predicting the masked word.
//!
//! A left-to-right LSTM sees only the words before the mask, so it is a baseline, not a rival
//! to BERT; it is here to show the difference the recipe makes.

use burn::nn::{Embedding, EmbeddingConfig, Initializer, Linear, LinearConfig};
use burn::prelude::*;
use tinderbox_nn::rnn::{Lstm, LstmConfig};

use crate::masked_lm::MaskedLm;

/// The sizes of an [`LstmForMaskedLm`].
#[derive(Config, Debug, PartialEq)]
pub struct LstmForMaskedLmConfig {
    /// Vocabulary size.
    pub vocab_size: usize,
    /// Embedding width.
    #[config(default = 256)]
    pub embed_dim: usize,
    /// LSTM units.
    #[config(default = 128)]
    pub hidden: usize,
}

/// Embedding, LSTM and a dense layer over the vocabulary.
///
/// ```
/// use burn::prelude::*;
/// use tinderbox_heads::{LstmForMaskedLmConfig, MaskedLm};
///
/// let device = Device::default();
/// let model = LstmForMaskedLmConfig::new(50).with_embed_dim(8).with_hidden(4).init(&device);
/// let ids = Tensor::<2, Int>::from_ints([[2, 7, 4, 3], [2, 9, 3, 0]], &device);
/// let logits = model.logits_at(ids.clone(), ids.equal_elem(0), Tensor::from_ints([2, 5], &device));
/// assert_eq!(logits.dims(), [2, 50]);
/// ```
#[derive(Module, Debug)]
pub struct LstmForMaskedLm {
    /// Token embeddings.
    pub embedding: Embedding,
    /// The recurrent layer.
    pub lstm: Lstm,
    /// The projection onto the vocabulary.
    pub output: Linear,
}

impl LstmForMaskedLmConfig {
    /// Builds the model with Keras' initialisers.
    pub fn init(&self, device: &Device) -> LstmForMaskedLm {
        LstmForMaskedLm {
            embedding: EmbeddingConfig::new(self.vocab_size, self.embed_dim)
                .with_initializer(Initializer::Uniform {
                    min: -0.05,
                    max: 0.05,
                })
                .init(device),
            lstm: LstmConfig::new(self.embed_dim, self.hidden).init(device),
            output: LinearConfig::new(self.hidden, self.vocab_size)
                .with_initializer(Initializer::XavierUniform { gain: 1.0 })
                .init(device),
        }
    }
}

impl MaskedLm for LstmForMaskedLm {
    fn logits_at(
        &self,
        ids: Tensor<2, Int>,
        mask_pad: Tensor<2, Bool>,
        positions: Tensor<1, Int>,
    ) -> Tensor<2> {
        let (hidden, _) = self
            .lstm
            .forward(self.embedding.forward(ids), Some(mask_pad));
        let [b, l, h] = hidden.dims();
        self.output
            .forward(hidden.reshape([b * l, h]).select(0, positions))
    }

    fn vocab_size(&self) -> usize {
        self.output.weight.dims()[1]
    }

    fn max_length(&self) -> Option<usize> {
        None
    }
}
