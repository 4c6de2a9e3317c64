//! The GGUF reader against the `gguf` Python package (llama.cpp's own): a file it wrote
//! (`benches/compare/gguf_reference.py`), with metadata of every value type and a tensor of every
//! supported type, read back the same: metadata, tensor table (shapes in ggml order, absolute
//! offsets), and every dequantized value bit for bit. Then the same file as version 2, and cut
//! short anywhere: an error, never a panic.

use std::path::Path;

use burn::prelude::*;
use safetensors::SafeTensors;
use serde_json::Value;
use tinderbox_nn::gguf::{GgufError, GgufFile, GgufValue};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

fn reference() -> Value {
    serde_json::from_str(&std::fs::read_to_string(format!("{DIR}/tiny.gguf.json")).unwrap())
        .unwrap()
}

/// A metadata value as `gguf.GGUFReader` reports it (nested arrays flattened).
fn as_json(value: &GgufValue) -> Value {
    match value {
        GgufValue::Array(items) => {
            let mut flat = Vec::new();
            for item in items {
                match as_json(item) {
                    Value::Array(inner) if item.as_array().is_some() => flat.extend(inner),
                    other => flat.push(other),
                }
            }
            Value::Array(flat)
        }
        GgufValue::String(s) => s.clone().into(),
        GgufValue::Bool(b) => (*b).into(),
        GgufValue::F32(f) => f64::from(*f).into(),
        GgufValue::F64(f) => (*f).into(),
        other => match (other.as_u64(), other.as_i64()) {
            (Some(u), _) => u.into(),
            (None, Some(i)) => i.into(),
            _ => unreachable!("every other value is an integer"),
        },
    }
}

#[test]
fn metadata_and_table_match_the_gguf_package() {
    let file = GgufFile::open(format!("{DIR}/tiny.gguf")).unwrap();
    let reference = reference();
    assert_eq!(file.version(), 3);
    assert_eq!(file.alignment(), 64);
    let metadata = reference["metadata"].as_object().unwrap();
    assert_eq!(file.metadata().len(), metadata.len());
    for (key, value) in file.metadata() {
        assert_eq!(&as_json(value), &metadata[key], "{key}");
    }
    // The nested array keeps its structure here.
    let nested = file.get_array("test.nested").unwrap();
    assert_eq!(nested.len(), 2);
    assert_eq!(nested[1], GgufValue::Array(vec![GgufValue::I32(3)]));
    assert_eq!(file.get_u64("test.u64").unwrap(), (1 << 63) + 5);
    assert_eq!(file.get_f64("test.i64").unwrap(), -(2f64.powi(62)));
    let tensors = reference["tensors"].as_array().unwrap();
    assert_eq!(file.tensors().len(), tensors.len());
    for (ours, theirs) in file.tensors().iter().zip(tensors) {
        assert_eq!(ours.name, theirs["name"].as_str().unwrap());
        let shape: Vec<usize> = serde_json::from_value(theirs["shape"].clone()).unwrap();
        assert_eq!(ours.shape, shape, "{}", ours.name);
        assert_eq!(format!("{:?}", ours.ty), theirs["type"].as_str().unwrap());
        assert_eq!(
            ours.offset,
            theirs["offset"].as_u64().unwrap(),
            "{}",
            ours.name
        );
        assert_eq!(ours.offset % 64, 0);
    }
}

#[test]
fn every_tensor_dequantizes_to_the_gguf_packages_bits() {
    let file = GgufFile::open(format!("{DIR}/tiny.gguf")).unwrap();
    let bytes = std::fs::read(format!("{DIR}/tiny_gguf_values.safetensors")).unwrap();
    let values = SafeTensors::deserialize(&bytes).unwrap();
    for info in file.tensors() {
        let ours = file.dequantize(&info.name).unwrap();
        let theirs: Vec<u32> = values
            .tensor(&info.name)
            .unwrap()
            .data()
            .chunks(4)
            .map(|c| u32::from_le_bytes(c.try_into().unwrap()))
            .collect();
        assert_eq!(ours.len(), theirs.len(), "{}", info.name);
        assert!(
            ours.iter().zip(&theirs).all(|(a, b)| a.to_bits() == *b),
            "{} ({:?}) differs",
            info.name,
            info.ty
        );
    }
}

