//! The GGUF layout (llama.cpp's `gguf.cpp`, versions 2 and 3, little-endian): a header, the
//! metadata key-value pairs, the tensor table, then the tensor data at an aligned offset.
//!
//! Every length and count is checked against the bytes left before anything is allocated, so a
//! corrupt or hostile file is an error, never a huge allocation or a panic.

use std::path::Path;

use tinderbox_ops::quant::GgmlType;

use super::error::GgufError;
use super::value::GgufValue;

/// `GGUF` read as a little-endian `u32`.
const MAGIC: u32 = 0x4655_4747;
/// The alignment of the data section and of every tensor when `general.alignment` is absent.
pub(super) const DEFAULT_ALIGNMENT: u64 = 32;
/// ggml's `GGML_MAX_DIMS`.
const MAX_DIMS: u32 = 4;
/// Arrays of arrays deeper than this are refused (llama.cpp writes at most two levels).
const MAX_DEPTH: usize = 8;

/// What the header and tables say, before any tensor is read.
#[derive(Debug, Clone)]
pub(super) struct Layout {
    pub version: u32,
    pub metadata: Vec<(String, GgufValue)>,
    pub tensors: Vec<TensorEntry>,
    pub alignment: u64,
    pub data_start: u64,
}

/// One row of the tensor table.
#[derive(Debug, Clone)]
pub(super) struct TensorEntry {
    pub name: String,
    /// ggml order: `dims[0]` is the length of a row (the fastest-moving index).
    pub dims: Vec<u64>,
    pub ty: GgmlType,
    /// From the start of the data section.
    pub offset: u64,
    pub bytes: u64,
}

struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
    path: &'a Path,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: u64, what: &str) -> Result<&'a [u8], GgufError> {
        let left = (self.bytes.len() - self.at) as u64;
        if n > left {
            return Err(GgufError::Truncated {
                path: self.path.to_path_buf(),
                offset: self.at as u64,
                what: format!("{what} ({n} bytes, {left} left)"),
            });
        }
        let slice = &self.bytes[self.at..self.at + n as usize];
        self.at += n as usize;
        Ok(slice)
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N], GgufError> {
        let mut out = [0; N];
        out.copy_from_slice(self.take(N as u64, what)?);
        Ok(out)
    }

    fn u32(&mut self, what: &str) -> Result<u32, GgufError> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    fn u64(&mut self, what: &str) -> Result<u64, GgufError> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }

    fn string(&mut self, what: &str) -> Result<String, GgufError> {
        let at = self.at as u64;
        let len = self.u64(what)?;
        let bytes = self.take(len, what)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| GgufError::NotUtf8 {
            path: self.path.to_path_buf(),
            offset: at,
            what: what.to_string(),
        })
    }

    fn value(&mut self, ty: u32, key: &str, depth: usize) -> Result<GgufValue, GgufError> {
        Ok(match ty {
            0 => GgufValue::U8(self.array::<1>(key)?[0]),
            1 => GgufValue::I8(self.array::<1>(key)?[0] as i8),
            2 => GgufValue::U16(u16::from_le_bytes(self.array(key)?)),
            3 => GgufValue::I16(i16::from_le_bytes(self.array(key)?)),
            4 => GgufValue::U32(self.u32(key)?),
            5 => GgufValue::I32(i32::from_le_bytes(self.array(key)?)),
            6 => GgufValue::F32(f32::from_le_bytes(self.array(key)?)),
            7 => match self.array::<1>(key)?[0] {
                0 => GgufValue::Bool(false),
                1 => GgufValue::Bool(true),
                other => {
                    return Err(self.invalid(key, format!("bool byte {other} (must be 0 or 1)")));
                }
            },
            8 => GgufValue::String(self.string(key)?),
            9 => {
                if depth >= MAX_DEPTH {
                    return Err(self.invalid(key, format!("arrays nested deeper than {MAX_DEPTH}")));
                }
                let item_ty = self.u32(key)?;
                let len = self.u64(key)?;
                // Every element takes at least one byte: a longer array cannot fit.
                let left = (self.bytes.len() - self.at) as u64;
                if len > left {
                    return Err(GgufError::Truncated {
                        path: self.path.to_path_buf(),
                        offset: self.at as u64,
                        what: format!("{key}: an array of {len} values ({left} bytes left)"),
                    });
                }
                let mut items = Vec::with_capacity(len as usize);
                for _ in 0..len {
                    items.push(self.value(item_ty, key, depth + 1)?);
                }
                GgufValue::Array(items)
            }
            10 => GgufValue::U64(self.u64(key)?),
            11 => GgufValue::I64(i64::from_le_bytes(self.array(key)?)),
            12 => GgufValue::F64(f64::from_le_bytes(self.array(key)?)),
            other => return Err(self.invalid(key, format!("unknown value type {other}"))),
        })
    }

    fn invalid(&self, what: &str, reason: String) -> GgufError {
        GgufError::Invalid {
            path: self.path.to_path_buf(),
            offset: self.at as u64,
            what: what.to_string(),
            reason,
        }
    }
}

