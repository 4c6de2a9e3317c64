//! GGUF, llama.cpp's checkpoint format: metadata (the architecture's sizes, the tokenizer's
//! vocabulary and merges, the chat template) and tensors, often block-quantized, in one file.
//!
//! [`GgufFile::open`] memory-maps the file and reads its header, metadata and tensor table
//! (versions 2 and 3); tensors are read from the map when asked for, dequantized to `f32` by
//! [`tinderbox_ops::quant`] bit for bit as llama.cpp does. Reference: llama.cpp's `gguf.cpp` and
//! the `gguf` Python package 0.19 (`tests/gguf_reader.rs` reads a file it wrote and compares every
//! value).
//!
//! ```
//! use tinderbox_nn::gguf::GgufFile;
//!
//! let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/tiny.gguf");
//! let file = GgufFile::open(path)?;
//! assert_eq!(file.get_str("general.architecture")?, "llama");
//! let info = file.tensor("blk.8.q4_k").unwrap();
//! assert_eq!(info.shape, vec![256, 2]); // ggml order: 2 rows of 256
//! let values = file.dequantize("blk.8.q4_k")?;
//! assert_eq!(values.len(), 512);
//! # Ok::<(), tinderbox_nn::gguf::GgufError>(())
//! ```

mod error;
mod llama;
mod parse;
mod value;

pub use error::GgufError;
pub use value::GgufValue;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use burn::prelude::*;
use tinderbox_ops::quant::{GgmlType, QuantizedMatrix, dequantize};

/// One tensor of the file's table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GgufTensorInfo {
    /// llama.cpp's name (`token_embd.weight`, `blk.0.attn_q.weight`, ...).
    pub name: String,
    /// ggml order: `shape[0]` is the length of a row. A PyTorch `[out, in]` weight is
    /// `[in, out]` here.
    pub shape: Vec<usize>,
    /// How its values are stored.
    pub ty: GgmlType,
    /// From the start of the file.
    pub offset: u64,
    /// Its bytes in the file.
    pub bytes: usize,
}

impl GgufTensorInfo {
    /// The number of values.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// Whether it holds no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

enum Storage {
    Mapped(memmap2::Mmap),
    Owned(Vec<u8>),
}

impl std::ops::Deref for Storage {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            Storage::Mapped(map) => map,
            Storage::Owned(bytes) => bytes,
        }
    }
}

/// An open GGUF file.
pub struct GgufFile {
    path: PathBuf,
    storage: Storage,
    version: u32,
    alignment: u64,
    metadata: Vec<(String, GgufValue)>,
    index: HashMap<String, usize>,
    tensors: Vec<GgufTensorInfo>,
    by_name: HashMap<String, usize>,
}

impl std::fmt::Debug for GgufFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GgufFile")
            .field("path", &self.path)
            .field("version", &self.version)
            .field("metadata", &self.metadata.len())
            .field("tensors", &self.tensors.len())
            .finish()
    }
}

