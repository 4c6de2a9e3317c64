//! GELU, softmax, layer normalisation and the dense layer as single fused operations with their
//! own backward passes, multi-threaded and vectorised on burn's CPU backend (`flex`).
//!
//! Why: on `flex`, burn evaluates GELU with a scalar libm `erf` on one thread, and under autodiff
//! it builds softmax and layer normalisation from ten or more elementwise operations, each a pass
//! over memory and a node in the graph. In a BERT training step these were about a third of the
//! time. Here each is one pass forward and one backward, written as a burn backend extension
//! ([`FusedOps`]) so that the autodiff graph sees one node. The dense layer calls the same `gemm`
//! as burn but skips the zero-filled, copied output buffers and the separate bias pass. Without
//! autodiff, GELU and layer norm write over an input that no other tensor holds, and the AdamW
//! update ([`crate::adamw_step`]) writes over the parameter and its moments.
//!
//! The functions below take the fused path for `f32` tensors on a `flex` device, with or without
//! autodiff, and burn's own operations everywhere else (GPU backends fuse these themselves), so
//! model code calls them unconditionally.

mod autodiff;
#[cfg(feature = "flex")]
mod dense;
mod flex;
#[cfg(feature = "flex")]
mod kernels;
#[cfg(feature = "flex")]
mod multi_head_attention;
#[cfg(feature = "flex")]
mod product;

use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, Dispatch, DispatchDevice, backend_extension};
use burn::prelude::*;
use burn::tensor::DType;

use crate::adamw::AdamWStep;

