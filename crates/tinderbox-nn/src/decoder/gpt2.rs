//! GPT-2 (Radford et al. 2019): learned absolute positions, LayerNorm before each block, fused
//! query-key-value projection (`c_attn`), `gelu_new`, the output projection tied to the token
//! embedding. Field names mirror Hugging Face's `GPT2LMHeadModel` (`transformer.h.N.attn.c_attn`);
//! its `Conv1D` weights are stored `[in, out]`, which is burn's `Linear` layout already.
//!
//! Reference: `transformers` 5.25, `models/gpt2/modeling_gpt2.py` (eager attention, float32):
//! logits within 1e-4 and greedy ids identical on random-weight checkpoints in both key layouts
//! (`tests/gpt2_reference.rs`).

use burn::nn::{Dropout, DropoutConfig, Embedding, EmbeddingConfig, Initializer, LinearConfig};
use burn::prelude::*;
use serde::{Deserialize, Serialize};
use tinderbox_ops::multi_head_attention;
use tinderbox_ops::quant::GgmlType;

use super::check_padding;
use super::kv_cache::KvCache;
use crate::dropout::apply_dropout;
use crate::error::{ModelError, Result};
use crate::quantized::{Projection, TokenEmbedding};
use crate::transformer::{HiddenAct, LayerNorm, LayerNormConfig};

/// GPT-2's `config.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Gpt2Config {
    /// Tokens in the vocabulary.
    pub vocab_size: usize,
    /// The longest context (rows of the position table).
    pub n_positions: usize,
    /// Width of the hidden states.
    pub n_embd: usize,
    /// Layers.
    pub n_layer: usize,
    /// Attention heads.
    pub n_head: usize,
    /// Width of the feed-forward block (`4 * n_embd` when absent).
    #[serde(default)]
    pub n_inner: Option<usize>,
    /// The feed-forward activation.
    #[serde(default = "default_act")]
    pub activation_function: String,
    /// LayerNorm's epsilon.
    #[serde(default = "default_eps")]
    pub layer_norm_epsilon: f64,
    /// Standard deviation of the initial weights.
    #[serde(default = "default_init")]
    pub initializer_range: f64,
    /// Dropout on residuals, embeddings and attention (training).
    #[serde(default = "default_dropout")]
    pub resid_pdrop: f64,
    /// The token that starts a text.
    #[serde(default)]
    pub bos_token_id: Option<u32>,
    /// The token that ends one.
    #[serde(default)]
    pub eos_token_id: Option<u32>,
    /// `gpt2`.
    #[serde(default = "default_model_type")]
    pub model_type: String,
}

fn default_act() -> String {
    "gelu_new".into()
}
fn default_eps() -> f64 {
    1e-5
}
fn default_init() -> f64 {
    0.02
}
fn default_dropout() -> f64 {
    0.1
}
fn default_model_type() -> String {
    "gpt2".into()
}

impl Gpt2Config {
    /// A configuration with GPT-2's defaults for everything but the sizes.
    pub fn new(
        vocab_size: usize,
        n_positions: usize,
        n_embd: usize,
        n_layer: usize,
        n_head: usize,
    ) -> Self {
        Self {
            vocab_size,
            n_positions,
            n_embd,
            n_layer,
            n_head,
            n_inner: None,
            activation_function: default_act(),
            layer_norm_epsilon: default_eps(),
            initializer_range: default_init(),
            resid_pdrop: default_dropout(),
            bos_token_id: None,
            eos_token_id: None,
            model_type: default_model_type(),
        }
    }

    /// The feed-forward width.
    pub fn inner(&self) -> usize {
        self.n_inner.unwrap_or(4 * self.n_embd)
    }

