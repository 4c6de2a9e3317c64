//! llama.cpp's tensor types (`ggml_type`): plain floats and the block-quantized formats that
//! GGUF files store, with their dequantization to `f32`.
//!
//! Each quantized format packs a fixed number of values (32, or 256 for the "K" formats) into a
//! block of bytes: one or two `f16` scales and small integers. [`dequantize`] expands blocks into
//! floats with the same operations, in the same order, as the reference: llama.cpp's
//! `dequantize_row_*` in `ggml-quants.c`, as the `gguf` Python package (0.19) writes them in
//! numpy. The results are bit-identical to it (tested against its output on fixtures of every
//! type, `tests/quant_reference.rs`).
//!
//! [`QuantizedMatrix`] multiplies by such blocks without expanding them: activations are
//! quantized to 8-bit blocks ([`activation`]), each block's integer dot product is summed with
//! AVX2 or AVX-512 VNNI where the CPU has them ([`Kernel`]), and a plain reference build defines
//! the result bit for bit.
//!
//! [`int8`] holds the other kind: `f32` dense layers quantized to int8 per output channel, as
//! PyTorch's `quantize_dynamic` does for BERT-family encoders.
//!
//! ```
//! use tinderbox_ops::quant::{GgmlType, dequantize};
//!
//! // One Q8_0 block: the scale 0.5 as f16 (0x3800), then 32 signed bytes.
//! let mut block = vec![0x00, 0x38];
//! block.extend((0..32).map(|i| (i as i8 - 16) as u8));
//! let mut out = vec![0.0; 32];
//! dequantize(GgmlType::Q8_0, &block, &mut out).unwrap();
//! assert_eq!(out[0], -8.0);
//! assert_eq!(out[31], 7.5);
//! ```

pub mod activation;
mod blocks;
pub mod int8;
mod matrix;
mod packed;
mod quantize;
mod reference;
#[cfg(target_arch = "x86_64")]
mod x86;

pub use matrix::{Kernel, QuantError, QuantizedMatrix};

use half::{bf16, f16};

/// A tensor type of GGUF files, with llama.cpp's numbering (`ggml_type`) and names.
// llama.cpp's names (Q4_K, not Q4K), so that messages and code read like its files.
#[allow(non_camel_case_types)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GgmlType {
    /// 32-bit float.
    F32,
    /// 16-bit IEEE float.
    F16,
    /// bfloat16.
    BF16,
    /// 32 values: an `f16` scale and 4-bit values centred on 8.
    Q4_0,
    /// 32 values: `f16` scale and minimum, 4-bit values.
    Q4_1,
    /// 32 values: an `f16` scale and 5-bit values centred on 16.
    Q5_0,
    /// 32 values: `f16` scale and minimum, 5-bit values.
    Q5_1,
    /// 32 values: an `f16` scale and 8-bit signed values.
    Q8_0,
    /// 256 values in 8 groups: `f16` super-scales, 6-bit group scales and minima, 4-bit values.
    Q4_K,
    /// As [`GgmlType::Q4_K`] with 5-bit values.
    Q5_K,
    /// 256 values in 16 groups: an `f16` super-scale, 8-bit group scales, 6-bit values.
    Q6_K,
}

/// A type id that this crate cannot read, with llama.cpp's name for it when known.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "tensor type {id} ({name}) is not supported; supported: F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K"
)]
pub struct UnsupportedType {
    /// The `ggml_type` number.
    pub id: u32,
    /// llama.cpp's name for it, or "unknown".
    pub name: &'static str,
}

/// A byte slice or output buffer that does not hold whole blocks of a type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{ty:?}: {bytes} bytes for {values} values; the type packs {block_len} values into {block_bytes} bytes"
)]
pub struct BlockMismatch {
    /// The type.
    pub ty: GgmlType,
    /// The bytes given.
    pub bytes: usize,
    /// The values asked for.
    pub values: usize,
    /// Values per block.
    pub block_len: usize,
    /// Bytes per block.
    pub block_bytes: usize,
}

