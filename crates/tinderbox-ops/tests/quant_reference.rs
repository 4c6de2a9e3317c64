//! Dequantization against llama.cpp's reference as the `gguf` Python package computes it
//! (`benches/compare/gguf_reference.py` wrote the fixture): every type, bit for bit.

use safetensors::SafeTensors;
use tinderbox_ops::quant::{GgmlType, dequantize};

#[test]
fn every_type_dequantizes_to_the_same_bits_as_gguf() {
    let bytes = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/quant_reference.safetensors"
    ))
    .unwrap();
    let file = SafeTensors::deserialize(&bytes).unwrap();
    for ty in GgmlType::ALL {
        let name = format!("{ty:?}");
        let raw = file
            .tensor(&format!("{name}.bytes"))
            .unwrap()
            .data()
            .to_vec();
        let expected: Vec<u32> = file
            .tensor(&format!("{name}.values"))
            .unwrap()
            .data()
            .chunks(4)
            .map(|c| u32::from_le_bytes(c.try_into().unwrap()))
            .collect();
        let mut out = vec![0.0f32; expected.len()];
        dequantize(ty, &raw, &mut out).unwrap();
        let mismatches: Vec<usize> = out
            .iter()
            .zip(&expected)
            .enumerate()
            .filter(|(_, (ours, theirs))| ours.to_bits() != **theirs)
            .map(|(i, _)| i)
            .collect();
        assert!(
            mismatches.is_empty(),
            "{name}: {} of {} values differ, first at {} ({} vs {})",
            mismatches.len(),
            out.len(),
            mismatches[0],
            out[mismatches[0]],
            f32::from_bits(expected[mismatches[0]])
        );
        assert!(
            out.len() >= 8 * ty.block_len(),
            "{name}: too few values to test"
        );
    }
}
