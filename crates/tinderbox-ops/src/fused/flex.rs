//! [`FusedOps`] on burn's CPU backend: the tensors' memory handed to [`kernels`] directly.
//!
//! The public functions only send `f32` tensors here; anything else falls back to burn's own
//! operations rather than panicking.

#![cfg(feature = "flex")]

use super::dense::Dense;
use super::multi_head_attention::{Heads, Masks};
use super::product::Strided;
use super::{FusedOps, kernels};
use crate::adamw::AdamWStep;
use burn::backend::Flex;
use burn::backend::flex::FlexTensor;
use burn::backend::ops::{ActivationOps, FloatTensorOps, ModuleOps};
use burn::backend::tensor::FloatTensor;
use burn::tensor::{DType, FloatDType, TensorData};

/// `x` laid out row-major from offset 0, copied only when it is a strided view.
fn row_major(x: FlexTensor) -> FlexTensor {
    if x.as_slice::<f32>().is_some() {
        x
    } else {
        x.to_contiguous()
    }
}

/// An `f32` matrix laid out as the transpose of a row-major one (strides `[1, rows]`, as
/// `transpose()` leaves a tied embedding), as a strided view of its storage: read in place
/// rather than copied.
fn transposed_matrix(x: &FlexTensor) -> Option<Strided<'_>> {
    let layout = x.layout();
    let shape = layout.shape();
    if x.dtype() != DType::F32 || shape.len() != 2 || layout.strides() != [1, shape[0] as isize] {
        return None;
    }
    let data = x.storage::<f32>().get(layout.start_offset()..)?;
    Some(Strided::transposed(data, shape[0]))
}

/// The `f32` elements of a [`row_major`] tensor (empty for another dtype, which the callers
/// rule out first).
fn values(x: &FlexTensor) -> &[f32] {
    x.as_slice::<f32>().unwrap_or(&[])
}

/// The elements of a [`row_major`] `f32` tensor that no other tensor shares, to be written in
/// place (`None` when shared: an autodiff node or the caller still holds it).
fn owned_values(x: &mut FlexTensor) -> Option<&mut [f32]> {
    let (start, end) = x.layout().contiguous_offsets()?;
    x.try_storage_mut::<f32>()?.get_mut(start..end)
}

/// `x` row-major and held by nothing else: itself when it already is, else a copy.
fn owned(x: FlexTensor) -> FlexTensor {
    let mut x = row_major(x);
    if owned_values(&mut x).is_some() {
        return x;
    }
    like(&x, values(&x).to_vec())
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

/// The sizes of a dense layer from a `[rows, features]` matrix and the weight `[d_in, d_out]`.
fn dense_sizes(rows_of: &FlexTensor, weight: &FlexTensor) -> Dense {
    let (rows, weight) = (rows_of.layout().shape(), weight.layout().shape());
    Dense {
        rows: rows.first().copied().unwrap_or(0),
        d_in: weight.first().copied().unwrap_or(0),
        d_out: weight.get(1).copied().unwrap_or(0),
    }
}

/// A row-major `f32` tensor of `shape`.
fn matrix(values: Vec<f32>, shape: [usize; 2]) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, shape))
}

/// The sizes of an attention over `q [B, L_q, heads * d]` and `k [B, L_k, heads * d]`.
fn attention_sizes(q: &FlexTensor, k: &FlexTensor, heads: usize) -> Heads {
    let (q, k) = (q.layout().shape(), k.layout().shape());
    let dim = |shape: &[usize], i: usize| shape.get(i).copied().unwrap_or(0);
    Heads {
        batch: dim(q, 0),
        heads,
        lq: dim(q, 1),
        lk: dim(k, 1),
        d: dim(q, 2).checked_div(heads).unwrap_or(0),
    }
}

/// The dropout multipliers of an attention, `None` for an empty tensor (no dropout).
fn dropout_multipliers(keep: &FlexTensor) -> Option<&[f32]> {
    Some(values(keep)).filter(|keep| !keep.is_empty())
}

/// Attention on `f32` tensors of non-zero sizes (the public function sends nothing else): the
/// context, and the probabilities when `keep_probs`.
fn attention(
    [q, k, v]: [FlexTensor; 3],
    key_bias: FlexTensor,
    keep: FlexTensor,
    heads: usize,
    causal: bool,
    keep_probs: bool,
) -> (FlexTensor, FlexTensor) {
    let (q, k, v) = (row_major(q), row_major(k), row_major(v));
    let (key_bias, keep) = (row_major(key_bias), row_major(keep));
    let sizes = attention_sizes(&q, &k, heads);
    let masks = Masks {
        key_bias: values(&key_bias),
        causal,
        keep: dropout_multipliers(&keep),
    };
    let (context, probs) = sizes.forward(values(&q), values(&k), values(&v), masks, keep_probs);
    let context = like(&q, context);
    let probs_shape = [sizes.batch, heads, sizes.lq, sizes.lk];
    let probs_shape = if keep_probs { probs_shape } else { [0; 4] };
    (
        context,
        FlexTensor::from_data(TensorData::new(probs, probs_shape)),
    )
}

