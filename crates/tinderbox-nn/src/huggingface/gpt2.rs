//! GPT-2 checkpoints in Hugging Face's layout, in and out: `config.json` and `model.safetensors`
//! with `GPT2LMHeadModel`'s keys, with the `transformer.` prefix (what `save_pretrained` writes)
//! or without it (the Hub's original `gpt2` file); the attention-mask buffers old files carry and
//! the tied `lm_head.weight` are skipped. `Conv1D` weights are `[in, out]`, as burn's `Linear`.

use std::collections::BTreeMap;
use std::path::Path;

use burn::module::Param;
use burn::prelude::*;
use safetensors::{Dtype, SafeTensors};

use super::{CONFIG_FILE, WEIGHTS_FILE, write_atomic};
use crate::decoder::{Gpt2, Gpt2Config};
use crate::error::{KeyMismatch, ModelError, Result, read_values};
use crate::quantized::{Projection, TokenEmbedding};
use crate::transformer::LayerNorm;

/// Every tensor the model holds, by its key without the `transformer.` prefix; a quantized
/// model (whose matrices are blocks) is an error: it is saved from its `f32` original.
fn parameters(model: &Gpt2) -> Result<Vec<(String, Tensor<2>)>> {
    let mut out = Vec::new();
    let vector = |t: Tensor<1>| {
        let n = t.dims()[0];
        t.reshape([1, n])
    };
    let norm = |name: String, n: &LayerNorm, out: &mut Vec<(String, Tensor<2>)>| {
        out.push((format!("{name}.weight"), vector(n.gamma.val())));
        if let Some(beta) = &n.beta {
            out.push((format!("{name}.bias"), vector(beta.val())));
        }
    };
    let quantized = |name: &str| {
        ModelError::config(
            name,
            "is quantized; Hugging Face folders hold f32 weights: save the model before \
             quantizing it"
                .into(),
        )
    };
    let dense = |name: String, p: &Projection, out: &mut Vec<(String, Tensor<2>)>| {
        let l = p.dense().ok_or_else(|| quantized(&name))?;
        out.push((format!("{name}.weight"), l.weight.val()));
        if let Some(b) = &l.bias {
            out.push((format!("{name}.bias"), vector(b.val())));
        }
        Ok::<_, ModelError>(())
    };
    let wte = model.wte.dense().ok_or_else(|| quantized("wte"))?;
    out.push(("wte.weight".into(), wte.weight.val()));
    out.push(("wpe.weight".into(), model.wpe.weight.val()));
    for (i, block) in model.h.iter().enumerate() {
        norm(format!("h.{i}.ln_1"), &block.ln_1, &mut out);
        dense(format!("h.{i}.attn.c_attn"), &block.attn.c_attn, &mut out)?;
        dense(format!("h.{i}.attn.c_proj"), &block.attn.c_proj, &mut out)?;
        norm(format!("h.{i}.ln_2"), &block.ln_2, &mut out);
        dense(format!("h.{i}.mlp.c_fc"), &block.mlp.c_fc, &mut out)?;
        dense(format!("h.{i}.mlp.c_proj"), &block.mlp.c_proj, &mut out)?;
    }
    norm("ln_f".into(), &model.ln_f, &mut out);
    Ok(out)
}

/// The key as this reader names it: `None` for what it skips.
fn normalise(key: &str) -> Option<&str> {
    let key = key.strip_prefix("transformer.").unwrap_or(key);
    let buffer = key.ends_with(".attn.bias") || key.ends_with(".attn.masked_bias");
    (!buffer && key != "lm_head.weight").then_some(key)
}

