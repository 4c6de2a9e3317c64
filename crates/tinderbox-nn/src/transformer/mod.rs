//! Transformer layers and the BERT encoder, each a `Config` + `Module` in its own file, with
//! field names that mirror Hugging Face's BERT checkpoints.

mod activation;
mod attention;
mod bert;
mod embeddings;
mod encoder_layer;
mod int8;
mod layer_norm;
mod local_heads_init;
mod positions;

pub use activation::HiddenAct;
pub use attention::{MultiHeadSelfAttention, MultiHeadSelfAttentionConfig};
pub use bert::{BertConfig, BertEncoder, BertModel, BertOutput, BertPooler};
pub use embeddings::{BertEmbeddings, BertEmbeddingsConfig};
pub use encoder_layer::{
    BertAttention, BertIntermediate, BertLayer, BertLayerConfig, ResidualOutput,
};
pub use layer_norm::{LayerNorm, LayerNormConfig};
pub use local_heads_init::LocalHeadsInit;
pub use positions::{fourier_table, sinusoidal_positions, sinusoidal_table};