impl FusedOps for Flex {
    fn fused_gelu(x: FloatTensor<Self>, tanh: bool) -> FloatTensor<Self> {
        if !is_f32(&[&x]) {
            if !tanh {
                return Flex::gelu(x);
            }
            // burn has no tanh-GELU primitive: through f32 and back.
            let dtype = x.dtype();
            let y = Self::fused_gelu(Flex::float_cast(x, FloatDType::F32), true);
            return Flex::float_cast(y, dtype.into());
        }
        let mut x = row_major(x);
        if let Some(values) = owned_values(&mut x) {
            kernels::gelu_in_place(values, tanh);
            return x;
        }
        like(&x, kernels::gelu(values(&x), tanh))
    }

    fn fused_gelu_backward(
        x: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        tanh: bool,
    ) -> FloatTensor<Self> {
        if !is_f32(&[&x, &grad]) {
            if !tanh {
                return Flex::gelu_backward(x, grad);
            }
            let dtype = grad.dtype();
            let dx = Self::fused_gelu_backward(
                Flex::float_cast(x, FloatDType::F32),
                Flex::float_cast(grad, FloatDType::F32),
                true,
            );
            return Flex::float_cast(dx, dtype.into());
        }
        let (x, grad) = (row_major(x), row_major(grad));
        like(&x, kernels::gelu_backward(values(&x), values(&grad), tanh))
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
        let (mut x, gamma, beta) = (row_major(x), row_major(gamma), row_major(beta));
        if let Some(values) = owned_values(&mut x) {
            kernels::layer_norm_in_place(
                values,
                self::values(&gamma),
                self::values(&beta),
                epsilon as f32,
            );
            return x;
        }
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

    fn fused_linear(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        if !is_f32(&[&x, &weight, &bias]) {
            return Flex::linear(x, weight, Some(bias));
        }
        let (x, bias) = (row_major(x), row_major(bias));
        let dense = dense_sizes(&x, &weight);
        let y = match transposed_matrix(&weight) {
            Some(weight) => dense.forward_strided(values(&x), weight, values(&bias)),
            None => {
                let weight = row_major(weight);
                dense.forward(values(&x), values(&weight), values(&bias))
            }
        };
        matrix(y, [dense.rows, dense.d_out])
    }

    fn fused_linear_backward_input(
        weight: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        // Only reached from the autodiff node of an `f32` `fused_linear`.
        let (weight, grad) = (row_major(weight), row_major(grad));
        let dense = dense_sizes(&grad, &weight);
        let dx = dense.backward_input(values(&weight), values(&grad));
        matrix(dx, [dense.rows, dense.d_in])
    }

    fn fused_linear_backward_params(
        x: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>) {
        let (x, grad) = (row_major(x), row_major(grad));
        let dense = Dense {
            rows: x.layout().shape().first().copied().unwrap_or(0),
            d_in: last_dim(&x),
            d_out: last_dim(&grad),
        };
        let (dweight, dbias) = dense.backward_params(values(&x), values(&grad));
        let dbias = FlexTensor::from_data(TensorData::new(dbias, [dense.d_out]));
        (matrix(dweight, [dense.d_in, dense.d_out]), dbias)
    }

    fn fused_adamw(
        param: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        moment_1: FloatTensor<Self>,
        moment_2: FloatTensor<Self>,
        step: AdamWStep,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        // Only reached with `f32` tensors of one shape (checked by `adamw_step`).
        let (mut param, mut moment_1, mut moment_2) =
            (owned(param), owned(moment_1), owned(moment_2));
        let grad = row_major(grad);
        if let (Some(p), Some(m), Some(v)) = (
            owned_values(&mut param),
            owned_values(&mut moment_1),
            owned_values(&mut moment_2),
        ) {
            kernels::adamw(p, values(&grad), m, v, step);
        }
        (param, moment_1, moment_2)
    }

    fn fused_attention(
        q: FloatTensor<Self>,
        k: FloatTensor<Self>,
        v: FloatTensor<Self>,
        key_bias: FloatTensor<Self>,
        keep: FloatTensor<Self>,
        heads: usize,
        causal: bool,
    ) -> FloatTensor<Self> {
        attention([q, k, v], key_bias, keep, heads, causal, false).0
    }

    fn fused_attention_with_probs(
        q: FloatTensor<Self>,
        k: FloatTensor<Self>,
        v: FloatTensor<Self>,
        key_bias: FloatTensor<Self>,
        keep: FloatTensor<Self>,
        heads: usize,
        causal: bool,
    ) -> (FloatTensor<Self>, FloatTensor<Self>) {
        attention([q, k, v], key_bias, keep, heads, causal, true)
    }

    fn fused_attention_backward(
        q: FloatTensor<Self>,
        k: FloatTensor<Self>,
        v: FloatTensor<Self>,
        probs: FloatTensor<Self>,
        keep: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        heads: usize,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        let (q, k, v) = (row_major(q), row_major(k), row_major(v));
        let (probs, keep, grad) = (row_major(probs), row_major(keep), row_major(grad));
        let sizes = attention_sizes(&q, &k, heads);
        let (dq, dk, dv) = sizes.backward(
            values(&q),
            values(&k),
            values(&v),
            values(&probs),
            dropout_multipliers(&keep),
            values(&grad),
        );
        (like(&q, dq), like(&k, dk), like(&v, dv))
    }
}
