//! Int8 twins of `f32` dense layers, for encoders at inference: PyTorch's `quantize_dynamic`
//! (weights per output channel, activations per row at every call, `i32` sums) on
//! [`Int8Matrix`]'s kernels.
//!
//! A BERT layer keeps its burn [`Linear`] (training, checkpoints and GPU backends use it) and,
//! once quantized, an [`Int8Twin`] beside it that inference on the host multiplies by instead;
//! [`project`] picks one. A model loaded from an int8 file holds the dequantized weights in its
//! `Linear`s (`huggingface::load_bert_int8`), so both paths compute from the same numbers.

use std::sync::Arc;

use burn::nn::Linear;
use burn::prelude::*;
use tinderbox_ops::linear;
use tinderbox_ops::quant::int8::Int8Matrix;

use crate::error::{ModelError, Result, read_values};

/// A dense layer's weights `[d_out, d_in]` in int8 with a scale per output channel, and its
/// bias in `f32`.
#[derive(Debug, Clone)]
pub struct Int8Linear {
    weight: Int8Matrix,
    bias: Option<Vec<f32>>,
}

/// Where a layer keeps its int8 twin: `None` until the model is quantized.
pub type Int8Twin = Option<Arc<Int8Linear>>;

impl Int8Linear {
    /// Quantizes burn's `layer` (weight `[d_in, d_out]`); `what` names it in errors.
    pub fn quantize(layer: &Linear, what: &str) -> Result<Self> {
        // burn's weight is [d_in, d_out]; one scale per output channel, a row each.
        let weight = quantize_int8_rows(layer.weight.val().transpose(), what)?;
        let bias = match &layer.bias {
            Some(b) => Some(read_values(b.val(), "bias")?),
            None => None,
        };
        Ok(Self { weight, bias })
    }

    /// A layer from saved parts; `bias`, if any, holds one value per output channel.
    pub fn new(weight: Int8Matrix, bias: Option<Vec<f32>>) -> Result<Self> {
        if let Some(b) = &bias
            && b.len() != weight.rows()
        {
            return Err(ModelError::config(
                "int8 layer",
                format!(
                    "a bias of {} values for {} output channels",
                    b.len(),
                    weight.rows()
                ),
            ));
        }
        Ok(Self { weight, bias })
    }

    /// The int8 weights.
    pub fn weight(&self) -> &Int8Matrix {
        &self.weight
    }

    /// The bias.
    pub fn bias(&self) -> Option<&[f32]> {
        self.bias.as_deref()
    }

    /// `x [..., d_in]` to `[..., d_out]` on `x`'s device, the product on the host. Fails when
    /// the last dimension is not `d_in`; an activation that is not finite makes its row NaN.
    pub fn forward<const D: usize>(&self, x: Tensor<D>) -> Result<Tensor<D>> {
        let dims = x.dims();
        let m = dims[..D - 1].iter().product();
        if dims[D - 1] != self.weight.cols() {
            return Err(tinderbox_ops::quant::QuantError::Input {
                len: m * dims[D - 1],
                m,
                cols: self.weight.cols(),
            }
            .into());
        }
        Ok(self.apply(x))
    }

    /// [`forward`](Self::forward) for an `x` whose width is `d_in`.
    fn apply<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        let mut dims = x.dims();
        let device = x.device();
        let m = dims[..D - 1].iter().product();
        // Read in place when the values are f32 (on burn's CPU backend a tensor nothing else
        // holds is not copied), converted otherwise.
        let data = x.into_data();
        let converted: Vec<f32>;
        let values = match data.as_slice::<f32>() {
            Ok(values) => values,
            Err(_) => {
                converted = data.iter::<f32>().collect();
                &converted
            }
        };
        // The product fails only on the input's width (checked by the callers) or the bias's
        // length (checked in `new`).
        let y = self
            .weight
            .matmul(values, m, self.bias.as_deref())
            .unwrap_or_else(|_| vec![f32::NAN; m * self.weight.rows()]);
        dims[D - 1] = self.weight.rows();
        Tensor::from_data(TensorData::new(y, dims), &device)
    }
}

/// An `f32` matrix `[rows, cols]` in int8 with a scale per row; `what` names it in the error
/// (the int8 twin of [`quantize_rows`](super::quantize_rows)).
pub(crate) fn quantize_int8_rows(weight: Tensor<2>, what: &str) -> Result<Int8Matrix> {
    let [rows, cols] = weight.dims();
    Int8Matrix::quantize(rows, cols, &read_values(weight, "weights")?)
        .map_err(|e| ModelError::config("quantize", format!("{what}: {e}")))
}

/// `x` through `layer`'s int8 twin when it has one, its width fits and no gradient is being
/// taken, else through `layer` itself (whose errors are burn's).
pub fn project<const D: usize>(layer: &Linear, twin: &Int8Twin, x: Tensor<D>) -> Tensor<D> {
    match twin {
        Some(q) if !x.device().is_autodiff() && x.dims()[D - 1] == q.weight.cols() => q.apply(x),
        _ => linear(layer, x),
    }
}
