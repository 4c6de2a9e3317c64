//! A bag of word embeddings (fastText's classifier without n-grams): each position is its
//! embedding, and the head averages them. A strong, fast baseline for topic classification.

use burn::nn::{Dropout, DropoutConfig, Embedding, EmbeddingConfig, Initializer};
use burn::prelude::*;

use crate::sequence::{Encoded, SequenceEncoder};

/// The recipe of a [`BagEncoder`]; saved in a run's `config.json`.
#[derive(Config, Debug, PartialEq)]
pub struct BagEncoderConfig {
    /// Vocabulary size (embedding rows).
    pub vocab_size: usize,
    /// Embedding width.
    #[config(default = 64)]
    pub embed_dim: usize,
    /// Dropout on the embeddings.
    #[config(default = 0.2)]
    pub dropout: f64,
}

/// Word embeddings, one hidden state per position.
///
/// ```
/// use burn::prelude::*;
/// use tinderbox_nn::{SequenceEncoder, text::BagEncoderConfig};
///
/// let device = Device::default();
/// let encoder = BagEncoderConfig::new(100).with_embed_dim(8).init(&device);
/// let ids = Tensor::<2, Int>::from_ints([[4, 5, 0]], &device);
/// let out = encoder.encode(ids.clone(), ids.equal_elem(0));
/// assert_eq!(out.hidden.dims(), [1, 3, 8]);
/// assert!(out.final_state.is_none());
/// ```
#[derive(Module, Debug)]
pub struct BagEncoder {
    embedding: Embedding,
    dropout: Dropout,
}

impl BagEncoderConfig {
    /// Builds the encoder (embedding uniform in +-0.05, as Keras).
    pub fn init(&self, device: &Device) -> BagEncoder {
        BagEncoder {
            embedding: EmbeddingConfig::new(self.vocab_size, self.embed_dim)
                .with_initializer(Initializer::Uniform {
                    min: -0.05,
                    max: 0.05,
                })
                .init(device),
            dropout: DropoutConfig::new(self.dropout).init(),
        }
    }
}

impl SequenceEncoder for BagEncoder {
    fn embed_tokens(&self, ids: Tensor<2, Int>) -> Tensor<3> {
        self.embedding.forward(ids)
    }

    fn encode_embedded(&self, embedded: Tensor<3>, _mask_pad: Tensor<2, Bool>) -> Encoded {
        Encoded {
            hidden: self.dropout.forward(embedded),
            final_state: None,
            pooled: None,
        }
    }

    fn hidden_size(&self) -> usize {
        self.embedding.weight.dims()[1]
    }
}