    /// Checks the sizes, naming the first that makes no model.
    pub fn validate(&self) -> Result<HiddenAct> {
        for (field, value) in [
            ("vocab_size", self.vocab_size),
            ("n_positions", self.n_positions),
            ("n_embd", self.n_embd),
            ("n_layer", self.n_layer),
            ("n_head", self.n_head),
        ] {
            if value == 0 {
                return Err(ModelError::config(field, "must be at least 1".into()));
            }
        }
        if !self.n_embd.is_multiple_of(self.n_head) {
            return Err(ModelError::config(
                "n_head",
                format!("{} does not divide n_embd {}", self.n_head, self.n_embd),
            ));
        }
        HiddenAct::parse(&self.activation_function).ok_or_else(|| {
            ModelError::config(
                "activation_function",
                format!("{:?} is not supported", self.activation_function),
            )
        })
    }

    /// A model of these sizes with GPT-2's initialisation (normal, `initializer_range`).
    pub fn init(&self, device: &Device) -> Result<Gpt2> {
        let act = self.validate()?;
        let normal = Initializer::Normal {
            mean: 0.0,
            std: self.initializer_range,
        };
        let dense = |d_in, d_out| {
            Projection::Dense(
                LinearConfig::new(d_in, d_out)
                    .with_initializer(normal.clone())
                    .init(device),
            )
        };
        let norm = || {
            LayerNormConfig::new(self.n_embd)
                .with_epsilon(self.layer_norm_epsilon)
                .init(device)
        };
        let h = self.n_embd;
        Ok(Gpt2 {
            wte: TokenEmbedding::Dense(
                EmbeddingConfig::new(self.vocab_size, h)
                    .with_initializer(normal.clone())
                    .init(device),
            ),
            wpe: EmbeddingConfig::new(self.n_positions, h)
                .with_initializer(normal.clone())
                .init(device),
            h: (0..self.n_layer)
                .map(|_| Gpt2Block {
                    ln_1: norm(),
                    attn: Gpt2Attention {
                        c_attn: dense(h, 3 * h),
                        c_proj: dense(h, h),
                        heads: self.n_head,
                    },
                    ln_2: norm(),
                    mlp: Gpt2Mlp {
                        c_fc: dense(h, self.inner()),
                        c_proj: dense(self.inner(), h),
                        act,
                    },
                })
                .collect(),
            ln_f: norm(),
            dropout: DropoutConfig::new(self.resid_pdrop).init(),
            config: self.clone(),
        })
    }
}

/// `attn`: one projection to queries, keys and values, and the output projection.
#[derive(Module, Debug)]
pub struct Gpt2Attention {
    /// `c_attn`, `[n_embd, 3 * n_embd]`.
    pub c_attn: Projection,
    /// `c_proj`.
    pub c_proj: Projection,
    #[module(skip)]
    heads: usize,
}

/// `mlp`.
#[derive(Module, Debug)]
pub struct Gpt2Mlp {
    /// `c_fc`.
    pub c_fc: Projection,
    /// `c_proj`.
    pub c_proj: Projection,
    #[module(skip)]
    act: HiddenAct,
}

/// `h.N`.
#[derive(Module, Debug)]
pub struct Gpt2Block {
    /// `ln_1`.
    pub ln_1: LayerNorm,
    /// `attn`.
    pub attn: Gpt2Attention,
    /// `ln_2`.
    pub ln_2: LayerNorm,
    /// `mlp`.
    pub mlp: Gpt2Mlp,
}

/// `GPT2LMHeadModel`: the transformer and the output projection tied to `wte`.
#[derive(Module, Debug)]
pub struct Gpt2 {
    /// `transformer.wte`, also the output projection.
    pub wte: TokenEmbedding,
    /// `transformer.wpe`.
    pub wpe: Embedding,
    /// `transformer.h`.
    pub h: Vec<Gpt2Block>,
    /// `transformer.ln_f`.
    pub ln_f: LayerNorm,
    /// `resid_pdrop` on the embeddings, the attention probabilities and each block's two
    /// outputs, while training ([`Gpt2::forward_sequence`] only; generation never drops).
    pub dropout: Dropout,
    #[module(skip)]
    config: Gpt2Config,
}

impl Gpt2Mlp {
    /// `c_proj(act(c_fc(x)))`.
    fn forward(&self, x: Tensor<3>) -> Result<Tensor<3>> {
        self.c_proj.forward(self.act.forward(self.c_fc.forward(x)?))
    }
}