#[test]
fn tensors_load_in_pytorch_order_and_shapes_are_checked() {
    let file = GgufFile::open(format!("{DIR}/tiny.gguf")).unwrap();
    let device = Device::default();
    let cube = file.load_tensor::<3>("cube", [2, 3, 4], &device).unwrap();
    assert_eq!(cube.dims(), [2, 3, 4]);
    let flat: Vec<f32> = cube.into_data().try_to_vec().unwrap();
    assert_eq!(flat, file.dequantize("cube").unwrap());
    let err = file
        .load_tensor::<2>("blk.7.q8_0", [256, 2], &device)
        .unwrap_err();
    assert!(matches!(err, GgufError::Shape { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("has shape [256, 2] (ggml order), expected [2, 256]"),
        "{err}"
    );
    let err = file.dequantize("blk.99.attn_q.weight").unwrap_err();
    assert!(
        err.to_string().contains("no tensor blk.99.attn_q.weight"),
        "{err}"
    );
}

#[test]
fn version_2_reads_and_every_truncation_is_an_error() {
    let bytes = std::fs::read(format!("{DIR}/tiny.gguf")).unwrap();
    let mut v2 = bytes.clone();
    v2[4..8].copy_from_slice(&2u32.to_le_bytes());
    let file = GgufFile::from_bytes(v2, "v2.gguf").unwrap();
    assert_eq!(file.version(), 2);
    assert_eq!(file.tensors().len(), 13);
    // Cut everywhere in the header and tables, and inside the first and the last tensor (the
    // writer pads the file after it, so its last bytes are not data).
    let table_end = file.tensors()[0].offset as usize;
    let last = file
        .tensors()
        .iter()
        .map(|t| t.offset as usize + t.bytes)
        .max()
        .unwrap();
    for len in (0..table_end).chain([table_end + 1, last - 1]) {
        let err = GgufFile::from_bytes(bytes[..len].to_vec(), Path::new("cut.gguf"));
        assert!(err.is_err(), "a file cut at {len} bytes was accepted");
    }
}

/// Where `needle` starts in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .position(|w| w == needle)
        .unwrap()
}

#[test]
fn another_format_an_unknown_tensor_type_and_another_architecture_are_named() {
    let bytes = std::fs::read(format!("{DIR}/tiny.gguf")).unwrap();
    // llama.cpp's older container, GGML's magic.
    let mut ggml = bytes.clone();
    ggml[..4].copy_from_slice(b"ggml");
    let err = GgufFile::from_bytes(ggml, "old.bin")
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "old.bin is not a GGUF file (it starts with [103, 103, 109, 108], not \"GGUF\")"
    );
    // The first tensor's type id set to 16 (IQ2_XXS, an importance-matrix type not read here).
    let file = GgufFile::from_bytes(bytes.clone(), "tiny.gguf").unwrap();
    let first = &file.tensors()[0];
    let name_end = find(&bytes, first.name.as_bytes()) + first.name.len();
    let type_at = name_end + 4 + 8 * first.shape.len();
    let mut iq2 = bytes.clone();
    iq2[type_at..type_at + 4].copy_from_slice(&16u32.to_le_bytes());
    let err = GgufFile::from_bytes(iq2, "iq2.gguf").unwrap_err();
    assert!(matches!(err, GgufError::TensorType { .. }), "{err}");
    let message = err.to_string();
    assert!(
        message.starts_with(&format!("iq2.gguf: tensor {}: ", first.name))
            && message.contains("IQ2_XXS"),
        "{message}"
    );
    // The same file saying it holds a Mamba (same length as "llama", so the layout holds).
    let at = find(&bytes, b"llama");
    let mut mamba = bytes;
    mamba[at..at + 5].copy_from_slice(b"mamba");
    let file = GgufFile::from_bytes(mamba, "mamba.gguf").unwrap();
    assert_eq!(file.architecture().unwrap(), "mamba");
    let err = file.llama_config().unwrap_err().to_string();
    assert!(
        err.contains("mamba.gguf") && err.contains("\"mamba\" is not supported (llama is)"),
        "{err}"
    );
}