impl GgufFile {
    /// Maps `path` into memory and reads its header, metadata and tensor table.
    ///
    /// The file must not be changed while it is open (as with llama.cpp's own mapping): the
    /// tensors are read from the mapping when asked for.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, GgufError> {
        let path = path.as_ref();
        let io = |action| {
            move |source| GgufError::Io {
                action,
                path: path.to_path_buf(),
                source,
            }
        };
        let file = std::fs::File::open(path).map_err(io("opening"))?;
        // SAFETY: the mapping is read-only and private to this value; the caveat that another
        // process must not truncate or rewrite the file while it is open is documented above,
        // as for every memory-mapped model loader (llama.cpp, candle, safetensors).
        let map = unsafe { memmap2::Mmap::map(&file) }.map_err(io("memory-mapping"))?;
        Self::from_storage(Storage::Mapped(map), path)
    }

    /// Reads a GGUF file already in memory (`origin` names it in errors).
    pub fn from_bytes(bytes: Vec<u8>, origin: impl AsRef<Path>) -> Result<Self, GgufError> {
        Self::from_storage(Storage::Owned(bytes), origin.as_ref())
    }

    fn from_storage(storage: Storage, path: &Path) -> Result<Self, GgufError> {
        let layout = parse::parse(&storage, path)?;
        let tensors: Vec<GgufTensorInfo> = layout
            .tensors
            .into_iter()
            .map(|t| GgufTensorInfo {
                name: t.name,
                shape: t.dims.iter().map(|&d| d as usize).collect(),
                ty: t.ty,
                offset: layout.data_start + t.offset,
                bytes: t.bytes as usize,
            })
            .collect();
        Ok(Self {
            path: path.to_path_buf(),
            storage,
            version: layout.version,
            alignment: layout.alignment,
            index: layout
                .metadata
                .iter()
                .enumerate()
                .map(|(i, (k, _))| (k.clone(), i))
                .collect(),
            metadata: layout.metadata,
            by_name: tensors
                .iter()
                .enumerate()
                .map(|(i, t)| (t.name.clone(), i))
                .collect(),
            tensors,
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The format version (2 or 3).
    pub fn version(&self) -> u32 {
        self.version
    }

    /// The alignment of the tensor data (`general.alignment`, 32 by default).
    pub fn alignment(&self) -> u64 {
        self.alignment
    }

    /// Every metadata pair, in file order.
    pub fn metadata(&self) -> &[(String, GgufValue)] {
        &self.metadata
    }

    /// The value of metadata key `key`.
    pub fn get(&self, key: &str) -> Option<&GgufValue> {
        self.index.get(key).map(|&i| &self.metadata[i].1)
    }

    fn need(&self, key: &str) -> Result<&GgufValue, GgufError> {
        self.get(key).ok_or_else(|| GgufError::MissingKey {
            path: self.path.clone(),
            key: key.to_string(),
        })
    }

    fn wrong(&self, key: &str, expected: &'static str, value: &GgufValue) -> GgufError {
        GgufError::WrongType {
            path: self.path.clone(),
            key: key.to_string(),
            expected,
            found: format!("{} {value}", value.type_name()),
        }
    }

    /// The string at `key`.
    pub fn get_str(&self, key: &str) -> Result<&str, GgufError> {
        let value = self.need(key)?;
        value
            .as_str()
            .ok_or_else(|| self.wrong(key, "a string", value))
    }

    /// The non-negative integer at `key`, whatever its width.
    pub fn get_u64(&self, key: &str) -> Result<u64, GgufError> {
        let value = self.need(key)?;
        value
            .as_u64()
            .ok_or_else(|| self.wrong(key, "a non-negative integer", value))
    }

    /// The number at `key`.
    pub fn get_f64(&self, key: &str) -> Result<f64, GgufError> {
        let value = self.need(key)?;
        value
            .as_f64()
            .ok_or_else(|| self.wrong(key, "a number", value))
    }

    /// The array at `key`.
    pub fn get_array(&self, key: &str) -> Result<&[GgufValue], GgufError> {
        let value = self.need(key)?;
        value
            .as_array()
            .ok_or_else(|| self.wrong(key, "an array", value))
    }

    /// The tensor table, in file order.
    pub fn tensors(&self) -> &[GgufTensorInfo] {
        &self.tensors
    }

    /// The tensor called `name`.
    pub fn tensor(&self, name: &str) -> Option<&GgufTensorInfo> {
        self.by_name.get(name).map(|&i| &self.tensors[i])
    }

    fn need_tensor(&self, name: &str) -> Result<&GgufTensorInfo, GgufError> {
        self.tensor(name).ok_or_else(|| GgufError::MissingTensor {
            path: self.path.clone(),
            name: name.to_string(),
        })
    }

    /// The stored bytes of a tensor of this file's table (blocks as the file has them).
    pub fn tensor_bytes(&self, info: &GgufTensorInfo) -> &[u8] {
        // The table was checked against the file's length when it was read.
        &self.storage[info.offset as usize..info.offset as usize + info.bytes]
    }

    /// The values of tensor `name` as `f32`, rows one after another.
    pub fn dequantize(&self, name: &str) -> Result<Vec<f32>, GgufError> {
        let info = self.need_tensor(name)?;
        let mut out = vec![0.0; info.len()];
        dequantize(info.ty, self.tensor_bytes(info), &mut out)?;
        Ok(out)
    }

    /// Tensor `name` as a burn tensor of `shape` (PyTorch order: the ggml shape reversed), on
    /// `device`; an error naming both shapes if the file's differs.
    pub fn load_tensor<const D: usize>(
        &self,
        name: &str,
        shape: [usize; D],
        device: &Device,
    ) -> Result<Tensor<D>, GgufError> {
        let info = self.shaped_tensor(name, &shape)?;
        let values = self.dequantize(name)?;
        self.release_pages(info);
        Ok(Tensor::from_data(TensorData::new(values, shape), device))
    }

    /// Tensor `name` of shape `[rows, cols]` (PyTorch order) as it is stored, in blocks, for
    /// products on them; an error naming the shapes if the file's differs, or the type if it
    /// has no quantized product ([`GgmlType::has_quantized_product`]).
    pub fn load_matrix(
        &self,
        name: &str,
        [rows, cols]: [usize; 2],
    ) -> Result<QuantizedMatrix, crate::ModelError> {
        let info = self.shaped_tensor(name, &[rows, cols])?;
        let matrix = QuantizedMatrix::new(info.ty, rows, cols, self.tensor_bytes(info).to_vec())
            .map_err(|e| crate::ModelError::config(name, e.to_string()).at(&self.path))?;
        self.release_pages(info);
        Ok(matrix)
    }

    /// Lets the kernel drop the mapped pages of a tensor that has been copied out, so that a
    /// model's resident memory is its copy, not its copy and the file's pages (a later read
    /// of the tensor maps the file's bytes again).
    fn release_pages(&self, info: &GgufTensorInfo) {
        #[cfg(unix)]
        if let Storage::Mapped(map) = &self.storage {
            // SAFETY: the mapping is private and read-only, so the dropped pages hold nothing
            // but the file's bytes, which the next access reads back; no reference into them
            // outlives the copy that `load_matrix` just made. A failure only keeps the pages.
            let _ = unsafe {
                map.unchecked_advise_range(
                    memmap2::UncheckedAdvice::DontNeed,
                    info.offset as usize,
                    info.bytes,
                )
            };
        }
    }

    /// The table entry of `name`, checked to have `shape` (PyTorch order).
    fn shaped_tensor(&self, name: &str, shape: &[usize]) -> Result<&GgufTensorInfo, GgufError> {
        let info = self.need_tensor(name)?;
        let expected: Vec<usize> = shape.iter().rev().copied().collect();
        if info.shape != expected {
            return Err(GgufError::Shape {
                path: self.path.clone(),
                name: name.to_string(),
                expected,
                found: info.shape.clone(),
            });
        }
        Ok(info)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(version: u32, tensors: u64, kvs: u64) -> Vec<u8> {
        let mut b = b"GGUF".to_vec();
        b.extend(version.to_le_bytes());
        b.extend(tensors.to_le_bytes());
        b.extend(kvs.to_le_bytes());
        b
    }

    fn string(b: &mut Vec<u8>, s: &str) {
        b.extend((s.len() as u64).to_le_bytes());
        b.extend(s.as_bytes());
    }

    fn error(bytes: Vec<u8>) -> String {
        GgufFile::from_bytes(bytes, "x.gguf")
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn an_empty_file_with_one_key_reads() {
        let mut b = header(3, 0, 1);
        string(&mut b, "general.name");
        b.extend(8u32.to_le_bytes());
        string(&mut b, "tiny");
        let file = GgufFile::from_bytes(b, "x.gguf").unwrap();
        assert_eq!(file.get_str("general.name").unwrap(), "tiny");
        assert_eq!(file.alignment(), 32);
        let err = file.get_u64("general.name").unwrap_err().to_string();
        assert!(
            err.contains("general.name is string \"tiny\", expected a non-negative integer"),
            "{err}"
        );
        let err = file
            .get_str("general.architecture")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("no metadata key general.architecture"),
            "{err}"
        );
    }

    #[test]
    fn bad_headers_are_named() {
        assert!(error(b"GGML\x03\0\0\0".to_vec()).contains("is not a GGUF file"));
        assert!(error(header(1, 0, 0)).contains("GGUF version 1 is not supported"));
        assert!(error(header(3, 0, 0)[..10].to_vec()).contains("truncated at byte 8"));
        // A count of metadata pairs far beyond what the file holds.
        let err = error(header(3, 0, u64::MAX));
        assert!(err.contains("truncated"), "{err}");
    }

    #[test]
    fn a_huge_array_length_is_refused_before_allocating() {
        let mut b = header(3, 0, 1);
        string(&mut b, "tokenizer.ggml.tokens");
        b.extend(9u32.to_le_bytes());
        b.extend(8u32.to_le_bytes());
        b.extend(u64::MAX.to_le_bytes());
        let err = error(b);
        assert!(
            err.contains("an array of 18446744073709551615 values"),
            "{err}"
        );
    }

    #[test]
    fn deeply_nested_arrays_are_refused() {
        let mut b = header(3, 0, 1);
        string(&mut b, "deep");
        b.extend(9u32.to_le_bytes());
        for _ in 0..20 {
            b.extend(9u32.to_le_bytes());
            b.extend(1u64.to_le_bytes());
        }
        assert!(error(b).contains("arrays nested deeper than 8"));
    }

    #[test]
    fn a_tensor_past_the_end_or_of_an_unknown_type_is_named() {
        let tensor = |ty: u32, dims: &[u64], offset: u64| {
            let mut b = header(3, 1, 0);
            string(&mut b, "blk.0.attn_q.weight");
            b.extend((dims.len() as u32).to_le_bytes());
            for d in dims {
                b.extend(d.to_le_bytes());
            }
            b.extend(ty.to_le_bytes());
            b.extend(offset.to_le_bytes());
            b
        };
        let err = error(tensor(0, &[4, 2], 0));
        assert!(
            err.contains("tensor blk.0.attn_q.weight: its 32 bytes"),
            "{err}"
        );
        let err = error(tensor(11, &[256], 0));
        assert!(
            err.contains("tensor blk.0.attn_q.weight: tensor type 11 (Q3_K)"),
            "{err}"
        );
        let err = error(tensor(12, &[100], 0));
        assert!(
            err.contains("rows of 100 values do not fill whole Q4_K blocks"),
            "{err}"
        );
        let err = error(tensor(0, &[u64::MAX, 4], 0));
        assert!(err.contains("overflows"), "{err}");
        let mut aligned = tensor(0, &[4], 0);
        aligned.resize(112, 0);
        assert!(GgufFile::from_bytes(aligned.clone(), "x.gguf").is_ok());
        let mut misaligned = tensor(0, &[4], 8);
        misaligned.resize(128, 0);
        assert!(error(misaligned).contains("offset 8 is not a multiple of the alignment 32"));
    }
}