impl Gpt2Attention {
    /// Queries, keys and values `[B, L, n_embd]` each, from the one fused projection.
    fn qkv(&self, x: Tensor<3>) -> Result<[Tensor<3>; 3]> {
        let [b, l, width] = x.dims();
        let qkv = self.c_attn.forward(x)?;
        Ok([0, 1, 2].map(|i| qkv.clone().slice([0..b, 0..l, i * width..(i + 1) * width])))
    }

    fn forward(&self, x: Tensor<3>, cache: &mut KvCache, layer: usize) -> Result<Tensor<3>> {
        let [b, l, width] = x.dims();
        let d = width / self.heads;
        let [q, k, v] = self.qkv(x)?.map(|t| t.reshape([b, l, self.heads, d]));
        let context = cache
            .attend(layer, q, k, v)
            .map_err(|message| ModelError::config("cache", message))?;
        self.c_proj.forward(context)
    }
}

impl Gpt2 {
    /// Its configuration.
    pub fn config(&self) -> &Gpt2Config {
        &self.config
    }

    /// An empty cache for `batch` sequences of up to `capacity` positions.
    pub fn new_cache(&self, batch: usize, capacity: usize) -> KvCache {
        let c = &self.config;
        KvCache::new(
            c.n_layer,
            batch,
            c.n_head,
            c.n_embd / c.n_head,
            capacity,
            &self.wpe.weight.device(),
        )
    }

    /// The hidden states after `ln_f` for `ids [B, L]` appended to `cache` (see
    /// [`Llama::forward_hidden`](super::Llama::forward_hidden)).
    pub fn forward_hidden(
        &self,
        ids: Tensor<2, Int>,
        padding: &[Vec<bool>],
        cache: &mut KvCache,
    ) -> Result<Tensor<3>> {
        let [b, l] = ids.dims();
        check_padding(padding, [b, l])?;
        let device = ids.device();
        let positions = cache
            .begin_step(padding)
            .map_err(|message| ModelError::config("cache", message))?;
        if let Some(&p) = positions.iter().find(|&&p| p >= self.config.n_positions) {
            return Err(ModelError::config(
                "n_positions",
                format!(
                    "position {p} is past the model's {} positions",
                    self.config.n_positions
                ),
            ));
        }
        let positions = Tensor::<1, Int>::from_data(
            TensorData::new(
                positions.iter().map(|&p| p as i64).collect::<Vec<_>>(),
                [b * l],
            ),
            &device,
        )
        .reshape([b, l]);
        let mut x = self.wte.forward(ids)? + self.wpe.forward(positions);
        for (index, block) in self.h.iter().enumerate() {
            x = x.clone() + block.attn.forward(block.ln_1.forward(x), cache, index)?;
            x = x.clone() + block.mlp.forward(block.ln_2.forward(x))?;
        }
        cache.end_step();
        Ok(self.ln_f.forward(x))
    }

    /// The hidden states after `ln_f` of whole sequences `ids [B, L]` without a cache: the
    /// training pass (differentiable; causal attention, dropout while training on an autodiff
    /// device). `mask_pad [B, L]` marks right padding, which no real position attends to anyway,
    /// so it only keeps the padded rows finite. Fails when `L` exceeds `n_positions`.
    ///
    /// Equals [`forward_hidden`](Self::forward_hidden) from an empty cache.
    pub fn forward_sequence(
        &self,
        ids: Tensor<2, Int>,
        mask_pad: Option<Tensor<2, Bool>>,
    ) -> Result<Tensor<3>> {
        let [b, l] = ids.dims();
        if l > self.config.n_positions {
            return Err(ModelError::config(
                "n_positions",
                format!(
                    "{l} tokens are more than the model's {} positions",
                    self.config.n_positions
                ),
            ));
        }
        let device = ids.device();
        let positions = Tensor::<1, Int>::arange(0..l as i64, &device)
            .unsqueeze::<2>()
            .repeat_dim(0, b);
        let attention_dropout = if self.dropout.training.is_enabled() && device.is_autodiff() {
            self.dropout.prob
        } else {
            0.0
        };
        let mut x = apply_dropout(
            &self.dropout,
            self.wte.forward(ids)? + self.wpe.forward(positions),
        );
        for block in &self.h {
            let [q, k, v] = block.attn.qkv(block.ln_1.forward(x.clone()))?;
            let context = multi_head_attention(
                q,
                k,
                v,
                block.attn.heads,
                mask_pad.clone(),
                true,
                attention_dropout,
            );
            let attended = block.attn.c_proj.forward(context)?;
            x = x + apply_dropout(&self.dropout, attended);
            let fed = block.mlp.forward(block.ln_2.forward(x.clone()))?;
            x = x + apply_dropout(&self.dropout, fed);
        }
        Ok(self.ln_f.forward(x))
    }

