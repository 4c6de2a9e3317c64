//! Hugging Face checkpoints: a model folder's `config.json` and `model.safetensors` in, and back
//! out with the same names.
//!
//! The name mapping between checkpoint keys and our module paths is one [`KeyMap`] per
//! architecture; the layout mapping (PyTorch's `Linear` is `[out, in]`, burn's `[in, out]`;
//! LayerNorm's `weight`/`bias` are burn's `gamma`/`beta`) is burn-store's PyTorch adapter.

mod gpt2;
mod int8;
mod key_map;
mod safetensors_io;

pub use gpt2::{load_gpt2, save_gpt2};
pub use int8::{INT8_WEIGHTS_FILE, is_int8_dir, load_bert_int8, save_bert_int8};
pub use key_map::{BERT_KEYS, BERT_MLM_KEYS, KeyMap};
pub use safetensors_io::{load_safetensors, read_tensor_shapes, save_safetensors};

use std::path::{Path, PathBuf};

use burn::prelude::*;

use crate::error::{ModelError, Result};
use crate::transformer::{BertConfig, BertModel};

/// The configuration file of a model folder.
pub const CONFIG_FILE: &str = "config.json";
/// The weights file of a model folder.
pub const WEIGHTS_FILE: &str = "model.safetensors";

/// Loads a BERT encoder from a Hugging Face model folder (`config.json` + `model.safetensors`).
///
/// Checkpoints saved from `BertFor*` task models (keys under `bert.`) load too; a checkpoint
/// without pooler weights gives a model without a pooler. Any other disagreement between the
/// file and the configuration is an error listing every key at fault. A folder of an int8 model
/// (`model.int8.safetensors` only, written by [`save_bert_int8`]) loads in int8.
pub fn load_bert(dir: impl AsRef<Path>, device: &Device) -> Result<BertModel> {
    let dir = dir.as_ref();
    if is_int8_dir(dir) {
        return load_bert_int8(dir, device);
    }
    let (mut config, config_path) = read_bert_config(dir)?;
    let weights = dir.join(WEIGHTS_FILE);
    let shapes = read_tensor_shapes(&weights, &BERT_KEYS)?;
    config.add_pooler = shapes.contains_key("pooler.dense.weight");
    let mut model = config.init(device).map_err(|e| e.at(&config_path))?;
    load_safetensors(&mut model, &weights, &BERT_KEYS)?;
    Ok(model)
}

/// Reads the `config.json` of a model folder, and returns it with its path (for errors found
/// later). A folder without one is [`ModelError::MissingConfig`].
pub fn read_bert_config(dir: &Path) -> Result<(BertConfig, PathBuf)> {
    let config_path = dir.join(CONFIG_FILE);
    if !config_path.is_file() {
        return Err(ModelError::MissingConfig {
            dir: dir.to_path_buf(),
        });
    }
    Ok((BertConfig::from_file(&config_path)?, config_path))
}

/// Saves a BERT encoder as a Hugging Face model folder that `transformers`' `BertModel` loads.
pub fn save_bert(model: &BertModel, dir: impl AsRef<Path>) -> Result<()> {
    save_bert_config(model, dir.as_ref())?;
    save_safetensors(model, dir.as_ref().join(WEIGHTS_FILE), &BERT_KEYS)
}

/// Creates `dir` and writes the encoder's `config.json` into it, atomically (the first half of
/// saving a model folder; task models add their own weights file).
pub fn save_bert_config(model: &BertModel, dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| ModelError::io("creating", dir, e))?;
    let config = serde_json::to_vec_pretty(&model.config()).map_err(|e| ModelError::Json {
        path: dir.join(CONFIG_FILE),
        source: e,
    })?;
    write_atomic(&dir.join(CONFIG_FILE), &config)
}

/// Writes `bytes` to `path` atomically ([`tinderbox_io::write_atomic`]).
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    Ok(tinderbox_io::write_atomic(path, bytes)?)
}