/// Reads the header, metadata and tensor table of `bytes` (the whole file), and checks that
/// every tensor lies, aligned, inside it.
pub(super) fn parse(bytes: &[u8], path: &Path) -> Result<Layout, GgufError> {
    let mut c = Cursor { bytes, at: 0, path };
    let magic = c.u32("the magic number")?;
    if magic != MAGIC {
        return Err(GgufError::NotGguf {
            path: path.to_path_buf(),
            magic: magic.to_le_bytes(),
        });
    }
    let version = c.u32("the version")?;
    if !(2..=3).contains(&version) {
        return Err(GgufError::Version {
            path: path.to_path_buf(),
            version,
        });
    }
    let tensor_count = c.u64("the tensor count")?;
    let kv_count = c.u64("the metadata count")?;
    let mut metadata = Vec::new();
    for _ in 0..kv_count {
        let key = c.string("a metadata key")?;
        let ty = c.u32(&key)?;
        let value = c.value(ty, &key, 0)?;
        metadata.push((key, value));
    }
    let alignment = match metadata.iter().find(|(k, _)| k == "general.alignment") {
        None => DEFAULT_ALIGNMENT,
        Some((_, GgufValue::U32(a))) if *a != 0 && a.is_power_of_two() => u64::from(*a),
        Some((_, value)) => {
            return Err(c.invalid(
                "general.alignment",
                format!("{value} (must be a power of two, as a uint32)"),
            ));
        }
    };
    let mut tensors = Vec::new();
    for _ in 0..tensor_count {
        let name = c.string("a tensor name")?;
        let n_dims = c.u32(&name)?;
        if n_dims == 0 || n_dims > MAX_DIMS {
            return Err(c.invalid(&name, format!("{n_dims} dimensions (ggml has 1 to 4)")));
        }
        let mut dims = Vec::with_capacity(n_dims as usize);
        for _ in 0..n_dims {
            dims.push(c.u64(&name)?);
        }
        let ty_id = c.u32(&name)?;
        let ty = GgmlType::from_id(ty_id).map_err(|source| GgufError::TensorType {
            path: path.to_path_buf(),
            tensor: name.clone(),
            source,
        })?;
        let offset = c.u64(&name)?;
        let elements = dims
            .iter()
            .try_fold(1u64, |n, &d| n.checked_mul(d))
            .filter(|&n| n <= usize::MAX as u64);
        let bytes = match elements {
            Some(n) if dims[0] % ty.block_len() as u64 == 0 => ty
                .bytes_for(n as usize)
                .map(|b| b as u64)
                .ok_or_else(|| c.invalid(&name, format!("{dims:?} elements overflow")))?,
            Some(_) => {
                return Err(c.invalid(
                    &name,
                    format!(
                        "rows of {} values do not fill whole {ty:?} blocks of {}",
                        dims[0],
                        ty.block_len()
                    ),
                ));
            }
            None => return Err(c.invalid(&name, format!("shape {dims:?} overflows"))),
        };
        tensors.push(TensorEntry {
            name,
            dims,
            ty,
            offset,
            bytes,
        });
    }
    let data_start = (c.at as u64).div_ceil(alignment) * alignment;
    let file_len = bytes.len() as u64;
    for t in &tensors {
        if t.offset % alignment != 0 {
            return Err(GgufError::Layout {
                path: path.to_path_buf(),
                tensor: t.name.clone(),
                reason: format!(
                    "offset {} is not a multiple of the alignment {alignment}",
                    t.offset
                ),
            });
        }
        let end = data_start
            .checked_add(t.offset)
            .and_then(|s| s.checked_add(t.bytes));
        if end.is_none_or(|end| end > file_len) {
            return Err(GgufError::Layout {
                path: path.to_path_buf(),
                tensor: t.name.clone(),
                reason: format!(
                    "its {} bytes at data offset {} end past the file's {file_len} bytes \
                     (truncated download?)",
                    t.bytes, t.offset
                ),
            });
        }
    }
    Ok(Layout {
        version,
        metadata,
        tensors,
        alignment,
        data_start,
    })
}
