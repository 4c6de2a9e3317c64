//! BERT encoders quantized to int8, saved and loaded: a model folder whose weights file is
//! `model.int8.safetensors`. It holds the tensors of `model.safetensors` (Hugging Face's names
//! and layouts), except that each quantized dense layer's `weight` and the word embeddings are
//! `I8` (`[out, in]`, `[vocab, hidden]`) with an `F32` `weight_scale` (one per row) beside them:
//! about a quarter of the bytes.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use burn::prelude::*;
use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};
use tinderbox_ops::quant::int8::Int8Matrix;

use super::safetensors_io::{load_safetensors_bytes, safetensors_bytes};
use super::{BERT_KEYS, WEIGHTS_FILE, read_bert_config, save_bert_config, write_atomic};
use crate::error::{ModelError, Result};
use crate::quantized::Int8Linear;
use crate::transformer::BertModel;

/// The weights file of an int8 model folder.
pub const INT8_WEIGHTS_FILE: &str = "model.int8.safetensors";

const SCALE: &str = "_scale";
const WORD_EMBEDDINGS: &str = "embeddings.word_embeddings.weight";

fn corrupt(path: &Path, message: String) -> ModelError {
    ModelError::Safetensors {
        path: path.to_path_buf(),
        message,
    }
}

/// A safetensors file of `(key, dtype, shape, bytes)` tensors; `path` names it in errors.
fn serialize(tensors: &[(String, Dtype, Vec<usize>, Vec<u8>)], path: &Path) -> Result<Vec<u8>> {
    let views = tensors
        .iter()
        .map(|(key, dtype, shape, data)| {
            TensorView::new(*dtype, shape.clone(), data)
                .map(|v| (key.clone(), v))
                .map_err(|e| corrupt(path, e.to_string()))
        })
        .collect::<Result<Vec<_>>>()?;
    safetensors::serialize(views, None).map_err(|e| corrupt(path, e.to_string()))
}

/// Saves an int8 encoder ([`BertModel::quantize_int8`]) as a model folder: `config.json` and
/// `model.int8.safetensors`. An `f32` model is an error (save it with `save_bert`).
pub fn save_bert_int8(model: &BertModel, dir: impl AsRef<Path>) -> Result<()> {
    let dir = dir.as_ref();
    let path = dir.join(INT8_WEIGHTS_FILE);
    if !model.is_int8() {
        return Err(ModelError::config(
            "save_bert_int8",
            "the model is f32: quantize it first (BertModel::quantize_int8), or save it with save_bert".into(),
        ));
    }
    let f32_bytes = safetensors_bytes(model, &path, &BERT_KEYS)?;
    let f32_file =
        SafeTensors::deserialize(&f32_bytes).map_err(|e| corrupt(&path, e.to_string()))?;
    let mut model = model.clone();
    let mut quantized: BTreeMap<String, Int8Matrix> = model
        .dense_layers_mut()
        .into_iter()
        .filter_map(|(name, _, twin)| {
            twin.as_ref()
                .map(|t| (format!("{name}.weight"), t.weight().clone()))
        })
        .collect();
    if let Some(table) = model.word_embeddings_int8() {
        quantized.insert(WORD_EMBEDDINGS.into(), table.clone());
    }
    // Owned bytes for every tensor first; the views below borrow them.
    let mut owned: Vec<(String, Dtype, Vec<usize>, Vec<u8>)> = Vec::new();
    for (key, view) in f32_file.tensors() {
        match quantized.get(&key) {
            Some(w) => {
                let values: Vec<u8> = w.values().into_iter().map(|v| v as u8).collect();
                owned.push((key.clone(), Dtype::I8, vec![w.rows(), w.cols()], values));
                let scales: Vec<u8> = w.scales().iter().flat_map(|s| s.to_le_bytes()).collect();
                owned.push((format!("{key}{SCALE}"), Dtype::F32, vec![w.rows()], scales));
            }
            None => owned.push((
                key,
                view.dtype(),
                view.shape().to_vec(),
                view.data().to_vec(),
            )),
        }
    }
    let bytes = serialize(&owned, &path)?;
    save_bert_config(&model, dir)?;
    write_atomic(&path, &bytes)
}

/// Loads a folder written by [`save_bert_int8`]: the encoder in int8, its `Linear`s holding the
/// weights the int8 values stand for. A missing, mistyped or misshapen tensor is an error
/// naming it.
pub fn load_bert_int8(dir: impl AsRef<Path>, device: &Device) -> Result<BertModel> {
    let dir = dir.as_ref();
    let path = dir.join(INT8_WEIGHTS_FILE);
    let (config, config_path) = read_bert_config(dir)?;
    let bytes = std::fs::read(&path).map_err(|e| ModelError::io("reading", &path, e))?;
    let file = SafeTensors::deserialize(&bytes).map_err(|e| corrupt(&path, e.to_string()))?;
    let mut matrices = BTreeMap::new();
    // The f32 file the int8 one stands for: weights dequantized, scales dropped.
    let mut owned: Vec<(String, Dtype, Vec<usize>, Vec<u8>)> = Vec::new();
    for (key, view) in file.tensors() {
        if key.ends_with(SCALE) {
            continue;
        }
        if view.dtype() != Dtype::I8 {
            owned.push((
                key,
                view.dtype(),
                view.shape().to_vec(),
                view.data().to_vec(),
            ));
            continue;
        }
        let &[rows, cols] = view.shape() else {
            return Err(corrupt(
                &path,
                format!("{key}: int8 weights must be 2-D, found {:?}", view.shape()),
            ));
        };
        let scale_key = format!("{key}{SCALE}");
        let scales = file
            .tensor(&scale_key)
            .map_err(|_| corrupt(&path, format!("{key} is int8 but {scale_key} is missing")))?;
        if scales.dtype() != Dtype::F32 {
            return Err(corrupt(
                &path,
                format!("{scale_key} is {:?}, not F32", scales.dtype()),
            ));
        }
        let scales: Vec<f32> = scales
            .data()
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        let values: Vec<i8> = view.data().iter().map(|&b| b as i8).collect();
        let matrix = Int8Matrix::from_parts(rows, cols, values, scales)
            .map_err(|e| corrupt(&path, format!("{key}: {e}")))?;
        let dequantized: Vec<u8> = matrix
            .dequantize()
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        owned.push((key.clone(), Dtype::F32, vec![rows, cols], dequantized));
        matrices.insert(key, matrix);
    }
    let f32_bytes = serialize(&owned, &path)?;
    let mut model = config.init(device).map_err(|e| e.at(&config_path))?;
    load_safetensors_bytes(&mut model, f32_bytes, &path, &BERT_KEYS)?;
    for (name, layer, twin) in model.dense_layers_mut() {
        let key = format!("{name}.weight");
        let matrix = matrices
            .remove(&key)
            .ok_or_else(|| corrupt(&path, format!("{key} is not int8")))?;
        let bias = match &layer.bias {
            Some(b) => Some(crate::error::read_values(b.val(), "bias")?),
            None => None,
        };
        *twin = Some(Arc::new(Int8Linear::new(matrix, bias)?));
    }
    model.word_embeddings_int8 = matrices.remove(WORD_EMBEDDINGS).map(Arc::new);
    Ok(model)
}

/// Whether `dir` holds an int8 model (`model.int8.safetensors`) and no `f32` one.
pub fn is_int8_dir(dir: &Path) -> bool {
    dir.join(INT8_WEIGHTS_FILE).is_file() && !dir.join(WEIGHTS_FILE).is_file()
}
