//! Llama (Touvron et al. 2023) and the models that share its layout (SmolLM, TinyLlama,
//! Mistral without sliding windows): RMSNorm before each block, rotary positions, grouped-query
//! attention, a SwiGLU feed-forward, tied or separate output embeddings. Field names mirror the
//! Hugging Face checkpoint (`model.layers.N.self_attn.q_proj`, ...).
//!
//! Reference: `transformers` 5.25, `models/llama/modeling_llama.py` (`LlamaForCausalLM`, eager
//! attention, float32). SmolLM2-135M-Instruct's last-position logits are held within 1e-3 of it
//! and its greedy continuations token for token (`tests/smollm2_reference.rs`).

use burn::nn::{EmbeddingConfig, LinearConfig};
use burn::prelude::*;
use serde::{Deserialize, Serialize};

use super::check_padding;
use super::kv_cache::KvCache;
use super::rms_norm::RmsNorm;
use super::rotary::{RopeScaling, apply_rotary, inverse_frequencies, rotary_tables};
use crate::error::{ModelError, Result};
use crate::quantized::{Projection, TokenEmbedding};

/// A Llama's sizes, as its Hugging Face `config.json` (or a GGUF file's `llama.*` keys) gives
/// them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LlamaConfig {
    /// Tokens in the vocabulary.
    pub vocab_size: usize,
    /// Width of the hidden states.
    pub hidden_size: usize,
    /// Width of the feed-forward block.
    pub intermediate_size: usize,
    /// Decoder layers.
    pub num_hidden_layers: usize,
    /// Query heads.
    pub num_attention_heads: usize,
    /// Key and value heads (fewer than the query heads for grouped-query attention).
    pub num_key_value_heads: usize,
    /// Features per head (`hidden_size / num_attention_heads` unless given).
    #[serde(default)]
    pub head_dim: Option<usize>,
    /// The longest context.
    pub max_position_embeddings: usize,
    /// Added to the mean square in the RMS norms.
    pub rms_norm_eps: f64,
    /// The rotary base.
    #[serde(default = "default_theta")]
    pub rope_theta: f64,
    /// The rotary scaling.
    #[serde(default)]
    pub rope_scaling: Option<RopeScaling>,
    /// Whether the output projection is the token embedding.
    #[serde(default)]
    pub tie_word_embeddings: bool,
    /// The token that starts a sequence, if any.
    #[serde(default)]
    pub bos_token_id: Option<u32>,
    /// The tokens that end one.
    #[serde(default)]
    pub eos_token_ids: Vec<u32>,
}

fn default_theta() -> f64 {
    10_000.0
}

impl LlamaConfig {
    /// These sizes, the rest as `transformers`' `LlamaConfig` defaults them (2,048 positions,
    /// RMS epsilon 1e-6, rotary base 10,000, no rotary scaling, untied embeddings, no special
    /// tokens): for a model trained from scratch or a test.
    pub fn new(
        vocab_size: usize,
        hidden_size: usize,
        intermediate_size: usize,
        num_hidden_layers: usize,
        num_attention_heads: usize,
        num_key_value_heads: usize,
    ) -> Self {
        Self {
            vocab_size,
            hidden_size,
            intermediate_size,
            num_hidden_layers,
            num_attention_heads,
            num_key_value_heads,
            head_dim: None,
            max_position_embeddings: 2048,
            rms_norm_eps: 1e-6,
            rope_theta: default_theta(),
            rope_scaling: None,
            tie_word_embeddings: false,
            bos_token_id: None,
            eos_token_ids: Vec::new(),
        }
    }

    /// Features per head.
    pub fn head_dim(&self) -> usize {
        self.head_dim
            .unwrap_or(self.hidden_size / self.num_attention_heads.max(1))
    }

    /// Checks that the sizes make a model, naming the first that does not.
    pub fn validate(&self) -> Result<()> {
        let bad = |field: &str, message: String| Err(ModelError::config(field, message));
        for (field, value) in [
            ("vocab_size", self.vocab_size),
            ("hidden_size", self.hidden_size),
            ("intermediate_size", self.intermediate_size),
            ("num_hidden_layers", self.num_hidden_layers),
            ("num_attention_heads", self.num_attention_heads),
            ("num_key_value_heads", self.num_key_value_heads),
            ("max_position_embeddings", self.max_position_embeddings),
        ] {
            if value == 0 {
                return bad(field, "must be at least 1".into());
            }
        }
        if !self
            .num_attention_heads
            .is_multiple_of(self.num_key_value_heads)
        {
            return bad(
                "num_key_value_heads",
                format!(
                    "{} does not divide num_attention_heads {}",
                    self.num_key_value_heads, self.num_attention_heads
                ),
            );
        }
        if !self.head_dim().is_multiple_of(2) || self.head_dim() == 0 {
            return bad(
                "head_dim",
                format!("{} must be even for rotary positions", self.head_dim()),
            );
        }
        Ok(())
    }

