//! Layers whose weights stay in GGUF's quantized blocks and are multiplied as they are
//! ([`tinderbox_ops::quant::QuantizedMatrix`]), beside the `f32` layers they replace: a decoder
//! holds a [`Projection`] or a [`TokenEmbedding`] of either kind and runs the same code.
//!
//! [`Int8Linear`] is the encoders' kind: an int8 twin of a BERT dense layer, quantized from
//! `f32` as PyTorch's `quantize_dynamic` does.
//!
//! The products run on the host: the activations are read back from the device, multiplied
//! with integer kernels, and the result is sent back. On burn's CPU backend that is a copy of a
//! few kilobytes per layer at decoding; on a GPU, dequantize at load instead (`load_llama`).

mod embedding;
mod int8;
mod linear;

pub use embedding::{QuantizedEmbedding, TokenEmbedding};
pub(crate) use int8::quantize_int8_rows;
pub use int8::{Int8Linear, Int8Twin, project};
pub use linear::{Projection, QuantizedLinear};

use burn::prelude::*;
use tinderbox_ops::quant::{GgmlType, QuantError, QuantizedMatrix};

use crate::error::{ModelError, Result, read_values};

/// `x [..., cols]` times `weight [rows, cols]`ᵀ: `[..., rows]` on `x`'s device, the product on
/// the host. Fails when the last dimension is not `cols`.
fn product<const D: usize>(weight: &QuantizedMatrix, x: Tensor<D>) -> Result<Tensor<D>> {
    let mut dims = x.dims();
    let device = x.device();
    let m = dims[..D - 1].iter().product();
    if dims[D - 1] != weight.cols() {
        return Err(QuantError::Input {
            len: m * dims[D - 1],
            m,
            cols: weight.cols(),
        }
        .into());
    }
    let y = weight.matmul(&read_values(x, "activations")?, m)?;
    dims[D - 1] = weight.rows();
    Ok(Tensor::from_data(TensorData::new(y, dims), &device))
}

/// An `f32` matrix `[rows, cols]` (one output per row) quantized to `ty`; `what` names it in
/// the error.
fn quantize_rows(weight: Tensor<2>, ty: GgmlType, what: &str) -> Result<QuantizedMatrix> {
    let [rows, cols] = weight.dims();
    QuantizedMatrix::quantize(ty, rows, cols, &read_values(weight, "weights")?)
        .map_err(|e| ModelError::config("quantize", format!("{what}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decoder::{CausalLm, Llama, LlamaConfig};
    use tinderbox_ops::quant::GgmlType;

    fn values(x: Tensor<2>) -> Vec<f32> {
        x.into_data().try_into_vec::<f32>().unwrap()
    }

    fn tiny() -> Llama {
        let device = Device::default();
        device.seed(7);
        LlamaConfig::new(64, 64, 128, 2, 4, 2)
            .init(&device)
            .unwrap()
    }

    fn logits(model: &Llama, ids: &[i64]) -> Vec<f32> {
        let device = Device::default();
        let mut cache = model.new_cache(1, ids.len());
        let ids = Tensor::<1, Int>::from_data(TensorData::new(ids.to_vec(), [ids.len()]), &device)
            .reshape([1, ids.len()]);
        let padding = [vec![false; ids.dims()[1]]];
        values(model.forward_last(ids, &padding, &mut cache).unwrap())
    }

    #[test]
    fn a_quantized_llama_gives_the_dense_ones_logits_up_to_8_bit_rounding() {
        let dense = tiny();
        let q = dense.quantize(GgmlType::Q8_0).unwrap();
        assert_eq!(q.quantized_types(), [GgmlType::Q8_0]);
        for len in [1, 3, 20] {
            let ids: Vec<i64> = (0..len as i64).map(|i| (i * 7 + 3) % 64).collect();
            let (a, b) = (logits(&dense, &ids), logits(&q, &ids));
            let scale = a.iter().fold(0.0f32, |m, v| m.max(v.abs()));
            let worst = a
                .iter()
                .zip(&b)
                .map(|(x, y)| (x - y).abs())
                .fold(0.0, f32::max);
            assert!(worst <= 0.05 * scale, "{len} positions: {worst} of {scale}");
        }
    }

    #[test]
    fn ids_past_the_table_and_inputs_of_the_wrong_width_are_errors() {
        let q = tiny().quantize(GgmlType::Q8_0).unwrap();
        let device = Device::default();
        let ids = Tensor::<2, Int>::from_data(TensorData::new(vec![3i64, 64], [1, 2]), &device);
        let err = q.embed_tokens.forward(ids).unwrap_err();
        assert!(
            err.to_string()
                .contains("token id 64 is outside the vocabulary of 64"),
            "{err}"
        );
        let err = q.layers[0]
            .self_attn
            .q_proj
            .forward(Tensor::<3>::zeros([1, 2, 32], &device))
            .unwrap_err();
        assert!(
            err.to_string().contains("match the matrix's 64 columns"),
            "{err}"
        );
    }
}