impl GgmlType {
    /// Every supported type.
    pub const ALL: [GgmlType; 11] = [
        GgmlType::F32,
        GgmlType::F16,
        GgmlType::BF16,
        GgmlType::Q4_0,
        GgmlType::Q4_1,
        GgmlType::Q5_0,
        GgmlType::Q5_1,
        GgmlType::Q8_0,
        GgmlType::Q4_K,
        GgmlType::Q5_K,
        GgmlType::Q6_K,
    ];

    /// The type with llama.cpp's number `id`.
    pub fn from_id(id: u32) -> Result<Self, UnsupportedType> {
        Ok(match id {
            0 => GgmlType::F32,
            1 => GgmlType::F16,
            2 => GgmlType::Q4_0,
            3 => GgmlType::Q4_1,
            6 => GgmlType::Q5_0,
            7 => GgmlType::Q5_1,
            8 => GgmlType::Q8_0,
            12 => GgmlType::Q4_K,
            13 => GgmlType::Q5_K,
            14 => GgmlType::Q6_K,
            30 => GgmlType::BF16,
            _ => {
                let name = match id {
                    9 => "Q8_1",
                    10 => "Q2_K",
                    11 => "Q3_K",
                    15 => "Q8_K",
                    16 => "IQ2_XXS",
                    17 => "IQ2_XS",
                    18 => "IQ3_XXS",
                    19 => "IQ1_S",
                    20 => "IQ4_NL",
                    21 => "IQ3_S",
                    22 => "IQ2_S",
                    23 => "IQ4_XS",
                    29 => "IQ1_M",
                    24 => "I8",
                    25 => "I16",
                    26 => "I32",
                    27 => "I64",
                    28 => "F64",
                    34 => "TQ1_0",
                    35 => "TQ2_0",
                    39 => "MXFP4",
                    _ => "unknown",
                };
                return Err(UnsupportedType { id, name });
            }
        })
    }

    /// llama.cpp's number for the type.
    pub fn id(self) -> u32 {
        match self {
            GgmlType::F32 => 0,
            GgmlType::F16 => 1,
            GgmlType::Q4_0 => 2,
            GgmlType::Q4_1 => 3,
            GgmlType::Q5_0 => 6,
            GgmlType::Q5_1 => 7,
            GgmlType::Q8_0 => 8,
            GgmlType::Q4_K => 12,
            GgmlType::Q5_K => 13,
            GgmlType::Q6_K => 14,
            GgmlType::BF16 => 30,
        }
    }

    /// Values per block (1 for plain floats).
    pub fn block_len(self) -> usize {
        match self {
            GgmlType::F32 | GgmlType::F16 | GgmlType::BF16 => 1,
            GgmlType::Q4_0 | GgmlType::Q4_1 | GgmlType::Q5_0 | GgmlType::Q5_1 | GgmlType::Q8_0 => {
                32
            }
            GgmlType::Q4_K | GgmlType::Q5_K | GgmlType::Q6_K => 256,
        }
    }

    /// Bytes per block.
    pub fn block_bytes(self) -> usize {
        match self {
            GgmlType::F32 => 4,
            GgmlType::F16 | GgmlType::BF16 => 2,
            GgmlType::Q4_0 => 18,
            GgmlType::Q4_1 => 20,
            GgmlType::Q5_0 => 22,
            GgmlType::Q5_1 => 24,
            GgmlType::Q8_0 => 34,
            GgmlType::Q4_K => 144,
            GgmlType::Q5_K => 176,
            GgmlType::Q6_K => 210,
        }
    }

    /// Whether [`QuantizedMatrix`] multiplies by blocks of this type without expanding them.
    pub fn has_quantized_product(self) -> bool {
        matches!(
            self,
            GgmlType::Q4_0
                | GgmlType::Q4_1
                | GgmlType::Q8_0
                | GgmlType::Q4_K
                | GgmlType::Q5_K
                | GgmlType::Q6_K
        )
    }

