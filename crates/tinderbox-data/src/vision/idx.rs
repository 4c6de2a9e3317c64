//! The IDX format of the MNIST family: a big-endian header (`0 0 type rank`, then one `u32` per
//! dimension) followed by the data. Files may be raw or gzip-compressed.

use std::io::Read;
use std::path::Path;

use flate2::read::GzDecoder;

use crate::error::{DataError, Result};

/// The unsigned-byte element type, the only one the MNIST family uses.
const TYPE_U8: u8 = 0x08;

/// An IDX array of unsigned bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxArray {
    /// The dimensions, outermost first.
    pub dims: Vec<usize>,
    /// The elements in row-major order.
    pub data: Vec<u8>,
}

/// Reads an IDX file of unsigned bytes; a name ending in `.gz` is decompressed first.
pub fn read_idx(path: &Path) -> Result<IdxArray> {
    let raw = std::fs::read(path).map_err(|e| DataError::io("reading", path, e))?;
    let bytes = if path.extension().is_some_and(|e| e == "gz") {
        let mut out = Vec::new();
        GzDecoder::new(raw.as_slice())
            .read_to_end(&mut out)
            .map_err(|e| DataError::Archive {
                path: path.to_path_buf(),
                reason: format!("corrupt or truncated gzip: {e}"),
            })?;
        out
    } else {
        raw
    };
    parse_idx(bytes, path)
}

/// Parses the bytes of an uncompressed IDX file; `path` is used in errors.
pub fn parse_idx(mut bytes: Vec<u8>, path: &Path) -> Result<IdxArray> {
    let fail = |reason: String| DataError::Idx {
        path: path.to_path_buf(),
        reason,
    };
    if bytes.len() < 4 {
        return Err(fail(format!(
            "{} bytes is too short for a header",
            bytes.len()
        )));
    }
    let (zero, kind, rank) = (&bytes[..2], bytes[2], bytes[3] as usize);
    if zero != [0, 0] || kind != TYPE_U8 || rank == 0 {
        return Err(fail(format!(
            "wrong magic number {:02x}{:02x}{:02x}{:02x}: expected 000008NN (unsigned bytes, rank NN >= 1)",
            bytes[0], bytes[1], bytes[2], bytes[3]
        )));
    }
    let header = 4 + 4 * rank;
    if bytes.len() < header {
        return Err(fail(format!(
            "truncated header: rank {rank} needs {header} bytes"
        )));
    }
    let dims: Vec<usize> = bytes[4..header]
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize)
        .collect();
    let expected = dims.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
    let found = bytes.len() - header;
    if expected != Some(found) {
        return Err(fail(format!(
            "dimensions {dims:?} need {expected:?} data bytes, file has {found}"
        )));
    }
    bytes.drain(..header);
    Ok(IdxArray { dims, data: bytes })
}

/// Encodes unsigned bytes with the given dimensions as an uncompressed IDX file.
pub fn encode_idx(dims: &[usize], data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + 4 * dims.len() + data.len());
    out.extend_from_slice(&[0, 0, TYPE_U8, dims.len() as u8]);
    for &d in dims {
        out.extend_from_slice(&(d as u32).to_be_bytes());
    }
    out.extend_from_slice(data);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn round_trips_raw_and_gzip() {
        let dir = tempfile::tempdir().unwrap();
        let data: Vec<u8> = (0..2 * 3 * 4).map(|i| i as u8).collect();
        let bytes = encode_idx(&[2, 3, 4], &data);
        assert_eq!(&bytes[..8], &[0, 0, 8, 3, 0, 0, 0, 2]);
        let raw = dir.path().join("x-idx3-ubyte");
        std::fs::write(&raw, &bytes).unwrap();
        let gz = dir.path().join("x-idx3-ubyte.gz");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(&bytes).unwrap();
        std::fs::write(&gz, enc.finish().unwrap()).unwrap();
        for path in [raw, gz] {
            let arr = read_idx(&path).unwrap();
            assert_eq!(arr.dims, vec![2, 3, 4]);
            assert_eq!(arr.data, data);
        }
    }

    #[test]
    fn wrong_magic_or_size_is_an_error() {
        let p = Path::new("bad");
        let mut bytes = encode_idx(&[2, 2], &[1, 2, 3, 4]);
        bytes[2] = 0x0D; // float data
        let err = parse_idx(bytes, p).unwrap_err().to_string();
        assert!(err.contains("wrong magic number 00000d02"), "{err}");

        let mut short = encode_idx(&[2, 2], &[1, 2, 3, 4]);
        short.pop();
        let err = parse_idx(short, p).unwrap_err().to_string();
        assert!(err.contains("need Some(4) data bytes, file has 3"), "{err}");

        let err = parse_idx(vec![0, 0, 8, 3, 0], p).unwrap_err().to_string();
        assert!(err.contains("truncated header"), "{err}");

        // Dimensions whose product overflows.
        let huge = encode_idx(
            &[u32::MAX as usize, u32::MAX as usize, u32::MAX as usize],
            &[],
        );
        assert!(parse_idx(huge, p).is_err());
    }

    #[test]
    fn corrupt_gzip_is_an_archive_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.gz");
        std::fs::write(&path, b"\x1f\x8b\x08\x00garbage").unwrap();
        let err = read_idx(&path).unwrap_err();
        assert!(matches!(err, DataError::Archive { .. }), "{err}");
    }
}
