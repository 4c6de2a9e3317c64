//! The seed text classifier's encoder, after Keras' `Embedding(vocab, 32)` and
//! `LSTM(32, dropout=0.2, recurrent_dropout=0.2)`.

use burn::nn::{Embedding, EmbeddingConfig, Initializer};
use burn::prelude::*;

use crate::rnn::{Lstm, LstmConfig};
use crate::sequence::{Encoded, SequenceEncoder};

/// The recipe of an [`LstmEncoder`]; saved in a run's `config.json`.
#[derive(Config, Debug, PartialEq)]
pub struct LstmEncoderConfig {
    /// Vocabulary size (embedding rows).
    pub vocab_size: usize,
    /// Embedding width.
    #[config(default = 32)]
    pub embed_dim: usize,
    /// LSTM units.
    #[config(default = 32)]
    pub hidden: usize,
    /// Dropout on the LSTM's inputs.
    #[config(default = 0.2)]
    pub dropout: f64,
    /// Dropout on the LSTM's recurrent state.
    #[config(default = 0.2)]
    pub recurrent_dropout: f64,
    /// Keep the state through padding instead of running over it (Keras' `mask_zero`).
    #[config(default = false)]
    pub skip_padding: bool,
}

/// Embedding then LSTM.
///
/// ```
/// use burn::prelude::*;
/// use tinderbox_nn::{SequenceEncoder, text::LstmEncoderConfig};
///
/// let device = Device::default();
/// let encoder = LstmEncoderConfig::new(100).init(&device);
/// let ids = Tensor::<2, Int>::from_ints([[0, 0, 5, 7], [3, 9, 2, 4]], &device);
/// let out = encoder.encode(ids.clone(), ids.equal_elem(0));
/// assert_eq!(out.hidden.dims(), [2, 4, 32]);
/// assert_eq!(out.final_state.unwrap().dims(), [2, 32]);
/// ```
#[derive(Module, Debug)]
pub struct LstmEncoder {
    embedding: Embedding,
    lstm: Lstm,
}

impl LstmEncoderConfig {
    /// Builds the encoder with Keras' initialisers (embedding uniform in +-0.05).
    pub fn init(&self, device: &Device) -> LstmEncoder {
        LstmEncoder {
            embedding: EmbeddingConfig::new(self.vocab_size, self.embed_dim)
                .with_initializer(Initializer::Uniform {
                    min: -0.05,
                    max: 0.05,
                })
                .init(device),
            lstm: LstmConfig::new(self.embed_dim, self.hidden)
                .with_dropout(self.dropout)
                .with_recurrent_dropout(self.recurrent_dropout)
                .with_skip_padding(self.skip_padding)
                .init(device),
        }
    }
}

impl SequenceEncoder for LstmEncoder {
    fn embed_tokens(&self, ids: Tensor<2, Int>) -> Tensor<3> {
        self.embedding.forward(ids)
    }

    fn encode_embedded(&self, embedded: Tensor<3>, mask_pad: Tensor<2, Bool>) -> Encoded {
        let (hidden, last) = self.lstm.forward(embedded, Some(mask_pad));
        Encoded {
            hidden,
            final_state: Some(last),
            pooled: None,
        }
    }

    fn hidden_size(&self) -> usize {
        self.lstm.recurrent_kernel.dims()[0]
    }
}
