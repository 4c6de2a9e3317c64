//! Eight rows' blocks interleaved, for the 32-value formats whose products run eight rows at a
//! time (Q4_0, Q4_1, Q8_0; llama.cpp repacks Q4_0 for the same reason): a block column of
//! eight rows holds the eight `f16` scales side by side (then the eight minima, for Q4_1), then
//! the quantized bytes in 4-byte pieces, piece `c` of rows 0..8 one after another. A register
//! load then holds the same piece of all eight rows, and one 8-bit dot product instruction
//! gives all eight rows' partial sums. The bytes are the same as GGUF's, only reordered.

use super::GgmlType;

/// The `f16` fields and quantized bytes of a block of a format that packs, if it does.
pub(super) fn layout(ty: GgmlType) -> Option<(usize, usize)> {
    match ty {
        GgmlType::Q4_0 => Some((1, 16)),
        GgmlType::Q4_1 => Some((2, 16)),
        GgmlType::Q8_0 => Some((1, 32)),
        _ => None,
    }
}

/// Where byte `at` of block `block` of row `row` goes in the packed layout.
fn packed_at(
    ty: GgmlType,
    (scales, _): (usize, usize),
    per_row: usize,
    row: usize,
    block: usize,
    at: usize,
) -> usize {
    let bs = ty.block_bytes();
    let (group, lane) = (row / 8, row % 8);
    let base = (group * per_row + block) * 8 * bs;
    if at < 2 * scales {
        base + 16 * (at / 2) + 2 * lane + at % 2
    } else {
        let q = at - 2 * scales;
        base + 16 * scales + 32 * (q / 4) + 4 * lane + q % 4
    }
}

/// GGUF's row-major blocks of `rows` rows (a multiple of 8) in the packed layout.
pub(super) fn pack(ty: GgmlType, data: &[u8], rows: usize, per_row: usize) -> Vec<u8> {
    let (Some(fields), true) = (layout(ty), rows.is_multiple_of(8)) else {
        return data.to_vec();
    };
    let bs = ty.block_bytes();
    let mut out = vec![0u8; data.len()];
    for row in 0..rows {
        for block in 0..per_row {
            let from = (row * per_row + block) * bs;
            for at in 0..bs {
                out[packed_at(ty, fields, per_row, row, block, at)] = data[from + at];
            }
        }
    }
    out
}

/// Row `row`'s blocks in GGUF's layout, from bytes that [`pack`] wrote (copies of the 2-byte
/// scales and 4-byte pieces).
pub(super) fn unpack_row(ty: GgmlType, packed: &[u8], row: usize, per_row: usize) -> Vec<u8> {
    let bs = ty.block_bytes();
    let (scales, qbytes) = layout(ty).unwrap_or((0, bs));
    let (group, lane) = (row / 8, row % 8);
    let mut out = Vec::with_capacity(per_row * bs);
    for block in 0..per_row {
        let base = (group * per_row + block) * 8 * bs;
        for k in 0..scales {
            let at = base + 16 * k + 2 * lane;
            out.extend_from_slice(&packed[at..at + 2]);
        }
        for piece in 0..qbytes / 4 {
            let at = base + 16 * scales + 32 * piece + 4 * lane;
            out.extend_from_slice(&packed[at..at + 4]);
        }
    }
    out
}