/// The fused operations as a burn backend extension: implemented for `flex` and for autodiff over
/// it (with a hand-written backward pass). Call the tensor-level functions of this module instead.
#[backend_extension(Flex: cfg(feature = "flex"), Autodiff)]
pub trait FusedOps: Backend {
    /// GELU of every element: the tanh approximation when `tanh`, else the erf form.
    // Without the `flex` feature no backend reads `tanh` in the generated dispatch.
    #[allow(unused_variables)]
    fn fused_gelu(x: FloatTensor<Self>, tanh: bool) -> FloatTensor<Self>;
    /// The input gradient of [`FusedOps::fused_gelu`].
    #[allow(unused_variables)]
    fn fused_gelu_backward(
        x: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        tanh: bool,
    ) -> FloatTensor<Self>;
    /// Softmax over the last dimension.
    fn fused_softmax(x: FloatTensor<Self>) -> FloatTensor<Self>;
    /// The input gradient of [`FusedOps::fused_softmax`], from its output `y`.
    fn fused_softmax_backward(y: FloatTensor<Self>, grad: FloatTensor<Self>) -> FloatTensor<Self>;
    /// Layer normalisation over the last dimension, scaled by `gamma` and shifted by `beta`.
    // Without the `flex` feature no backend reads `epsilon` in the generated dispatch.
    #[allow(unused_variables)]
    fn fused_layer_norm(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
    ) -> FloatTensor<Self>;
    /// The gradients of [`FusedOps::fused_layer_norm`] for `x`, `gamma` and `beta`.
    #[allow(unused_variables)]
    fn fused_layer_norm_backward(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        epsilon: f64,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>);
    /// A dense layer over rows: `x [rows, d_in] · weight [d_in, d_out] + bias [d_out]`.
    fn fused_linear(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
    ) -> FloatTensor<Self>;
    /// The input gradient of [`FusedOps::fused_linear`], `grad · weightᵀ`.
    fn fused_linear_backward_input(
        weight: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> FloatTensor<Self>;
    /// The weight and bias gradients of [`FusedOps::fused_linear`]: `xᵀ · grad` and the column
    /// sums of `grad`.
    fn fused_linear_backward_params(
        x: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>);
    /// Multi-head attention with the heads side by side: queries `[B, L_q, heads * d]`, keys and
    /// values `[B, L_k, heads * d]`, an additive `key_bias [B, L_k]`, dropout multipliers `keep
    /// [B, heads, L_q, L_k]` (empty for none). Returns the context `[B, L_q, heads * d]`.
    #[allow(clippy::too_many_arguments, unused_variables)]
    fn fused_attention(
        q: FloatTensor<Self>,
        k: FloatTensor<Self>,
        v: FloatTensor<Self>,
        key_bias: FloatTensor<Self>,
        keep: FloatTensor<Self>,
        heads: usize,
        causal: bool,
    ) -> FloatTensor<Self>;
    /// [`FusedOps::fused_attention`] that also returns the probabilities before dropout `[B,
    /// heads, L_q, L_k]`, for [`FusedOps::fused_attention_backward`].
    #[allow(clippy::too_many_arguments, unused_variables)]
    fn fused_attention_with_probs(
        q: FloatTensor<Self>,
        k: FloatTensor<Self>,
        v: FloatTensor<Self>,
        key_bias: FloatTensor<Self>,
        keep: FloatTensor<Self>,
        heads: usize,
        causal: bool,
    ) -> (FloatTensor<Self>, FloatTensor<Self>);
    /// One AdamW update ([`adamw_step`](crate::adamw_step)) of a parameter from its gradient
    /// and its two moments, all `f32` and of one shape: the new parameter and moments, written
    /// over the old ones where no other tensor holds them.
    #[allow(unused_variables)]
    fn fused_adamw(
        param: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        moment_1: FloatTensor<Self>,
        moment_2: FloatTensor<Self>,
        step: AdamWStep,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>);
    /// The gradients of [`FusedOps::fused_attention`] for `q`, `k` and `v`.
    #[allow(clippy::too_many_arguments, unused_variables)]
    fn fused_attention_backward(
        q: FloatTensor<Self>,
        k: FloatTensor<Self>,
        v: FloatTensor<Self>,
        probs: FloatTensor<Self>,
        keep: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        heads: usize,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>);
}

/// Whether `x` can take the fused path: `f32` on a `flex` device, with or without autodiff.
pub(crate) fn fusable<const D: usize>(x: &Tensor<D>) -> bool {
    x.dtype() == DType::F32 && on_flex(x.device().as_dispatch())
}

#[cfg(feature = "flex")]
fn on_flex(device: &DispatchDevice) -> bool {
    match device {
        DispatchDevice::Flex(_) => true,
        DispatchDevice::Autodiff(inner) => on_flex(&inner.clone().inner()),
        #[allow(unreachable_patterns)]
        _ => false,
    }
}

#[cfg(not(feature = "flex"))]
fn on_flex(_: &DispatchDevice) -> bool {
    false
}

/// GELU in its erf form, `x Φ(x)` (BERT's `"gelu"`), equal to burn's [`activation::gelu`] to
/// about 1e-6.
///
/// [`activation::gelu`]: burn::tensor::activation::gelu
///
/// ```
/// use burn::prelude::*;
/// use tinderbox_ops::gelu;
///
/// let x = Tensor::<1>::from_floats([-1.0, 0.0, 1.0], &Device::default());
/// let y: Vec<f32> = gelu(x).into_data().try_to_vec().unwrap();
/// assert!((y[2] - 0.841_344_7).abs() < 1e-6 && y[1] == 0.0);
/// ```
pub fn gelu<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    if !fusable(&x) {
        // Written out rather than burn's `activation::gelu`: burn 0.22 differentiates its erf GELU
        // with the tanh approximation's derivative (off by up to 1e-3), autodiff through `erf`
        // is exact, as the fused kernel and PyTorch are.
        let cdf = x
            .clone()
            .mul_scalar(std::f64::consts::FRAC_1_SQRT_2)
            .erf()
            .add_scalar(1.0)
            .mul_scalar(0.5);
        return x * cdf;
    }
    Tensor::from_dispatch(<Dispatch as FusedOps>::fused_gelu(x.into_dispatch(), false))
}

/// GELU's tanh approximation, `0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))` (GPT-2's
/// `"gelu_new"`, PyTorch's `gelu(approximate="tanh")`), equal to burn's
/// [`activation::gelu_approximate`] to about 1e-6, forward and backward. One fused pass each way
/// on the CPU backend; burn's element-wise operations elsewhere.
///
/// [`activation::gelu_approximate`]: burn::tensor::activation::gelu_approximate
///
/// ```
/// use burn::prelude::*;
/// use tinderbox_ops::gelu_tanh;
///
/// let x = Tensor::<1>::from_floats([-1.0, 0.0, 1.0], &Device::default());
/// let y: Vec<f32> = gelu_tanh(x).into_data().try_to_vec().unwrap();
/// // torch.nn.functional.gelu(torch.tensor(1.0), approximate="tanh") = 0.8411920
/// assert!((y[2] - 0.841_192_0).abs() < 1e-6 && y[1] == 0.0);
/// ```
pub fn gelu_tanh<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    if !fusable(&x) {
        return burn::tensor::activation::gelu_approximate(x);
    }
    Tensor::from_dispatch(<Dispatch as FusedOps>::fused_gelu(x.into_dispatch(), true))
}

