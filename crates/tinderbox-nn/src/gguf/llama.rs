//! A Llama from a GGUF file: the `llama.*` metadata as a [`LlamaConfig`], llama.cpp's tensor
//! names (`token_embd`, `blk.N.attn_q`, ...) mapped onto the Hugging Face module tree, and the
//! row permutation that llama.cpp's converter applies to the query and key projections undone.
//!
//! Reference: llama.cpp's `convert_hf_to_gguf.py` (`LlamaModel.permute`) and `transformers` 5.25's
//! GGUF loader, which undoes it the same way (`reverse_permute`).

use burn::module::Param;
use burn::nn::{EmbeddingConfig, LinearConfig};
use burn::prelude::*;

use super::{GgufError, GgufFile, GgufValue};
use crate::decoder::{Llama, LlamaConfig, RmsNorm, RopeScaling};
use crate::error::{ModelError, Result};
use crate::quantized::{Projection, QuantizedEmbedding, TokenEmbedding};
use tinderbox_tokenize::GgufVocab;

impl GgufFile {
    /// The architecture (`general.architecture`).
    pub fn architecture(&self) -> Result<&str, GgufError> {
        self.get_str("general.architecture")
    }

    /// A Llama's sizes from the `llama.*` keys (an architecture that is not a Llama is an error
    /// naming it).
    pub fn llama_config(&self) -> Result<LlamaConfig> {
        let arch = self.architecture()?;
        if arch != "llama" {
            return Err(ModelError::config(
                "general.architecture",
                format!("{arch:?} is not supported (llama is)"),
            )
            .at(self.path()));
        }
        let key = |k: &str| format!("{arch}.{k}");
        let size = |k: &str| -> Result<usize> { Ok(self.get_u64(&key(k))? as usize) };
        let heads = size("attention.head_count")?;
        let hidden = size("embedding_length")?;
        let vocab = match self.get(&key("vocab_size")) {
            Some(v) => v.as_u64().map(|v| v as usize),
            None => self
                .get("tokenizer.ggml.tokens")
                .and_then(GgufValue::as_array)
                .map(<[GgufValue]>::len),
        }
        .ok_or_else(|| GgufError::MissingKey {
            path: self.path().to_path_buf(),
            key: key("vocab_size"),
        })?;
        let rope_dim = match self.get(&key("rope.dimension_count")) {
            Some(v) => v.as_u64().map(|v| v as usize),
            None => Some(hidden / heads.max(1)),
        };
        let rope_scaling = match self
            .get(&key("rope.scaling.type"))
            .and_then(GgufValue::as_str)
        {
            None | Some("none") => None,
            Some("linear") => Some(RopeScaling::Linear {
                factor: self.get_f64(&key("rope.scaling.factor"))?,
            }),
            Some(other) => {
                return Err(ModelError::config(
                    &key("rope.scaling.type"),
                    format!("{other:?} is not supported (linear is)"),
                )
                .at(self.path()));
            }
        };
        let config = LlamaConfig {
            vocab_size: vocab,
            hidden_size: hidden,
            intermediate_size: size("feed_forward_length")?,
            num_hidden_layers: size("block_count")?,
            num_attention_heads: heads,
            num_key_value_heads: match self.get(&key("attention.head_count_kv")) {
                Some(_) => size("attention.head_count_kv")?,
                None => heads,
            },
            head_dim: rope_dim,
            max_position_embeddings: size("context_length")?,
            rms_norm_eps: self.get_f64(&key("attention.layer_norm_rms_epsilon"))?,
            rope_theta: match self.get(&key("rope.freq_base")) {
                Some(_) => self.get_f64(&key("rope.freq_base"))?,
                None => 10_000.0,
            },
            rope_scaling,
            tie_word_embeddings: self.tensor("output.weight").is_none(),
            bos_token_id: self
                .get("tokenizer.ggml.bos_token_id")
                .and_then(|v| v.as_u64())
                .map(|v| v as u32),
            eos_token_ids: self
                .get("tokenizer.ggml.eos_token_id")
                .and_then(|v| v.as_u64())
                .map(|v| vec![v as u32])
                .unwrap_or_default(),
        };
        config.validate().map_err(|e| e.at(self.path()))?;
        Ok(config)
    }

