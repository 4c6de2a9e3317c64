//! A BERT encoder whose configuration is a Hugging Face `config.json` and whose field names are
//! the checkpoint's keys (`embeddings.word_embeddings`, `encoder.layer.0.attention.self...`), so
//! that loading weights reads literally (see [`crate::huggingface`]).
//!
//! Reference: Hugging Face `transformers` 5.24, `models/bert/modeling_bert.py` (`BertModel`, eager
//! attention, float32). Held to it: all-MiniLM-L6-v2's last hidden states and pooled
//! embeddings within 1e-5 (`tests/minilm_reference.rs`), a tiny `BertForMaskedLM`'s logits and
//! gradients within 1e-5 (`tests/mlm_reference.rs`).

use std::collections::BTreeMap;
use std::path::Path;

use super::{LayerNorm, LayerNormConfig};
use burn::nn::Linear;
use burn::prelude::*;
use serde::{Deserialize, Serialize};

use super::activation::HiddenAct;
use super::embeddings::{BertEmbeddings, BertEmbeddingsConfig};
use super::encoder_layer::{BertLayer, BertLayerConfig};
use crate::error::{ModelError, Result};
use crate::init::normal_linear;
use crate::sequence::{Encoded, SequenceEncoder};

fn default_true() -> bool {
    true
}

/// `pruned_heads`, keyed by layer number, which JSON writes as a string (`{"0": [1, 2]}`). Read
/// as strings and parsed here: serde parses integer keys only where a map is read directly
/// from JSON, not inside the run config's internally tagged encoder enum.
fn layer_keys<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> std::result::Result<BTreeMap<usize, Vec<usize>>, D::Error> {
    BTreeMap::<String, Vec<usize>>::deserialize(deserializer)?
        .into_iter()
        .map(|(layer, heads)| {
            layer.parse().map(|n| (n, heads)).map_err(|_| {
                serde::de::Error::custom(format!("pruned_heads: layer {layer:?} is not a number"))
            })
        })
        .collect()
}

/// A BERT configuration in Hugging Face's `config.json` format (unknown keys are ignored), plus
/// three tinderbox settings that default to BERT's behaviour (`norm_first`, `add_pooler`,
/// `intermediate_sizes`).
///
/// ```
/// use tinderbox_nn::transformer::BertConfig;
///
/// let config: BertConfig = serde_json::from_str(
///     r#"{"vocab_size": 100, "hidden_size": 32, "num_hidden_layers": 2,
///         "num_attention_heads": 4, "intermediate_size": 64, "model_type": "bert"}"#,
/// ).unwrap();
/// config.validate().unwrap();
/// let model = config.init(&burn::prelude::Device::default()).unwrap();
/// assert_eq!(model.config().hidden_size, 32);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BertConfig {
    /// Vocabulary size.
    pub vocab_size: usize,
    /// Model width.
    pub hidden_size: usize,
    /// Encoder layers.
    pub num_hidden_layers: usize,
    /// Attention heads per layer.
    pub num_attention_heads: usize,
    /// Feed-forward width.
    pub intermediate_size: usize,
    /// Feed-forward activation name (`gelu`, `gelu_new`, `relu`, `silu`).
    #[serde(default = "BertConfig::default_act")]
    pub hidden_act: String,
    /// Dropout after embeddings and sub-layers.
    #[serde(default = "BertConfig::default_dropout")]
    pub hidden_dropout_prob: f64,
    /// Dropout on attention probabilities.
    #[serde(default = "BertConfig::default_dropout")]
    pub attention_probs_dropout_prob: f64,
    /// Length of the position table.
    #[serde(default = "BertConfig::default_positions")]
    pub max_position_embeddings: usize,
    /// Number of token types.
    #[serde(default = "BertConfig::default_types")]
    pub type_vocab_size: usize,
    /// LayerNorm epsilon.
    #[serde(default = "BertConfig::default_eps")]
    pub layer_norm_eps: f64,
    /// Standard deviation of the initialiser.
    #[serde(default = "BertConfig::default_init_range")]
    pub initializer_range: f64,
    /// The padding token's id.
    #[serde(default)]
    pub pad_token_id: usize,
    /// Only `"absolute"` (learned positions) is implemented.
    #[serde(default = "BertConfig::default_position_type")]
    pub position_embedding_type: String,
    /// Hugging Face's model type (`"bert"`).
    #[serde(default = "BertConfig::default_model_type")]
    pub model_type: String,
    /// tinderbox: pre-LayerNorm layers and a final LayerNorm (for training from scratch).
    #[serde(default)]
    pub norm_first: bool,
    /// tinderbox: whether the model has BERT's pooler (dense + tanh over `[CLS]`).
    #[serde(default = "default_true")]
    pub add_pooler: bool,
    /// The heads removed from each layer, by their index among the layer's original
    /// `num_attention_heads` (Hugging Face's `pruned_heads`, which transformers 4 applied when
    /// it loaded a config; transformers 5 ignores it, see
    /// `benches/compare/pruned_heads_reference.py` for how to load such a folder there).
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "layer_keys"
    )]
    pub pruned_heads: BTreeMap<usize, Vec<usize>>,
    /// tinderbox: the feed-forward width of each layer, once pruned (else `intermediate_size`
    /// everywhere). `transformers` has no such key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intermediate_sizes: Option<Vec<usize>>,
}

