//! [`FusedOps`] on burn's CPU backend: the tensors' memory handed to [`kernels`] directly.
//!
//! The public functions only send `f32` tensors here; anything else falls back to burn's own
//! operations rather than panicking.

#![cfg(feature = "flex")]

use super::{FusedOps, kernels};
use burn::backend::Flex;
use burn::backend::flex::FlexTensor;
use burn::backend::ops::{ActivationOps, FloatTensorOps, ModuleOps};
use burn::backend::tensor::FloatTensor;
use burn::tensor::{DType, TensorData};

/// `x` laid out row-major from offset 0, copied only when it is a strided view.
fn row_major(x: FlexTensor) -> FlexTensor {
    if x.as_slice::<f32>().is_some() {
        x
    } else {
        x.to_contiguous()
    }
}

/// The `f32` elements of a [`row_major`] tensor (empty for another dtype, which the callers
/// rule out first).
fn values(x: &FlexTensor) -> &[f32] {
    x.as_slice::<f32>().unwrap_or(&[])
}

/// A tensor of `x`'s shape holding `values`.
fn like(x: &FlexTensor, values: Vec<f32>) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, x.layout().shape().clone()))
}

fn is_f32(tensors: &[&FlexTensor]) -> bool {
    tensors.iter().all(|t| t.dtype() == DType::F32)
}

/// The length of the last dimension (1 for a scalar).
fn last_dim(x: &FlexTensor) -> usize {
    x.layout().shape().last().copied().unwrap_or(1)
}

impl FusedOps for Flex {
    fn fused_gelu(x: FloatTensor<Self>) -> FloatTensor<Self> {
        if !is_f32(&[&x]) {
            return Flex::gelu(x);
        }
        let x = row_major(x);
        like(&x, kernels::gelu(values(&x)))
    }

    fn fused_gelu_backward(x: FloatTensor<Self>, grad: FloatTensor<Self>) -> FloatTensor<Self> {
        if !is_f32(&[&x, &grad]) {
            return Flex::gelu_backward(x, grad);
        }
        let (x, grad) = (row_major(x), row_major(grad));
        like(&x, kernels::gelu_backward(values(&x), values(&grad)))
    }

    fn fused_softmax(x: FloatTensor<Self>) -> FloatTensor<Self> {
        if !is_f32(&[&x]) {
            let dim = x.layout().shape().len().saturating_sub(1);
            return Flex::softmax(x, dim);
        }
        let x = row_major(x);
        like(&x, kernels::softmax(values(&x), last_dim(&x)))
    }

    fn fused_softmax_backward(y: FloatTensor<Self>, grad: FloatTensor<Self>) -> FloatTensor<Self> {
        if !is_f32(&[&y, &grad]) {
            // y (grad - sum(grad y)) with burn's operations.
            let dim = y.layout().shape().len().saturating_sub(1);
            let dot = Flex::float_sum_dim(Flex::float_mul(y.clone(), grad.clone()), dim);
            return Flex::float_mul(y, Flex::float_sub(grad, dot));
        }
        let (y, grad) = (row_major(y), row_major(grad));
        like(
            &y,
            kernels::softmax_backward(values(&y), values(&grad), last_dim(&y)),
        )
    }

    fn fused_layer_norm(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
    ) -> FloatTensor<Self> {
        if !is_f32(&[&x, &gamma, &beta]) {
            return Flex::layer_norm(x, gamma, Some(beta), epsilon);
        }
        let (x, gamma, beta) = (row_major(x), row_major(gamma), row_major(beta));
        let y = kernels::layer_norm(values(&x), values(&gamma), values(&beta), epsilon as f32);
        like(&x, y)
    }

    fn fused_layer_norm_backward(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        epsilon: f64,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        // Only reached from the autodiff node of an `f32` `fused_layer_norm`.
        let (x, gamma, grad) = (row_major(x), row_major(gamma), row_major(grad));
        let (dx, dgamma, dbeta) =
            kernels::layer_norm_backward(values(&x), values(&gamma), values(&grad), epsilon as f32);
        (like(&x, dx), like(&gamma, dgamma), like(&gamma, dbeta))
    }
}