    /// The tokenizer's description (`tokenizer.ggml.*`), for `Tokenizer::from_gguf_vocab`.
    pub fn vocab(&self) -> Result<GgufVocab, GgufError> {
        let strings = |key: &str| -> Result<Vec<String>, GgufError> {
            self.get_array(key)?
                .iter()
                .map(|v| {
                    v.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| GgufError::WrongType {
                            path: self.path().to_path_buf(),
                            key: key.to_string(),
                            expected: "an array of strings",
                            found: format!("an element {v}"),
                        })
                })
                .collect()
        };
        let id = |key: &str| self.get(key).and_then(GgufValue::as_u64).map(|v| v as u32);
        Ok(GgufVocab {
            model: self.get_str("tokenizer.ggml.model")?.to_string(),
            pre: self
                .get("tokenizer.ggml.pre")
                .and_then(GgufValue::as_str)
                .map(str::to_string),
            tokens: strings("tokenizer.ggml.tokens")?,
            token_types: match self.get("tokenizer.ggml.token_type") {
                Some(_) => self
                    .get_array("tokenizer.ggml.token_type")?
                    .iter()
                    .map(|v| v.as_i64().unwrap_or(1) as i32)
                    .collect(),
                None => Vec::new(),
            },
            merges: match self.get("tokenizer.ggml.merges") {
                Some(_) => strings("tokenizer.ggml.merges")?,
                None => Vec::new(),
            },
            bos_id: id("tokenizer.ggml.bos_token_id"),
            eos_id: id("tokenizer.ggml.eos_token_id"),
            add_bos: self
                .get("tokenizer.ggml.add_bos_token")
                .and_then(GgufValue::as_bool)
                .unwrap_or(false),
        })
    }

    /// The chat template (`tokenizer.chat_template`), if the file has one.
    pub fn chat_template(&self) -> Option<&str> {
        self.get("tokenizer.chat_template")
            .and_then(GgufValue::as_str)
    }

    /// A Llama with this file's weights, dequantized to `f32` on `device`.
    pub fn load_llama(&self, device: &Device) -> Result<Llama> {
        self.load_llama_as(device, false)
    }

    /// A Llama whose matrices stay in the file's blocks where they have a quantized product
    /// (Q4_0, Q4_1, Q8_0, Q4_K, Q5_K, Q6_K; [`crate::quantized`]), the token embedding
    /// included; matrices of other types and the norms are `f32` on `device`. SmolLM2's Q4_1
    /// file takes about 100 MB this way instead of 540 MB.
    pub fn load_llama_quantized(&self, device: &Device) -> Result<Llama> {
        self.load_llama_as(device, true)
    }

    fn load_llama_as(&self, device: &Device, quantized: bool) -> Result<Llama> {
        let config = self.llama_config()?;
        let mut model = config.init(device)?;
        let (h, d) = (config.hidden_size, config.head_dim());
        let (heads, kv) = (config.num_attention_heads, config.num_key_value_heads);
        let keep = |name: &str| {
            quantized
                && self
                    .tensor(name)
                    .is_some_and(|info| info.ty.has_quantized_product())
        };
        let projection =
            |name: &str, shape: [usize; 2], heads: Option<usize>| -> Result<Projection> {
                if keep(name) {
                    let matrix = self.load_matrix(name, shape)?;
                    return Ok(match heads {
                        Some(heads) => matrix.permute_rows(&unpermuted_rows(shape[0], heads))?,
                        None => matrix,
                    }
                    .into());
                }
                let weight = self.load_tensor(name, shape, device)?;
                let weight = match heads {
                    Some(heads) => unpermute(weight, heads),
                    None => weight,
                };
                Ok(dense(weight))
            };
        let embedding = "token_embd.weight";
        model.embed_tokens = if keep(embedding) {
            TokenEmbedding::Quantized(QuantizedEmbedding::new(
                self.load_matrix(embedding, [config.vocab_size, h])?,
            ))
        } else {
            let mut table = EmbeddingConfig::new(config.vocab_size, h).init(device);
            table.weight =
                Param::from_tensor(self.load_tensor(embedding, [config.vocab_size, h], device)?);
            TokenEmbedding::Dense(table)
        };
        for (n, layer) in model.layers.iter_mut().enumerate() {
            let name = |part: &str| format!("blk.{n}.{part}.weight");
            set_norm(
                &mut layer.input_layernorm,
                self.load_tensor(&name("attn_norm"), [h], device)?,
            );
            set_norm(
                &mut layer.post_attention_layernorm,
                self.load_tensor(&name("ffn_norm"), [h], device)?,
            );
            let attn = &mut layer.self_attn;
            attn.q_proj = projection(&name("attn_q"), [heads * d, h], Some(heads))?;
            attn.k_proj = projection(&name("attn_k"), [kv * d, h], Some(kv))?;
            attn.v_proj = projection(&name("attn_v"), [kv * d, h], None)?;
            attn.o_proj = projection(&name("attn_output"), [h, heads * d], None)?;
            let ffn = config.intermediate_size;
            let mlp = &mut layer.mlp;
            mlp.gate_proj = projection(&name("ffn_gate"), [ffn, h], None)?;
            mlp.up_proj = projection(&name("ffn_up"), [ffn, h], None)?;
            mlp.down_proj = projection(&name("ffn_down"), [h, ffn], None)?;
        }
        set_norm(
            &mut model.norm,
            self.load_tensor("output_norm.weight", [h], device)?,
        );
        if model.lm_head.is_some() {
            model.lm_head = Some(projection("output.weight", [config.vocab_size, h], None)?);
        }
        Ok(model)
    }
}

