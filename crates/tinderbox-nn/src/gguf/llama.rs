//! A Llama from a GGUF file: the `llama.*` metadata as a [`LlamaConfig`], llama.cpp's tensor
//! names (`token_embd`, `blk.N.attn_q`, ...) mapped onto the Hugging Face module tree, and the
//! row permutation that llama.cpp's converter applies to the query and key projections undone.
//!
//! Reference: llama.cpp's `convert_hf_to_gguf.py` (`LlamaModel.permute`) and `transformers` 5.25's
//! GGUF loader, which undoes it the same way (`reverse_permute`).

use burn::module::Param;
use burn::nn::Linear;
use burn::prelude::*;

use super::{GgufError, GgufFile, GgufValue};
use crate::decoder::{Llama, LlamaConfig, RmsNorm, RopeScaling};
use crate::error::{ModelError, Result};
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
        let config = self.llama_config()?;
        let mut model = config.init(device)?;
        let (h, d) = (config.hidden_size, config.head_dim());
        let (heads, kv) = (config.num_attention_heads, config.num_key_value_heads);
        model.embed_tokens.weight = Param::from_tensor(self.load_tensor(
            "token_embd.weight",
            [config.vocab_size, h],
            device,
        )?);
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
            let q = self.load_tensor(&name("attn_q"), [heads * d, h], device)?;
            let k = self.load_tensor(&name("attn_k"), [kv * d, h], device)?;
            set_linear(&mut attn.q_proj, unpermute(q, heads));
            set_linear(&mut attn.k_proj, unpermute(k, kv));
            set_linear(
                &mut attn.v_proj,
                self.load_tensor(&name("attn_v"), [kv * d, h], device)?,
            );
            set_linear(
                &mut attn.o_proj,
                self.load_tensor(&name("attn_output"), [h, heads * d], device)?,
            );
            let ffn = config.intermediate_size;
            let mlp = &mut layer.mlp;
            set_linear(
                &mut mlp.gate_proj,
                self.load_tensor(&name("ffn_gate"), [ffn, h], device)?,
            );
            set_linear(
                &mut mlp.up_proj,
                self.load_tensor(&name("ffn_up"), [ffn, h], device)?,
            );
            set_linear(
                &mut mlp.down_proj,
                self.load_tensor(&name("ffn_down"), [h, ffn], device)?,
            );
        }
        set_norm(
            &mut model.norm,
            self.load_tensor("output_norm.weight", [h], device)?,
        );
        if let Some(head) = &mut model.lm_head {
            set_linear(
                head,
                self.load_tensor("output.weight", [config.vocab_size, h], device)?,
            );
        }
        Ok(model)
    }
}

fn set_norm(norm: &mut RmsNorm, weight: Tensor<1>) {
    norm.weight = Param::from_tensor(weight);
}

/// A PyTorch-layout weight `[out, in]` into burn's `[in, out]`, laid out anew: a transposed
/// view would be copied by every product that reads it (three quarters of a decoding step).
fn set_linear(layer: &mut Linear, weight: Tensor<2>) {
    let device = weight.device();
    layer.weight = Param::from_tensor(Tensor::from_data(weight.transpose().into_data(), &device));
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
        let back: Vec<f32> = unpermute(permuted, 2).into_data().try_to_vec().unwrap();
        let expected: Vec<f32> = original.into_data().try_to_vec().unwrap();
        assert_eq!(back, expected);
    }
}