    /// The bytes that `values` values take, if they fill whole blocks.
    pub fn bytes_for(self, values: usize) -> Option<usize> {
        values
            .is_multiple_of(self.block_len())
            .then(|| values / self.block_len())
            .and_then(|blocks| blocks.checked_mul(self.block_bytes()))
    }
}

/// Expands `bytes` of type `ty` into `out`, which must hold exactly the values they encode.
pub fn dequantize(ty: GgmlType, bytes: &[u8], out: &mut [f32]) -> Result<(), BlockMismatch> {
    if ty.bytes_for(out.len()) != Some(bytes.len()) {
        return Err(BlockMismatch {
            ty,
            bytes: bytes.len(),
            values: out.len(),
            block_len: ty.block_len(),
            block_bytes: ty.block_bytes(),
        });
    }
    let blocks = bytes.chunks_exact(ty.block_bytes());
    let outs = out.chunks_exact_mut(ty.block_len());
    match ty {
        GgmlType::F32 => {
            for (b, o) in blocks.zip(outs) {
                o[0] = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            }
        }
        GgmlType::F16 => {
            for (b, o) in blocks.zip(outs) {
                o[0] = f16::from_le_bytes([b[0], b[1]]).to_f32();
            }
        }
        GgmlType::BF16 => {
            for (b, o) in blocks.zip(outs) {
                o[0] = bf16::from_le_bytes([b[0], b[1]]).to_f32();
            }
        }
        GgmlType::Q4_0 => blocks.zip(outs).for_each(|(b, o)| blocks::q4_0(b, o)),
        GgmlType::Q4_1 => blocks.zip(outs).for_each(|(b, o)| blocks::q4_1(b, o)),
        GgmlType::Q5_0 => blocks.zip(outs).for_each(|(b, o)| blocks::q5_0(b, o)),
        GgmlType::Q5_1 => blocks.zip(outs).for_each(|(b, o)| blocks::q5_1(b, o)),
        GgmlType::Q8_0 => blocks.zip(outs).for_each(|(b, o)| blocks::q8_0(b, o)),
        GgmlType::Q4_K => blocks.zip(outs).for_each(|(b, o)| blocks::q4_k(b, o)),
        GgmlType::Q5_K => blocks.zip(outs).for_each(|(b, o)| blocks::q5_k(b, o)),
        GgmlType::Q6_K => blocks.zip(outs).for_each(|(b, o)| blocks::q6_k(b, o)),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_unknown_ones_are_named() {
        for ty in GgmlType::ALL {
            assert_eq!(GgmlType::from_id(ty.id()), Ok(ty));
        }
        let err = GgmlType::from_id(11).unwrap_err();
        assert_eq!(err.name, "Q3_K");
        assert!(
            err.to_string()
                .contains("tensor type 11 (Q3_K) is not supported"),
            "{err}"
        );
        assert_eq!(GgmlType::from_id(999).unwrap_err().name, "unknown");
    }

    #[test]
    fn sizes_that_are_not_whole_blocks_are_refused() {
        assert_eq!(GgmlType::Q4_K.bytes_for(512), Some(288));
        assert_eq!(GgmlType::Q4_K.bytes_for(100), None);
        let mut out = vec![0.0; 32];
        let err = dequantize(GgmlType::Q4_0, &[0; 17], &mut out).unwrap_err();
        assert!(err.to_string().contains("17 bytes for 32 values"), "{err}");
    }

    #[test]
    fn q4_0_centres_on_eight() {
        // Scale 1.0 (f16 0x3C00); low nibbles are values 0..16, high nibbles 16..32.
        let mut block = vec![0x00, 0x3C];
        block.extend((0..16u8).map(|i| i | (15 - i) << 4));
        let mut out = vec![0.0; 32];
        dequantize(GgmlType::Q4_0, &block, &mut out).unwrap();
        assert_eq!(out[0], -8.0);
        assert_eq!(out[15], 7.0);
        assert_eq!(out[16], 7.0);
        assert_eq!(out[31], -8.0);
    }
}
