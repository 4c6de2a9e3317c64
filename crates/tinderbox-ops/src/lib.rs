//! Backend-generic tensor operations for tinderbox, thin and numerically careful, each tested
//! against a naive version:
//!
//! - [`global_grad_norm`], [`clip_grad_norm`], [`scale_grads`]: whole-model gradient norms and
//!   clipping (burn clips each tensor on its own);
//! - [`weight_penalty`]: Keras-style L1/L2 penalties on weight matrices and kernels;
//! - [`masked_mean`], [`masked_max`], [`last_state`]: pooling over the positions that are not
//!   padding;
//! - [`scaled_dot_product_attention`], [`attention_probs`]: attention with padding and causal
//!   masks; [`multi_head_attention`]: the same over heads side by side, with dropout, one fused
//!   operation on burn's CPU backend;
//! - [`gelu`], [`gelu_tanh`], [`softmax`], [`layer_norm`]: single fused passes forward and backward on burn's
//!   CPU backend (threaded and vectorised; burn composes softmax and layer norm from a dozen
//!   operations under autodiff), burn's operations elsewhere;
//! - [`linear`]: a dense layer over `[..., d_in]` as one matrix product (burn multiplies each
//!   sequence on its own, twice as slow forward and backward on its CPU backend);
//! - [`adamw_step`]: one AdamW update as a single pass that writes in place on burn's CPU
//!   backend (burn's `AdamW` makes a dozen passes), the same bits as burn's;
//! - [`dropout`]: inverted dropout with a mask drawn in parallel on CPU backends (burn draws
//!   it element by element on one thread);
//! - [`cross_entropy`]: cross-entropy with an ignore index ([`IGNORE_INDEX`], -100) and label
//!   smoothing;
//! - [`conv2d_max_pool2`]: a valid convolution and 2x2 max-pooling as one gather and one
//!   matrix product, 2.7x faster than the two layers on burn's CPU backend.
//!
//! ```
//! use burn::prelude::*;
//! use burn::nn::LinearConfig;
//! use burn::optim::GradientsParams;
//! use tinderbox_ops::clip_grad_norm;
//!
//! let device = Device::default().autodiff();
//! let layer = LinearConfig::new(4, 4).init(&device);
//! let loss = layer.forward(Tensor::<2>::ones([8, 4], &device)).square().sum();
//! let grads = GradientsParams::from_grads(loss.backward(), &layer);
//! let (grads, norm_before) = clip_grad_norm(&layer, grads, 1.0);
//! ```

#![warn(missing_docs)]
// Library code reports bad input as errors; tests may unwrap.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod adamw;
mod attention;
pub mod cached_attention;
mod conv_pool;
mod distillation;
mod dropout;
mod fused;
mod grad_norm;
mod linear;
mod loss;
mod penalty;
mod pooling;
pub mod quant;

pub use adamw::{AdamWStep, adamw_step};
pub use attention::{
    attention_probs, causal_mask, multi_head_attention, scaled_dot_product_attention,
};
pub use conv_pool::conv2d_max_pool2;
pub use distillation::distillation_loss;
pub use dropout::dropout;
pub use fused::{FusedOps, gelu, gelu_tanh, layer_norm, softmax};
pub use grad_norm::{clip_grad_norm, global_grad_norm, scale_grads};
pub use linear::{linear, linear_with_weights};
pub use loss::{IGNORE_INDEX, cross_entropy};
pub use penalty::weight_penalty;
pub use pooling::{last_positions, last_state, masked_max, masked_mean};

/// Whether `device` computes in host memory (burn's CPU backends, with or without autodiff),
/// where data built in a `Vec` or read back costs a copy at most, never a transfer.
pub fn on_host(device: &burn::prelude::Device) -> bool {
    let name = format!("{device:?}");
    name.contains("Flex") || name.contains("NdArray")
}