impl BertConfig {
    fn default_act() -> String {
        "gelu".into()
    }
    fn default_dropout() -> f64 {
        0.1
    }
    fn default_positions() -> usize {
        512
    }
    fn default_types() -> usize {
        2
    }
    fn default_eps() -> f64 {
        1e-12
    }
    fn default_init_range() -> f64 {
        0.02
    }
    fn default_position_type() -> String {
        "absolute".into()
    }
    fn default_model_type() -> String {
        "bert".into()
    }

    /// A configuration with BERT's defaults for everything but the sizes.
    pub fn new(
        vocab_size: usize,
        hidden_size: usize,
        num_hidden_layers: usize,
        num_attention_heads: usize,
        intermediate_size: usize,
    ) -> Self {
        Self {
            vocab_size,
            hidden_size,
            num_hidden_layers,
            num_attention_heads,
            intermediate_size,
            hidden_act: Self::default_act(),
            hidden_dropout_prob: 0.1,
            attention_probs_dropout_prob: 0.1,
            max_position_embeddings: 512,
            type_vocab_size: 2,
            layer_norm_eps: 1e-12,
            initializer_range: 0.02,
            pad_token_id: 0,
            position_embedding_type: Self::default_position_type(),
            model_type: Self::default_model_type(),
            norm_first: false,
            add_pooler: true,
            pruned_heads: BTreeMap::new(),
            intermediate_sizes: None,
        }
    }

    /// The width of one attention head (`hidden_size / num_attention_heads`), pruned or not.
    pub fn head_width(&self) -> usize {
        self.hidden_size / self.num_attention_heads.max(1)
    }

    /// The original indices of the heads layer `layer` still has, in order.
    pub fn kept_heads(&self, layer: usize) -> Vec<usize> {
        let pruned = self.pruned_heads.get(&layer);
        (0..self.num_attention_heads)
            .filter(|h| pruned.is_none_or(|p| !p.contains(h)))
            .collect()
    }

    /// The feed-forward width of layer `layer`.
    pub fn intermediate_size_of(&self, layer: usize) -> usize {
        self.intermediate_sizes
            .as_ref()
            .and_then(|sizes| sizes.get(layer).copied())
            .unwrap_or(self.intermediate_size)
    }

    /// BERT-mini (Turc et al. 2019, "Well-Read Students Learn Better"): 4 post-LayerNorm layers
    /// of width 256 with 4 heads, FFN 1,024, 128 positions, no pooler, over `vocab_size`
    /// tokens; BERT's dropout and initialisation. The architecture that `examples/mlm.rs`
    /// pre-trains and `text_classification --model bert` fine-tunes.
    pub fn bert_mini(vocab_size: usize) -> Self {
        let mut config = Self::new(vocab_size, 256, 4, 4, 1_024);
        config.max_position_embeddings = 128;
        config.add_pooler = false;
        config
    }

