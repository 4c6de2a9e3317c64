//! Reading and writing safetensors files through burn-store, with a full report of the keys
//! that do not fit before anything is applied.

use std::collections::BTreeMap;
use std::path::Path;

use burn::store::{BurnToPyTorchAdapter, ModuleSnapshot, PyTorchToBurnAdapter, SafetensorsStore};

use super::key_map::KeyMap;
use crate::error::{KeyMismatch, ModelError, Result};

fn read_bytes(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| ModelError::io("reading", path, e))
}

fn shapes_of(bytes: &[u8], path: &Path, keys: &KeyMap) -> Result<BTreeMap<String, Vec<usize>>> {
    let file =
        safetensors::SafeTensors::deserialize(bytes).map_err(|e| ModelError::Safetensors {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
    Ok(file
        .tensors()
        .into_iter()
        .filter_map(|(name, view)| {
            keys.normalise(&name)
                .map(|k| (k.to_string(), view.shape().to_vec()))
        })
        .collect())
}

/// The checkpoint keys (task prefixes removed, buffers left out) and shapes of a safetensors
/// file; a truncated or corrupt file is an error.
pub fn read_tensor_shapes(
    path: impl AsRef<Path>,
    keys: &KeyMap,
) -> Result<BTreeMap<String, Vec<usize>>> {
    let path = path.as_ref();
    shapes_of(&read_bytes(path)?, path, keys)
}

/// The checkpoint keys and PyTorch-layout shapes the module expects.
fn expected_shapes<M: ModuleSnapshot>(module: &M, keys: &KeyMap) -> BTreeMap<String, Vec<usize>> {
    module
        .collect(None, Some(Box::new(BurnToPyTorchAdapter)), false)
        .into_iter()
        .map(|t| (keys.to_checkpoint(&t.name), t.shape.to_vec()))
        .collect()
}

fn mismatches(
    expected: &BTreeMap<String, Vec<usize>>,
    found: &BTreeMap<String, Vec<usize>>,
) -> Vec<KeyMismatch> {
    let mut out: Vec<KeyMismatch> = expected
        .iter()
        .filter(|(key, shape)| found.get(*key) != Some(shape))
        .map(|(key, shape)| KeyMismatch {
            key: key.clone(),
            expected: Some(shape.clone()),
            found: found.get(key).cloned(),
        })
        .collect();
    out.extend(
        found
            .iter()
            .filter(|(key, _)| !expected.contains_key(*key))
            .map(|(key, shape)| KeyMismatch {
                key: key.clone(),
                expected: None,
                found: Some(shape.clone()),
            }),
    );
    out
}

/// Loads the weights of a safetensors checkpoint into `module`, mapping names with `keys` and
/// PyTorch's layouts to burn's. Every missing, unexpected or wrongly shaped tensor is reported
/// at once, and nothing is loaded unless all fit.
pub fn load_safetensors<M: ModuleSnapshot>(
    module: &mut M,
    path: impl AsRef<Path>,
    keys: &KeyMap,
) -> Result<()> {
    let path = path.as_ref();
    load_safetensors_bytes(module, read_bytes(path)?, path, keys)
}

/// [`load_safetensors`] from the bytes of a file (`path` names it in errors).
pub(crate) fn load_safetensors_bytes<M: ModuleSnapshot>(
    module: &mut M,
    bytes: Vec<u8>,
    path: &Path,
    keys: &KeyMap,
) -> Result<()> {
    let found = shapes_of(&bytes, path, keys)?;
    let wrong = mismatches(&expected_shapes(module, keys), &found);
    if !wrong.is_empty() {
        return Err(ModelError::Mismatch {
            path: path.to_path_buf(),
            mismatches: wrong,
        });
    }
    let remapper = keys.reading().map_err(|message| ModelError::Safetensors {
        path: path.to_path_buf(),
        message,
    })?;
    let mut store = SafetensorsStore::from_bytes(Some(bytes))
        .remap(remapper)
        .with_from_adapter(PyTorchToBurnAdapter)
        .allow_partial(true)
        .validate(false);
    let result = module
        .load_from(&mut store)
        .map_err(|e| ModelError::Safetensors {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
    if !result.errors.is_empty() || !result.missing.is_empty() {
        return Err(ModelError::Safetensors {
            path: path.to_path_buf(),
            message: format!("errors {:?}, missing {:?}", result.errors, result.missing),
        });
    }
    Ok(())
}

/// Saves `module` as a safetensors file with checkpoint names and PyTorch layouts (written to a
/// temporary file, then renamed).
pub fn save_safetensors<M: ModuleSnapshot>(
    module: &M,
    path: impl AsRef<Path>,
    keys: &KeyMap,
) -> Result<()> {
    let path = path.as_ref();
    super::write_atomic(path, &safetensors_bytes(module, path, keys)?)
}

/// The bytes [`save_safetensors`] writes (`path` names the file in errors).
pub(crate) fn safetensors_bytes<M: ModuleSnapshot>(
    module: &M,
    path: &Path,
    keys: &KeyMap,
) -> Result<Vec<u8>> {
    let remapper = keys.writing().map_err(|message| ModelError::Safetensors {
        path: path.to_path_buf(),
        message,
    })?;
    let mut store = SafetensorsStore::from_bytes(None)
        .remap(remapper)
        .with_to_adapter(BurnToPyTorchAdapter);
    module
        .save_into(&mut store)
        .map_err(|e| ModelError::Safetensors {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
    store.get_bytes().map_err(|e| ModelError::Safetensors {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}
