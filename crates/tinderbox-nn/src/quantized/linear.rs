//! A linear layer on quantized weights, and [`Projection`]: either kind of layer.

use std::sync::Arc;

use burn::module::Param;
use burn::nn::Linear;
use burn::prelude::*;
use tinderbox_ops::linear;
use tinderbox_ops::quant::{GgmlType, QuantizedMatrix};

use super::{product, quantize_rows};
use crate::error::Result;

/// `y = x Wᵀ + b` with `W [d_out, d_in]` kept in quantized blocks and an optional `f32` bias.
#[derive(Module, Debug)]
pub struct QuantizedLinear {
    /// Shared, so that cloning a model (a forked worker, a second server) copies no weights.
    #[module(skip)]
    weight: Arc<QuantizedMatrix>,
    /// `[d_out]`, if any.
    pub bias: Option<Param<Tensor<1>>>,
}

impl QuantizedLinear {
    /// A bias-free layer over `weight [d_out, d_in]` (Llamas have no biases).
    pub fn new(weight: QuantizedMatrix) -> Self {
        Self {
            weight: Arc::new(weight),
            bias: None,
        }
    }

    /// A layer over `weight [d_out, d_in]` that adds `bias [d_out]`.
    pub fn with_bias(weight: QuantizedMatrix, bias: Tensor<1>) -> Self {
        Self {
            weight: Arc::new(weight),
            bias: Some(Param::from_tensor(bias)),
        }
    }

    /// The weight blocks.
    pub fn weight(&self) -> &QuantizedMatrix {
        &self.weight
    }

    /// `x [..., d_in]` to `[..., d_out]`. Fails when the last dimension is not `d_in`.
    pub fn forward<const D: usize>(&self, x: Tensor<D>) -> Result<Tensor<D>> {
        let y = product(&self.weight, x)?;
        Ok(match &self.bias {
            Some(bias) => y + bias.val().unsqueeze(),
            None => y,
        })
    }
}

/// A linear layer with `f32` weights (burn's [`Linear`]) or quantized ones.
#[derive(Module, Debug)]
pub enum Projection {
    /// `f32` weights `[d_in, d_out]`, multiplied by [`tinderbox_ops::linear`].
    Dense(Linear),
    /// Quantized blocks.
    Quantized(QuantizedLinear),
}

impl Projection {
    /// `x [..., d_in]` to `[..., d_out]`.
    pub fn forward<const D: usize>(&self, x: Tensor<D>) -> Result<Tensor<D>> {
        match self {
            Projection::Dense(layer) => Ok(linear(layer, x)),
            Projection::Quantized(layer) => layer.forward(x),
        }
    }

    /// The `f32` layer, when it is one.
    pub fn dense(&self) -> Option<&Linear> {
        match self {
            Projection::Dense(layer) => Some(layer),
            Projection::Quantized(_) => None,
        }
    }

    /// The layer with its weights quantized to `ty` (Q8_0, Q4_0 or Q4_1, as llama.cpp's
    /// reference quantizers write them), the bias kept in `f32`; a quantized layer is returned
    /// as it is. Fails for another type, or an input width that is not whole blocks of 32.
    pub fn quantize(&self, ty: GgmlType) -> Result<Projection> {
        let Projection::Dense(layer) = self else {
            return Ok(self.clone());
        };
        // burn's weight is [d_in, d_out]; the blocks run along d_in, one row per output.
        let [d_in, d_out] = layer.weight.dims();
        let matrix = quantize_rows(
            layer.weight.val().transpose(),
            ty,
            &format!("a [{d_in}, {d_out}] linear layer"),
        )?;
        Ok(Projection::Quantized(match &layer.bias {
            Some(bias) => QuantizedLinear::with_bias(matrix, bias.val()),
            None => QuantizedLinear::new(matrix),
        }))
    }
}

impl From<Linear> for Projection {
    fn from(layer: Linear) -> Self {
        Projection::Dense(layer)
    }
}

impl From<QuantizedMatrix> for Projection {
    fn from(weight: QuantizedMatrix) -> Self {
        Projection::Quantized(QuantizedLinear::new(weight))
    }
}