    /// A model of these sizes with random weights (normal, standard deviation 0.02, as
    /// `transformers` initialises it), to be overwritten by a checkpoint.
    pub fn init(&self, device: &Device) -> Result<Llama> {
        self.validate()?;
        let (h, d) = (self.hidden_size, self.head_dim());
        let proj = |d_in, d_out| {
            Projection::Dense(
                LinearConfig::new(d_in, d_out)
                    .with_bias(false)
                    .with_initializer(burn::nn::Initializer::Normal {
                        mean: 0.0,
                        std: 0.02,
                    })
                    .init(device),
            )
        };
        let layers = (0..self.num_hidden_layers)
            .map(|_| LlamaDecoderLayer {
                input_layernorm: RmsNorm::new(h, self.rms_norm_eps, device),
                self_attn: LlamaAttention {
                    q_proj: proj(h, self.num_attention_heads * d),
                    k_proj: proj(h, self.num_key_value_heads * d),
                    v_proj: proj(h, self.num_key_value_heads * d),
                    o_proj: proj(self.num_attention_heads * d, h),
                    heads: self.num_attention_heads,
                    kv_heads: self.num_key_value_heads,
                    head_dim: d,
                },
                post_attention_layernorm: RmsNorm::new(h, self.rms_norm_eps, device),
                mlp: LlamaMlp {
                    gate_proj: proj(h, self.intermediate_size),
                    up_proj: proj(h, self.intermediate_size),
                    down_proj: proj(self.intermediate_size, h),
                },
            })
            .collect();
        Ok(Llama {
            embed_tokens: TokenEmbedding::Dense(
                EmbeddingConfig::new(self.vocab_size, h)
                    .with_initializer(burn::nn::Initializer::Normal {
                        mean: 0.0,
                        std: 0.02,
                    })
                    .init(device),
            ),
            layers,
            norm: RmsNorm::new(h, self.rms_norm_eps, device),
            lm_head: (!self.tie_word_embeddings).then(|| proj(h, self.vocab_size)),
            inv_freq: inverse_frequencies(
                d,
                self.rope_theta,
                self.rope_scaling.as_ref().unwrap_or(&RopeScaling::Default),
            ),
            config: self.clone(),
        })
    }
}

/// `self_attn`: grouped-query attention with rotary positions and a cache.
#[derive(Module, Debug)]
pub struct LlamaAttention {
    /// `q_proj`.
    pub q_proj: Projection,
    /// `k_proj`.
    pub k_proj: Projection,
    /// `v_proj`.
    pub v_proj: Projection,
    /// `o_proj`.
    pub o_proj: Projection,
    #[module(skip)]
    heads: usize,
    #[module(skip)]
    kv_heads: usize,
    #[module(skip)]
    head_dim: usize,
}

/// `mlp`: `down(silu(gate(x)) * up(x))`.
#[derive(Module, Debug)]
pub struct LlamaMlp {
    /// `gate_proj`.
    pub gate_proj: Projection,
    /// `up_proj`.
    pub up_proj: Projection,
    /// `down_proj`.
    pub down_proj: Projection,
}

/// `model.layers.N`.
#[derive(Module, Debug)]
pub struct LlamaDecoderLayer {
    /// `input_layernorm`.
    pub input_layernorm: RmsNorm,
    /// `self_attn`.
    pub self_attn: LlamaAttention,
    /// `post_attention_layernorm`.
    pub post_attention_layernorm: RmsNorm,
    /// `mlp`.
    pub mlp: LlamaMlp,
}

/// `LlamaForCausalLM`: the decoder and its output projection.
#[derive(Module, Debug)]
pub struct Llama {
    /// `model.embed_tokens`.
    pub embed_tokens: TokenEmbedding,
    /// `model.layers`.
    pub layers: Vec<LlamaDecoderLayer>,
    /// `model.norm`.
    pub norm: RmsNorm,
    /// `lm_head`, absent when tied to `embed_tokens`.
    pub lm_head: Option<Projection>,
    #[module(skip)]
    inv_freq: Vec<f32>,
    #[module(skip)]
    config: LlamaConfig,
}

impl LlamaMlp {
    fn forward(&self, x: Tensor<3>) -> Result<Tensor<3>> {
        let gate = burn::tensor::activation::silu(self.gate_proj.forward(x.clone())?);
        self.down_proj.forward(gate * self.up_proj.forward(x)?)
    }
}

