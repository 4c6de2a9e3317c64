//! Writing a run's batches as int64 safetensors, for the comparison scripts that train another
//! implementation on exactly the same data (`benches/compare/*_torch.py`).

use std::collections::HashMap;
use std::path::Path;

use burn::prelude::*;
use safetensors::{Dtype, View};

use crate::Error;

/// An int64 tensor `[rows, columns]` for safetensors.
pub struct Int64 {
    /// The values, row after row.
    pub data: Vec<i64>,
    /// `[rows, columns]`.
    pub shape: [usize; 2],
}

impl View for Int64 {
    fn dtype(&self) -> Dtype {
        Dtype::I64
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn data(&self) -> std::borrow::Cow<'_, [u8]> {
        self.data.iter().flat_map(|v| v.to_le_bytes()).collect()
    }
    fn data_len(&self) -> usize {
        self.data.len() * 8
    }
}

/// A tensor's values as `T`, or an error naming what was read.
pub fn read<T: burn::tensor::Element>(data: TensorData) -> Result<Vec<T>, Error> {
    data.convert::<T>()
        .try_to_vec::<T>()
        .map_err(|e| Error::Invalid(format!("reading a batch: {e:?}")))
}

/// Writes `tensors` with `metadata` to `file`, atomically.
pub fn write(
    file: &Path,
    tensors: Vec<(String, Int64)>,
    metadata: HashMap<String, String>,
) -> Result<(), Error> {
    let bytes = safetensors::serialize(tensors, Some(metadata))
        .map_err(|e| Error::Invalid(format!("writing {}: {e}", file.display())))?;
    tinderbox_train::write_atomic(file, &bytes)?;
    Ok(())
}