    /// Next-token logits `[B, L, vocab]` from hidden states (the projection is `wte`).
    pub fn logits(&self, hidden: Tensor<3>) -> Result<Tensor<3>> {
        self.wte.project(hidden)
    }

    /// The block types of the matrices held quantized (empty when all are `f32`).
    pub fn quantized_types(&self) -> Vec<GgmlType> {
        let mut types = Vec::new();
        if let TokenEmbedding::Quantized(table) = &self.wte {
            types.push(table.weight().ty());
        }
        for block in &self.h {
            for p in [
                &block.attn.c_attn,
                &block.attn.c_proj,
                &block.mlp.c_fc,
                &block.mlp.c_proj,
            ] {
                if let Projection::Quantized(q) = p
                    && !types.contains(&q.weight().ty())
                {
                    types.push(q.weight().ty());
                }
            }
        }
        types
    }

    /// The same model with its four matrices per block and `wte` (the tied output projection)
    /// quantized to `ty` (Q8_0, Q4_0 or Q4_1, as llama.cpp's reference quantizers), for
    /// generation; biases, norms and `wpe` stay `f32`. Fails for another type or a width that
    /// is not a multiple of 32 (GPT-2's 768 is).
    pub fn quantize(&self, ty: GgmlType) -> Result<Gpt2> {
        let mut model = self.clone();
        model.wte = self.wte.quantize(ty)?;
        for block in &mut model.h {
            block.attn.c_attn = block.attn.c_attn.quantize(ty)?;
            block.attn.c_proj = block.attn.c_proj.quantize(ty)?;
            block.mlp.c_fc = block.mlp.c_fc.quantize(ty)?;
            block.mlp.c_proj = block.mlp.c_proj.quantize(ty)?;
        }
        Ok(model)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny(dropout: f64, device: &Device) -> Gpt2 {
        let mut config = Gpt2Config::new(40, 12, 16, 2, 4);
        config.resid_pdrop = dropout;
        config.initializer_range = 0.2;
        config.init(device).unwrap()
    }

    fn ids(device: &Device) -> Tensor<2, Int> {
        Tensor::from_data([[0, 5, 9, 13, 2, 7], [0, 33, 21, 8, 1, 1]], device)
    }

    #[test]
    fn the_training_pass_equals_the_cached_pass_from_an_empty_cache() {
        let device = Device::default();
        let model = tiny(0.0, &device);
        let whole = model.forward_sequence(ids(&device), None).unwrap();
        let mut cache = model.new_cache(2, 12);
        let padding = vec![vec![false; 6]; 2];
        let cached = model
            .forward_hidden(ids(&device), &padding, &mut cache)
            .unwrap();
        let diff: f32 = (whole - cached).abs().max().into_scalar();
        assert!(diff < 1e-5, "{diff}");
    }

    #[test]
    fn right_padding_leaves_the_real_positions_unchanged() {
        let device = Device::default();
        let model = tiny(0.0, &device);
        let pad = Tensor::<2, Bool>::from_data(
            [[false; 6], [false, false, false, false, true, true]],
            &device,
        );
        let padded = model.forward_sequence(ids(&device), Some(pad)).unwrap();
        let alone = model
            .forward_sequence(ids(&device).slice([1..2, 0..4]), None)
            .unwrap();
        let diff: f32 = (padded.slice([1..2, 0..4, 0..16]) - alone)
            .abs()
            .max()
            .into_scalar();
        assert!(diff < 1e-5, "{diff}");
    }

    #[test]
    fn the_training_pass_differentiates_and_drops_only_while_training() {
        let device = Device::default().autodiff();
        let model = tiny(0.5, &device);
        let a = model.forward_sequence(ids(&device), None).unwrap();
        let b = model.forward_sequence(ids(&device), None).unwrap();
        let differ: f32 = (a.clone() - b).abs().max().into_scalar();
        assert!(differ > 0.0, "dropout on: two passes differ");
        let grads = model.logits(a).unwrap().sum().backward();
        let grad = model.wte.dense().unwrap().weight.grad(&grads).unwrap();
        assert!(grad.abs().sum().into_scalar::<f32>() > 0.0);
        // Off autodiff (generation, evaluation) nothing is dropped.
        let plain = tiny(0.5, &Device::default());
        let x = plain
            .forward_sequence(ids(&Device::default()), None)
            .unwrap();
        let y = plain
            .forward_sequence(ids(&Device::default()), None)
            .unwrap();
        assert_eq!(x.into_data(), y.into_data());
    }

    #[test]
    fn more_tokens_than_positions_is_an_error() {
        let device = Device::default();
        let model = tiny(0.0, &device);
        let long = Tensor::<2, Int>::zeros([1, 13], &device);
        let e = model.forward_sequence(long, None).unwrap_err();
        assert!(e.to_string().contains("13 tokens"), "{e}");
    }

    #[test]
    fn a_quantized_gpt2_keeps_its_logits_and_names_what_it_cannot_quantize() {
        let device = Device::default();
        device.seed(5);
        let mut config = Gpt2Config::new(64, 16, 32, 2, 4);
        config.initializer_range = 0.2;
        let model = config.init(&device).unwrap();
        let ids = Tensor::<2, Int>::from_data([[3, 9, 27, 17, 51]], &device);
        let logits = |m: &Gpt2| -> Vec<f32> {
            let mut cache = m.new_cache(1, 5);
            let hidden = m.forward_hidden(ids.clone(), &[vec![false; 5]], &mut cache);
            m.logits(hidden.unwrap())
                .unwrap()
                .into_data()
                .try_to_vec()
                .unwrap()
        };
        let dense = logits(&model);
        let range = dense.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        // 8-bit weights and activations: within 6 % of the logits' range (large random
        // weights, std 0.2, compound the rounding); 4-bit weights (16 levels a block) further,
        // but still the same logits roughly.
        let mut errors = Vec::new();
        for (ty, bound) in [(GgmlType::Q8_0, 0.06), (GgmlType::Q4_1, 0.5)] {
            let quantized = model.quantize(ty).unwrap();
            assert!(quantized.wte.dense().is_none() && quantized.h[0].mlp.c_fc.dense().is_none());
            assert_eq!(quantized.quantized_types(), [ty]);
            let worst = logits(&quantized)
                .iter()
                .zip(&dense)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0f32, f32::max);
            assert!(worst <= bound * range, "{ty:?}: {worst} of {range}");
            errors.push(worst);
        }
        assert!(
            errors[0] < errors[1],
            "8-bit blocks err less than 4-bit ones: {errors:?}"
        );
        let err = model.quantize(GgmlType::Q4_K).unwrap_err().to_string();
        assert!(
            err.contains("quantizing f32 to Q4_K is not supported"),
            "{err}"
        );
        // n_embd 16 is not whole blocks of 32.
        let err = tiny(0.0, &device)
            .quantize(GgmlType::Q8_0)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("rows of 16 values are not whole blocks of 32"),
            "{err}"
        );
        // A quantized model is not written as a Hugging Face folder (f32 by definition).
        let dir = tempfile::tempdir().unwrap();
        let quantized = model.quantize(GgmlType::Q8_0).unwrap();
        let err = crate::huggingface::save_gpt2(&quantized, dir.path()).unwrap_err();
        assert!(err.to_string().contains("is quantized"), "{err}");
    }
}