    /// Reads a Hugging Face `config.json`.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| ModelError::io("reading", path, e))?;
        let config: Self = serde_json::from_str(&text).map_err(|e| ModelError::Json {
            path: path.to_path_buf(),
            source: e,
        })?;
        config.validate().map_err(|e| e.at(path))?;
        Ok(config)
    }

    /// The feed-forward activation, or an error naming the unsupported value.
    pub fn activation(&self) -> Result<HiddenAct> {
        HiddenAct::parse(&self.hidden_act).ok_or_else(|| {
            ModelError::config(
                "hidden_act",
                format!(
                    "{:?} is not supported (gelu, gelu_new, gelu_pytorch_tanh, relu, silu)",
                    self.hidden_act
                ),
            )
        })
    }

    /// Checks that the sizes and probabilities make a model.
    pub fn validate(&self) -> Result<()> {
        self.activation()?;
        let sizes = [
            ("vocab_size", self.vocab_size),
            ("hidden_size", self.hidden_size),
            ("num_hidden_layers", self.num_hidden_layers),
            ("num_attention_heads", self.num_attention_heads),
            ("intermediate_size", self.intermediate_size),
            ("max_position_embeddings", self.max_position_embeddings),
            ("type_vocab_size", self.type_vocab_size),
        ];
        if let Some((name, _)) = sizes.iter().find(|(_, v)| *v == 0) {
            return Err(ModelError::config(name, "must be at least 1".into()));
        }
        if !self.hidden_size.is_multiple_of(self.num_attention_heads) {
            return Err(ModelError::config(
                "hidden_size",
                format!(
                    "{} is not a multiple of num_attention_heads {}",
                    self.hidden_size, self.num_attention_heads
                ),
            ));
        }
        for (name, p) in [
            ("hidden_dropout_prob", self.hidden_dropout_prob),
            (
                "attention_probs_dropout_prob",
                self.attention_probs_dropout_prob,
            ),
        ] {
            if !(0.0..1.0).contains(&p) {
                return Err(ModelError::config(name, format!("{p} is not in [0, 1)")));
            }
        }
        self.validate_pruning()?;
        if self.position_embedding_type != "absolute" {
            return Err(ModelError::config(
                "position_embedding_type",
                format!(
                    "{:?} is not supported (only \"absolute\")",
                    self.position_embedding_type
                ),
            ));
        }
        if self.pad_token_id >= self.vocab_size {
            return Err(ModelError::config(
                "pad_token_id",
                format!(
                    "{} is outside the vocabulary of {}",
                    self.pad_token_id, self.vocab_size
                ),
            ));
        }
        Ok(())
    }

    /// Checks `pruned_heads` and `intermediate_sizes` against the layers they prune.
    fn validate_pruning(&self) -> Result<()> {
        for (&layer, heads) in &self.pruned_heads {
            let mut seen = heads.clone();
            seen.sort_unstable();
            seen.dedup();
            let problem = if layer >= self.num_hidden_layers {
                Some(format!(
                    "layer {layer} does not exist ({} layers)",
                    self.num_hidden_layers
                ))
            } else if let Some(h) = heads.iter().find(|&&h| h >= self.num_attention_heads) {
                Some(format!(
                    "layer {layer}: head {h} does not exist ({} heads)",
                    self.num_attention_heads
                ))
            } else if seen.len() != heads.len() {
                Some(format!("layer {layer}: {heads:?} names a head twice"))
            } else if seen.len() >= self.num_attention_heads {
                Some(format!(
                    "layer {layer}: all {} heads pruned (keep at least one)",
                    self.num_attention_heads
                ))
            } else {
                None
            };
            if let Some(problem) = problem {
                return Err(ModelError::config("pruned_heads", problem));
            }
        }
        if let Some(sizes) = &self.intermediate_sizes {
            if sizes.len() != self.num_hidden_layers {
                return Err(ModelError::config(
                    "intermediate_sizes",
                    format!(
                        "{} sizes for {} layers",
                        sizes.len(),
                        self.num_hidden_layers
                    ),
                ));
            }
            if let Some(layer) = sizes.iter().position(|&s| s == 0) {
                return Err(ModelError::config(
                    "intermediate_sizes",
                    format!("layer {layer} has width 0 (keep at least one)"),
                ));
            }
        }
        Ok(())
    }

    /// Builds a randomly initialised model (BERT's initialisation) after validating.
    pub fn init(&self, device: &Device) -> Result<BertModel> {
        self.validate()?;
        let layer = BertLayerConfig::new(
            self.hidden_size,
            self.num_attention_heads,
            self.intermediate_size,
        )
        .with_hidden_act(self.activation()?)
        .with_hidden_dropout(self.hidden_dropout_prob)
        .with_attention_dropout(self.attention_probs_dropout_prob)
        .with_layer_norm_eps(self.layer_norm_eps)
        .with_norm_first(self.norm_first)
        .with_initializer_range(self.initializer_range)
        .with_head_width(Some(self.head_width()));
        let pooler = self.add_pooler.then(|| BertPooler {
            dense: normal_linear(
                self.hidden_size,
                self.hidden_size,
                self.initializer_range,
                device,
            ),
        });
        Ok(BertModel {
            embeddings: BertEmbeddingsConfig::new(self.vocab_size, self.hidden_size)
                .with_max_position_embeddings(self.max_position_embeddings)
                .with_type_vocab_size(self.type_vocab_size)
                .with_layer_norm_eps(self.layer_norm_eps)
                .with_dropout(self.hidden_dropout_prob)
                .with_initializer_range(self.initializer_range)
                .init(device),
            encoder: BertEncoder {
                layer: (0..self.num_hidden_layers)
                    .map(|i| {
                        BertLayerConfig {
                            heads: self.kept_heads(i).len(),
                            intermediate: self.intermediate_size_of(i),
                            ..layer.clone()
                        }
                        .init(device)
                    })
                    .collect(),
                final_layer_norm: self.norm_first.then(|| {
                    LayerNormConfig::new(self.hidden_size)
                        .with_epsilon(self.layer_norm_eps)
                        .init(device)
                }),
            },
            pooler,
            word_embeddings_int8: None,
            config: self.clone(),
        })
    }
}