fn set_norm(norm: &mut RmsNorm, weight: Tensor<1>) {
    norm.weight = Param::from_tensor(weight);
}

/// A bias-free layer over a PyTorch-layout weight `[out, in]`, laid out anew as burn's
/// `[in, out]`: a transposed view would be copied by every product that reads it (three
/// quarters of a decoding step).
fn dense(weight: Tensor<2>) -> Projection {
    let device = weight.device();
    let [d_out, d_in] = weight.dims();
    let mut layer = LinearConfig::new(d_in, d_out)
        .with_bias(false)
        .init(&device);
    layer.weight = Param::from_tensor(Tensor::from_data(weight.transpose().into_data(), &device));
    Projection::Dense(layer)
}

/// Row `i` of the unpermuted weight is row `order[i]` of the file's (see [`unpermute`]).
fn unpermuted_rows(rows: usize, heads: usize) -> Vec<usize> {
    let per_head = rows / heads;
    let pairs = per_head / 2;
    (0..rows)
        .map(|i| {
            let (head, within) = (i / per_head, i % per_head);
            let (half, pair) = (within / pairs, within % pairs);
            head * per_head + pair * 2 + half
        })
        .collect()
}

/// Undoes llama.cpp's `permute(w, n_head)`, which reorders each head's output rows from
/// `transformers`' halves (`rotate_half`) into interleaved pairs (ggml's rotary mode 0): rows
/// `[head, pair, 2]` back to `[head, 2, pair]`.
fn unpermute(weight: Tensor<2>, heads: usize) -> Tensor<2> {
    let [rows, cols] = weight.dims();
    let pairs = rows / heads / 2;
    weight
        .reshape([heads, pairs, 2, cols])
        .swap_dims(1, 2)
        .reshape([rows, cols])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unpermute_inverts_llama_cpps_permutation() {
        let device = Device::default();
        // llama.cpp: w.reshape(heads, 2, rows / heads / 2, cols).swapaxes(1, 2).
        let original = Tensor::<1, Int>::arange(0..24, &device)
            .float()
            .reshape([8, 3]);
        let permuted = original
            .clone()
            .reshape([2, 2, 2, 3])
            .swap_dims(1, 2)
            .reshape([8, 3]);
        let back: Vec<f32> = unpermute(permuted.clone(), 2)
            .into_data()
            .try_to_vec()
            .unwrap();
        let expected: Vec<f32> = original.into_data().try_to_vec().unwrap();
        assert_eq!(back, expected);
        // The row order that quantized matrices are permuted by is the same permutation.
        let rows: Vec<f32> = permuted.into_data().try_to_vec().unwrap();
        let by_rows: Vec<f32> = unpermuted_rows(8, 2)
            .iter()
            .flat_map(|&r| rows[3 * r..3 * r + 3].to_vec())
            .collect();
        assert_eq!(by_rows, expected);
    }
}
