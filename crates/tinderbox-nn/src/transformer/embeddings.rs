//! BERT's input embeddings: word + learned absolute position + token type, then LayerNorm and
//! dropout. Field names mirror `BertEmbeddings` in Hugging Face checkpoints.
//!
//! Reference: `transformers` 5.24, `modeling_bert.py` `BertEmbeddings` (absolute positions);
//! within 1e-5 through the whole model (`tests/minilm_reference.rs`).

use super::{LayerNorm, LayerNormConfig};
use burn::module::Param;
use burn::nn::{Dropout, DropoutConfig, Embedding, EmbeddingConfig, Initializer};
use burn::prelude::*;

use crate::dropout::apply_dropout;

/// The recipe of [`BertEmbeddings`].
#[derive(Config, Debug, PartialEq)]
pub struct BertEmbeddingsConfig {
    /// Vocabulary size.
    pub vocab_size: usize,
    /// Model width.
    pub hidden: usize,
    /// Length of the position table: the longest sequence the model reads.
    #[config(default = 512)]
    pub max_position_embeddings: usize,
    /// Number of token types (segments).
    #[config(default = 2)]
    pub type_vocab_size: usize,
    /// LayerNorm epsilon.
    #[config(default = 1e-12)]
    pub layer_norm_eps: f64,
    /// Dropout after the LayerNorm.
    #[config(default = 0.1)]
    pub dropout: f64,
    /// Standard deviation of the normal initialiser.
    #[config(default = 0.02)]
    pub initializer_range: f64,
}

/// Token, position and type embeddings summed and normalised.
#[derive(Module, Debug)]
pub struct BertEmbeddings {
    /// `[vocab, hidden]`.
    pub word_embeddings: Embedding,
    /// `[max_position_embeddings, hidden]`.
    pub position_embeddings: Embedding,
    /// `[type_vocab_size, hidden]`.
    pub token_type_embeddings: Embedding,
    /// Hugging Face's `LayerNorm`.
    pub layer_norm: LayerNorm,
    dropout: Dropout,
}

impl BertEmbeddingsConfig {
    /// Builds the embeddings with BERT's initialisation.
    pub fn init(&self, device: &Device) -> BertEmbeddings {
        let table = |rows| {
            EmbeddingConfig::new(rows, self.hidden)
                .with_initializer(Initializer::Normal {
                    mean: 0.0,
                    std: self.initializer_range,
                })
                .init(device)
        };
        BertEmbeddings {
            word_embeddings: table(self.vocab_size),
            position_embeddings: table(self.max_position_embeddings),
            token_type_embeddings: table(self.type_vocab_size),
            layer_norm: LayerNormConfig::new(self.hidden)
                .with_epsilon(self.layer_norm_eps)
                .init(device),
            dropout: DropoutConfig::new(self.dropout).init(),
        }
    }
}

impl BertEmbeddings {
    /// The longest sequence the position table covers.
    pub fn max_positions(&self) -> usize {
        self.position_embeddings.weight.dims()[0]
    }

    /// Starts the learned position table from sine and cosine waves of root mean square `rms`
    /// instead of random values (see [`sinusoidal_table`](super::sinusoidal_table) for why):
    /// for pre-training from scratch.
    pub fn with_sinusoidal_positions(mut self, rms: f64) -> Self {
        let [positions, hidden] = self.position_embeddings.weight.dims();
        let device = self.position_embeddings.weight.device();
        self.position_embeddings.weight =
            Param::from_tensor(super::sinusoidal_positions(positions, hidden, rms, &device));
        self
    }

    /// Embeds `ids [B, L]` (with `type_ids [B, L]`, all 0 when `None`) to `[B, L, H]`.
    /// `L` must not exceed [`max_positions`](Self::max_positions); `BertModel` truncates.
    pub fn forward(&self, ids: Tensor<2, Int>, type_ids: Option<Tensor<2, Int>>) -> Tensor<3> {
        self.forward_words(self.word_embeddings.forward(ids), type_ids)
    }

    /// [`forward`](Self::forward) from the word-embedding rows `[B, L, H]` instead of ids: the
    /// positions and token types added, then LayerNorm and dropout.
    pub fn forward_words(&self, words: Tensor<3>, type_ids: Option<Tensor<2, Int>>) -> Tensor<3> {
        let [b, l, _] = words.dims();
        let device = words.device();
        let positions = Tensor::<1, Int>::arange(0..l as i64, &device).reshape([1, l]);
        let type_ids = type_ids.unwrap_or_else(|| Tensor::zeros([b, l], &device));
        // [1, L, H] broadcasts over the batch instead of looking up B copies of the positions.
        let embedded = words
            + self.token_type_embeddings.forward(type_ids)
            + self.position_embeddings.forward(positions);
        apply_dropout(&self.dropout, self.layer_norm.forward(embedded))
    }
}