/// The stack of encoder layers (`BertEncoder`).
#[derive(Module, Debug)]
pub struct BertEncoder {
    /// `encoder.layer.N`.
    pub layer: Vec<BertLayer>,
    /// The last LayerNorm of a pre-LayerNorm stack (absent in BERT).
    pub final_layer_norm: Option<LayerNorm>,
}

/// Dense + tanh over the first position (`BertPooler`).
#[derive(Module, Debug)]
pub struct BertPooler {
    /// `[hidden, hidden]`.
    pub dense: Linear,
}

/// What [`BertModel::forward`] returns.
#[derive(Debug, Clone)]
pub struct BertOutput {
    /// `[B, L, H]`.
    pub last_hidden_state: Tensor<3>,
    /// `tanh(dense(hidden[:, 0]))` `[B, H]`, if the model has a pooler.
    pub pooler_output: Option<Tensor<2>>,
}

/// The BERT encoder.
#[derive(Module, Debug)]
pub struct BertModel {
    /// Word, position and type embeddings.
    pub embeddings: BertEmbeddings,
    /// The layers.
    pub encoder: BertEncoder,
    /// The pooler, if any.
    pub pooler: Option<BertPooler>,
    /// The word embeddings' int8 values, once quantized: the table holds what they stand for,
    /// and an int8 file stores them (`huggingface::save_bert_int8`).
    #[module(skip)]
    pub(crate) word_embeddings_int8: Option<std::sync::Arc<tinderbox_ops::quant::int8::Int8Matrix>>,
    #[module(skip)]
    pub(crate) config: BertConfig,
}

impl BertModel {
    /// The configuration the model was built from.
    pub fn config(&self) -> BertConfig {
        self.config.clone()
    }

    /// The longest input the position table covers.
    pub fn max_positions(&self) -> usize {
        self.embeddings.max_positions()
    }

    /// Encodes `ids [B, L]` with `mask_pad [B, L]` (true at padding) and optional token types.
    /// Inputs longer than the position table are cut to its length (the output is then
    /// `[B, max_positions, H]`); tokenize with a `max_length` to avoid it.
    pub fn forward(
        &self,
        ids: Tensor<2, Int>,
        mask_pad: Tensor<2, Bool>,
        type_ids: Option<Tensor<2, Int>>,
    ) -> BertOutput {
        let [_, l] = ids.dims();
        // Cut before the lookup; `forward_embedded` cuts the mask and types the same way.
        let ids = ids.narrow(1, 0, l.min(self.max_positions()));
        self.forward_embedded(
            self.embeddings.word_embeddings.forward(ids),
            mask_pad,
            type_ids,
        )
    }

    /// Every layer's attention weights `[B, heads, L, L]`, first layer first, for `ids [B, L]`
    /// (cut to the position table like [`forward`](Self::forward)).
    pub fn attention_maps(&self, ids: Tensor<2, Int>, mask_pad: Tensor<2, Bool>) -> Vec<Tensor<4>> {
        let [_, l] = ids.dims();
        let l = l.min(self.max_positions());
        let (ids, mask_pad) = (ids.narrow(1, 0, l), mask_pad.narrow(1, 0, l));
        let mut hidden = self.embeddings.forward(ids, None);
        let mut maps = Vec::with_capacity(self.encoder.layer.len());
        for layer in &self.encoder.layer {
            maps.push(layer.attention_probs(hidden.clone(), Some(mask_pad.clone())));
            hidden = layer.forward(hidden, Some(mask_pad.clone()));
        }
        maps
    }