/// Softmax along `dim`; fused when `dim` is the last dimension.
///
/// ```
/// use burn::prelude::*;
/// use tinderbox_ops::softmax;
///
/// let x = Tensor::<2>::from_floats([[0.0, 0.0], [0.0, f32::MIN]], &Device::default());
/// let y: Vec<f32> = softmax(x, 1).into_data().try_to_vec().unwrap();
/// assert_eq!(y, vec![0.5, 0.5, 1.0, 0.0]);
/// ```
pub fn softmax<const D: usize>(x: Tensor<D>, dim: usize) -> Tensor<D> {
    if x.shape().num_elements() == 0 {
        // Nothing to normalise (burn's reduction panics on an empty dimension).
        return x;
    }
    if dim + 1 != D || !fusable(&x) {
        return burn::tensor::activation::softmax(x, dim);
    }
    Tensor::from_dispatch(<Dispatch as FusedOps>::fused_softmax(x.into_dispatch()))
}

/// Layer normalisation over the last dimension: `(x - mean) / sqrt(var + epsilon) * gamma + beta`
/// (the biased variance, as PyTorch and burn compute it).
///
/// ```
/// use burn::prelude::*;
/// use tinderbox_ops::layer_norm;
///
/// let device = Device::default();
/// let x = Tensor::<2>::from_floats([[1.0, 3.0]], &device);
/// let gamma = Tensor::<1>::from_floats([2.0, 2.0], &device);
/// let y: Vec<f32> = layer_norm(x, gamma, None, 0.0).into_data().try_to_vec().unwrap();
/// assert_eq!(y, vec![-2.0, 2.0]);
/// ```
pub fn layer_norm<const D: usize>(
    x: Tensor<D>,
    gamma: Tensor<1>,
    beta: Option<Tensor<1>>,
    epsilon: f64,
) -> Tensor<D> {
    // A width that disagrees with gamma goes to burn too, for burn's own shape error.
    let width = x.dims().last().copied().unwrap_or(0);
    if !fusable(&x) || gamma.dtype() != DType::F32 || gamma.dims() != [width] || width == 0 {
        return burn::tensor::module::layer_norm(x, gamma, beta, epsilon);
    }
    let beta = beta.unwrap_or_else(|| gamma.zeros_like());
    Tensor::from_dispatch(<Dispatch as FusedOps>::fused_layer_norm(
        x.into_dispatch(),
        gamma.into_dispatch(),
        beta.into_dispatch(),
        epsilon,
    ))
}

/// `x [rows, d_in] · weight [d_in, d_out] + bias` as one fused operation (with its own backward)
/// on `flex`; burn's [`linear`](burn::tensor::module::linear) elsewhere, and for operands whose
/// shapes disagree, so that the error is burn's.
pub(crate) fn dense(x: Tensor<2>, weight: Tensor<2>, bias: Option<Tensor<1>>) -> Tensor<2> {
    let [_, d_in] = x.dims();
    let [weight_in, d_out] = weight.dims();
    let bias_fits = bias
        .as_ref()
        .is_none_or(|b| b.dims() == [d_out] && b.dtype() == DType::F32);
    if !fusable(&x) || weight.dtype() != DType::F32 || weight_in != d_in || !bias_fits {
        return burn::tensor::module::linear(x, weight, bias);
    }
    let bias = bias.unwrap_or_else(|| Tensor::zeros([d_out], &weight.device()));
    Tensor::from_dispatch(<Dispatch as FusedOps>::fused_linear(
        x.into_dispatch(),
        weight.into_dispatch(),
        bias.into_dispatch(),
    ))
}

#[cfg(test)]
mod tests;