impl LlamaAttention {
    /// Attends from `x [B, L, hidden]` (rotated by `cos`/`sin`) over the cache and the new
    /// positions.
    fn forward(
        &self,
        x: Tensor<3>,
        cos: Tensor<2>,
        sin: Tensor<2>,
        cache: &mut KvCache,
        layer: usize,
    ) -> Result<Tensor<3>> {
        let [b, l, _] = x.dims();
        let (h, kv, d) = (self.heads, self.kv_heads, self.head_dim);
        let q = self.q_proj.forward(x.clone())?.reshape([b, l, h, d]);
        let k = self.k_proj.forward(x.clone())?.reshape([b, l, kv, d]);
        let v = self.v_proj.forward(x)?.reshape([b, l, kv, d]);
        let q = apply_rotary(q, cos.clone(), sin.clone());
        let k = apply_rotary(k, cos, sin);
        let context = cache
            .attend(layer, q, k, v)
            .map_err(|message| ModelError::config("cache", message))?;
        self.o_proj.forward(context)
    }
}

impl Llama {
    /// The configuration it was built from.
    pub fn config(&self) -> &LlamaConfig {
        &self.config
    }

    /// An empty cache for `batch` sequences of up to `capacity` positions.
    pub fn new_cache(&self, batch: usize, capacity: usize) -> KvCache {
        KvCache::new(
            self.layers.len(),
            batch,
            self.config.num_key_value_heads,
            self.config.head_dim(),
            capacity,
            &self.device(),
        )
    }

    /// The device the model runs on (its norms'; quantized matrices stay on the host).
    pub fn device(&self) -> Device {
        self.norm.weight.device()
    }

    /// The hidden states `[B, L, hidden]` after the final norm for `ids [B, L]`, appended to
    /// `cache`; `padding[row][i]` marks new positions that are padding (left padding of a
    /// batch), which no query attends to.
    ///
    /// Fails when the new positions do not fit the cache or `padding` does not match `ids`.
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
        let (cos, sin) = rotary_tables(&positions, &self.inv_freq, &device);
        let mut x = self.embed_tokens.forward(ids)?;
        for (index, layer) in self.layers.iter().enumerate() {
            let attended = layer.self_attn.forward(
                layer.input_layernorm.forward(x.clone()),
                cos.clone(),
                sin.clone(),
                cache,
                index,
            )?;
            x = x + attended;
            x = x.clone()
                + layer
                    .mlp
                    .forward(layer.post_attention_layernorm.forward(x))?;
        }
        cache.end_step();
        Ok(self.norm.forward(x))
    }

    /// The block types of the matrices held quantized, most common first (empty when all are
    /// `f32`).
    pub fn quantized_types(&self) -> Vec<tinderbox_ops::quant::GgmlType> {
        let mut counts: Vec<(tinderbox_ops::quant::GgmlType, usize)> = Vec::new();
        let mut count = |ty| match counts.iter_mut().find(|(t, _)| *t == ty) {
            Some((_, n)) => *n += 1,
            None => counts.push((ty, 1)),
        };
        for layer in &self.layers {
            let (a, m) = (&layer.self_attn, &layer.mlp);
            for p in [
                &a.q_proj,
                &a.k_proj,
                &a.v_proj,
                &a.o_proj,
                &m.gate_proj,
                &m.up_proj,
                &m.down_proj,
            ] {
                if let Projection::Quantized(q) = p {
                    count(q.weight().ty());
                }
            }
        }
        if let TokenEmbedding::Quantized(table) = &self.embed_tokens {
            count(table.weight().ty());
        }
        if let Some(Projection::Quantized(q)) = &self.lm_head {
            count(q.weight().ty());
        }
        counts.sort_by_key(|(_, n)| std::cmp::Reverse(*n));
        counts.into_iter().map(|(t, _)| t).collect()
    }

    /// The same model with every matrix and the token embedding quantized to `ty` (Q8_0,
    /// Q4_0 or Q4_1, as llama.cpp's reference quantizers; matrices already quantized are kept
    /// as they are), for generation. Fails for another type or a width that is not whole
    /// blocks of 32.
    pub fn quantize(&self, ty: tinderbox_ops::quant::GgmlType) -> Result<Llama> {
        let mut model = self.clone();
        model.embed_tokens = self.embed_tokens.quantize(ty)?;
        for layer in &mut model.layers {
            let (a, m) = (&mut layer.self_attn, &mut layer.mlp);
            for p in [
                &mut a.q_proj,
                &mut a.k_proj,
                &mut a.v_proj,
                &mut a.o_proj,
                &mut m.gate_proj,
                &mut m.up_proj,
                &mut m.down_proj,
            ] {
                *p = p.quantize(ty)?;
            }
        }
        if let Some(head) = &model.lm_head {
            model.lm_head = Some(head.quantize(ty)?);
        }
        Ok(model)
    }

    /// Next-token logits `[B, L, vocab]` from hidden states.
    pub fn logits(&self, hidden: Tensor<3>) -> Result<Tensor<3>> {
        match &self.lm_head {
            Some(head) => head.forward(hidden),
            None => self.embed_tokens.project(hidden),
        }
    }
}