    /// [`forward`](Self::forward) from the word-embedding rows `[B, L, H]` of the ids (or any
    /// point between two of them, as integrated gradients needs) instead of the ids.
    pub fn forward_embedded(
        &self,
        words: Tensor<3>,
        mask_pad: Tensor<2, Bool>,
        type_ids: Option<Tensor<2, Int>>,
    ) -> BertOutput {
        let max = self.max_positions();
        let [_, l, _] = words.dims();
        let words = words.narrow(1, 0, l.min(max));
        let [_, l] = mask_pad.dims();
        let mask_pad = mask_pad.narrow(1, 0, l.min(max));
        let type_ids = type_ids.map(|t| {
            let [_, l] = t.dims();
            t.narrow(1, 0, l.min(max))
        });
        let mut hidden = self.embeddings.forward_words(words, type_ids);
        for layer in &self.encoder.layer {
            hidden = layer.forward(hidden, Some(mask_pad.clone()));
        }
        if let Some(norm) = &self.encoder.final_layer_norm {
            hidden = norm.forward(hidden);
        }
        let pooler_output = self.pooler.as_ref().map(|pooler| {
            let first = hidden.clone().narrow(1, 0, 1).squeeze_dim::<2>(1);
            pooler.dense.forward(first).tanh()
        });
        BertOutput {
            last_hidden_state: hidden,
            pooler_output,
        }
    }
}

impl SequenceEncoder for BertModel {
    fn encode(&self, ids: Tensor<2, Int>, mask_pad: Tensor<2, Bool>) -> Encoded {
        encoded(self.forward(ids, mask_pad, None))
    }

    fn embed_tokens(&self, ids: Tensor<2, Int>) -> Tensor<3> {
        self.embeddings.word_embeddings.forward(ids)
    }

    fn encode_embedded(&self, embedded: Tensor<3>, mask_pad: Tensor<2, Bool>) -> Encoded {
        encoded(self.forward_embedded(embedded, mask_pad, None))
    }

    fn attention_maps(
        &self,
        ids: Tensor<2, Int>,
        mask_pad: Tensor<2, Bool>,
    ) -> Option<Vec<Tensor<4>>> {
        Some(BertModel::attention_maps(self, ids, mask_pad))
    }

    fn hidden_size(&self) -> usize {
        self.embeddings.word_embeddings.weight.dims()[1]
    }
}

fn encoded(out: BertOutput) -> Encoded {
    Encoded {
        hidden: out.last_hidden_state,
        final_state: None,
        pooled: out.pooler_output,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> BertConfig {
        BertConfig::new(50, 16, 2, 4, 32)
    }

    #[test]
    fn rejects_bad_configs_naming_the_field() {
        let mut c = tiny();
        c.hidden_act = "quick_gelu".into();
        assert!(c.validate().unwrap_err().to_string().contains("hidden_act"));
        let mut c = tiny();
        c.num_attention_heads = 5;
        assert!(
            c.validate()
                .unwrap_err()
                .to_string()
                .contains("num_attention_heads 5")
        );
        let mut c = tiny();
        c.hidden_dropout_prob = 1.0;
        assert!(
            c.validate()
                .unwrap_err()
                .to_string()
                .contains("hidden_dropout_prob")
        );
    }

    #[test]
    fn too_long_inputs_are_cut_to_the_position_table() {
        let device = Device::default();
        let mut c = tiny();
        c.max_position_embeddings = 4;
        let model = c.init(&device).unwrap();
        let ids = Tensor::<2, Int>::ones([2, 7], &device);
        let out = model.forward(ids.clone(), ids.equal_elem(0), None);
        assert_eq!(out.last_hidden_state.dims(), [2, 4, 16]);
        assert_eq!(out.pooler_output.unwrap().dims(), [2, 16]);
    }

    #[test]
    fn encoding_from_the_word_embeddings_is_encoding_from_the_ids() {
        let device = Device::default();
        let mut c = tiny();
        c.max_position_embeddings = 6;
        let model = c.init(&device).unwrap();
        // The second batch is longer than the position table: both paths cut it the same way.
        for len in [5, 9] {
            let ids = Tensor::<2, Int>::from_data(
                TensorData::new((0..2 * len as i64).map(|i| i % 50).collect(), [2, len]),
                &device,
            );
            let mask = ids.clone().equal_elem(3);
            let direct = model.encode(ids.clone(), mask.clone());
            let through = model.encode_embedded(model.embed_tokens(ids.clone()), mask.clone());
            let maps = model.attention_maps(ids, mask);
            assert_eq!(maps.len(), 2);
            assert_eq!(maps[0].dims(), [2, 4, len.min(6), len.min(6)]);
            // Each query's weights sum to one.
            let sums = maps[1].clone().sum_dim(3);
            sums.into_data().assert_approx_eq::<f32>(
                &Tensor::<4>::ones([2, 4, len.min(6), 1], &device).into_data(),
                Default::default(),
            );
            direct
                .hidden
                .into_data()
                .assert_approx_eq::<f32>(&through.hidden.into_data(), Default::default());
        }
    }
}