fn to_f32(view: &safetensors::tensor::TensorView<'_>, key: &str, path: &Path) -> Result<Vec<f32>> {
    let data = view.data();
    Ok(match view.dtype() {
        Dtype::F32 => data
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
        Dtype::F16 => data
            .chunks_exact(2)
            .map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32())
            .collect(),
        Dtype::BF16 => data
            .chunks_exact(2)
            .map(|c| half::bf16::from_le_bytes([c[0], c[1]]).to_f32())
            .collect(),
        other => {
            return Err(ModelError::Safetensors {
                path: path.to_path_buf(),
                message: format!("{key} is {other:?}; F32, F16 and BF16 are read"),
            });
        }
    })
}

/// Loads a GPT-2 folder (`config.json`, `model.safetensors`) onto `device`; every missing,
/// unexpected or wrongly shaped tensor is listed in one error.
pub fn load_gpt2(dir: impl AsRef<Path>, device: &Device) -> Result<Gpt2> {
    let dir = dir.as_ref();
    let config_path = dir.join(CONFIG_FILE);
    if !config_path.is_file() {
        return Err(ModelError::MissingConfig {
            dir: dir.to_path_buf(),
        });
    }
    let text = std::fs::read_to_string(&config_path)
        .map_err(|e| ModelError::io("reading", &config_path, e))?;
    let config: Gpt2Config = serde_json::from_str(&text).map_err(|e| ModelError::Json {
        path: config_path.clone(),
        source: e,
    })?;
    let mut model = config.init(device).map_err(|e| e.at(&config_path))?;
    let path = dir.join(WEIGHTS_FILE);
    let bytes = std::fs::read(&path).map_err(|e| ModelError::io("reading", &path, e))?;
    let file = SafeTensors::deserialize(&bytes).map_err(|e| ModelError::Safetensors {
        path: path.clone(),
        message: e.to_string(),
    })?;
    let stored: BTreeMap<String, safetensors::tensor::TensorView<'_>> = file
        .tensors()
        .into_iter()
        .filter_map(|(name, view)| normalise(&name).map(|k| (k.to_string(), view)))
        .collect();
    let expected = parameters(&model)?;
    let mut mismatches = Vec::new();
    for (key, tensor) in &expected {
        let want: Vec<usize> = squeeze(key, tensor.dims());
        match stored.get(key) {
            None => mismatches.push(KeyMismatch {
                key: key.clone(),
                expected: Some(want),
                found: None,
            }),
            Some(view) if view.shape() != want.as_slice() => mismatches.push(KeyMismatch {
                key: key.clone(),
                expected: Some(want),
                found: Some(view.shape().to_vec()),
            }),
            Some(_) => {}
        }
    }
    for (key, view) in &stored {
        if !expected.iter().any(|(k, _)| k == key) {
            mismatches.push(KeyMismatch {
                key: key.clone(),
                expected: None,
                found: Some(view.shape().to_vec()),
            });
        }
    }
    if !mismatches.is_empty() {
        return Err(ModelError::Mismatch { path, mismatches });
    }
    let get = |key: &str, shape: [usize; 2]| -> Result<Tensor<2>> {
        let view = &stored[key];
        Ok(Tensor::from_data(
            TensorData::new(to_f32(view, key, &path)?, shape),
            device,
        ))
    };
    let set = |key: &str, target: &mut Param<Tensor<2>>| -> Result<()> {
        let dims = target.dims();
        *target = Param::from_tensor(get(key, dims)?);
        Ok(())
    };
    if let TokenEmbedding::Dense(wte) = &mut model.wte {
        set("wte.weight", &mut wte.weight)?;
    }
    set("wpe.weight", &mut model.wpe.weight)?;
    let vector = |key: &str, width: usize| -> Result<Param<Tensor<1>>> {
        Ok(Param::from_tensor(get(key, [1, width])?.reshape([width])))
    };
    let width = config.n_embd;
    let load_norm = |name: &str, n: &mut LayerNorm| -> Result<()> {
        n.gamma = vector(&format!("{name}.weight"), width)?;
        n.beta = Some(vector(&format!("{name}.bias"), width)?);
        Ok(())
    };
    let load_dense = |name: &str, p: &mut Projection| -> Result<()> {
        // `init` made every layer dense.
        let Projection::Dense(l) = p else {
            return Ok(());
        };
        let dims = l.weight.dims();
        l.weight = Param::from_tensor(get(&format!("{name}.weight"), dims)?);
        if let Some(b) = &mut l.bias {
            *b = vector(&format!("{name}.bias"), dims[1])?;
        }
        Ok(())
    };
    for (i, block) in model.h.iter_mut().enumerate() {
        load_norm(&format!("h.{i}.ln_1"), &mut block.ln_1)?;
        load_dense(&format!("h.{i}.attn.c_attn"), &mut block.attn.c_attn)?;
        load_dense(&format!("h.{i}.attn.c_proj"), &mut block.attn.c_proj)?;
        load_norm(&format!("h.{i}.ln_2"), &mut block.ln_2)?;
        load_dense(&format!("h.{i}.mlp.c_fc"), &mut block.mlp.c_fc)?;
        load_dense(&format!("h.{i}.mlp.c_proj"), &mut block.mlp.c_proj)?;
    }
    load_norm("ln_f", &mut model.ln_f)?;
    Ok(model)
}

