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

/// The elements of `x` in row-major order, copied only when `x` is a strided view.
fn contiguous(x: &FlexTensor) -> std::borrow::Cow<'_, [f32]> {
    match x.as_slice::<f32>() {
        Some(slice) => std::borrow::Cow::Borrowed(slice),
        None => {
            std::borrow::Cow::Owned(x.to_contiguous().as_slice::<f32>().unwrap_or(&[]).to_vec())
        }
    }
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
        let y = kernels::gelu(&contiguous(&x));
        like(&x, y)
    }

    fn fused_gelu_backward(x: FloatTensor<Self>, grad: FloatTensor<Self>) -> FloatTensor<Self> {
        if !is_f32(&[&x, &grad]) {
            return Flex::gelu_backward(x, grad);
        }
        let dx = kernels::gelu_backward(&contiguous(&x), &contiguous(&grad));
        like(&x, dx)
    }

    fn fused_softmax(x: FloatTensor<Self>) -> FloatTensor<Self> {
        if !is_f32(&[&x]) {
            let dim = x.layout().shape().len().saturating_sub(1);
            return Flex::softmax(x, dim);
        }
        let y = kernels::softmax(&contiguous(&x), last_dim(&x));
        like(&x, y)
    }

    fn fused_softmax_backward(y: FloatTensor<Self>, grad: FloatTensor<Self>) -> FloatTensor<Self> {
        if !is_f32(&[&y, &grad]) {
            // y (grad - sum(grad y)) with burn's operations.
            let dim = y.layout().shape().len().saturating_sub(1);
            let dot = Flex::float_sum_dim(Flex::float_mul(y.clone(), grad.clone()), dim);
            return Flex::float_mul(y, Flex::float_sub(grad, dot));
        }
        let dx = kernels::softmax_backward(&contiguous(&y), &contiguous(&grad), last_dim(&y));
        like(&y, dx)
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
        let y = kernels::layer_norm(
            &contiguous(&x),
            &contiguous(&gamma),
            &contiguous(&beta),
            epsilon as f32,
        );
        like(&x, y)
    }

    fn fused_layer_norm_backward(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        epsilon: f64,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        let (dx, dgamma, dbeta) = kernels::layer_norm_backward(
            &contiguous(&x),
            &contiguous(&gamma),
            &contiguous(&grad),
            epsilon as f32,
        );
        (like(&x, dx), like(&gamma, dgamma), like(&gamma, dbeta))
    }
}