/// Vectors are stored 1-d; [`parameters`] hands them out as `[1, n]`.
fn squeeze(key: &str, dims: [usize; 2]) -> Vec<usize> {
    if key.ends_with(".bias") || key.contains(".ln_") || key.starts_with("ln_f") {
        vec![dims[1]]
    } else {
        dims.to_vec()
    }
}

/// Saves `model` as a folder that `transformers`' `GPT2LMHeadModel.from_pretrained` loads:
/// `config.json` and `model.safetensors` with the `transformer.` prefix, as `save_pretrained`
/// writes them (the tied output projection is not stored).
pub fn save_gpt2(model: &Gpt2, dir: impl AsRef<Path>) -> Result<()> {
    let dir = dir.as_ref();
    std::fs::create_dir_all(dir).map_err(|e| ModelError::io("creating", dir, e))?;
    let mut config = serde_json::to_value(model.config()).map_err(|e| ModelError::Json {
        path: dir.join(CONFIG_FILE),
        source: e,
    })?;
    config["architectures"] = serde_json::json!(["GPT2LMHeadModel"]);
    config["tie_word_embeddings"] = serde_json::json!(true);
    // One dropout rate stands for GPT-2's three (its defaults are all 0.1).
    config["embd_pdrop"] = serde_json::json!(model.config().resid_pdrop);
    config["attn_pdrop"] = serde_json::json!(model.config().resid_pdrop);
    let config = serde_json::to_vec_pretty(&config).map_err(|e| ModelError::Json {
        path: dir.join(CONFIG_FILE),
        source: e,
    })?;
    write_atomic(&dir.join(CONFIG_FILE), &config)?;
    let mut tensors = Vec::new();
    for (key, tensor) in parameters(model)? {
        let shape = squeeze(&key, tensor.dims());
        let values = read_values(tensor, "weights")?;
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        tensors.push((format!("transformer.{key}"), shape, bytes));
    }
    let views: Vec<(String, safetensors::tensor::TensorView<'_>)> = tensors
        .iter()
        .map(|(k, shape, bytes)| {
            safetensors::tensor::TensorView::new(Dtype::F32, shape.clone(), bytes)
                .map(|v| (k.clone(), v))
                .map_err(|e| ModelError::Safetensors {
                    path: dir.join(WEIGHTS_FILE),
                    message: e.to_string(),
                })
        })
        .collect::<Result<_>>()?;
    let metadata = Some(std::collections::HashMap::from([(
        "format".to_string(),
        "pt".to_string(),
    )]));
    let bytes = safetensors::serialize(views, metadata).map_err(|e| ModelError::Safetensors {
        path: dir.join(WEIGHTS_FILE),
        message: e.to_string(),
    })?;
    write_atomic(&dir.join(WEIGHTS_FILE), &bytes)
}
