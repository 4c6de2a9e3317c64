//! Which words and pixels a prediction rests on.
//!
//! - [`gradients`]: integrated gradients (with Captum's quadrature rules), gradient x input and
//!   saliency of any differentiable score, for inputs of any rank;
//! - [`perturbation`]: occlusion, LIME and KernelSHAP over a plain function from feature masks to
//!   scores, so that they explain any model, batching the perturbed inputs;
//! - [`text`] and [`image`]: the same methods on a [`SequenceClassifier`](tinderbox_heads::SequenceClassifier)
//!   (tokens, through the encoder's word embeddings) and on an
//!   [`ImageClassifier`](tinderbox_heads::ImageClassifier) (pixels and patches);
//! - [`deletion`]: deletion curves and AOPC, to check that an explanation is faithful;
//! - [`render`]: coloured terminal lines, a self-contained HTML page, PNG heatmaps.
//!
//! ```
//! use tinderbox_explain::perturbation::kernel_shap;
//! use tinderbox_explain::Result;
//!
//! // A score that adds 0.5 for feature 0 and 0.25 for feature 1, and 0.2 when both are present.
//! let mut score = |masks: &[Vec<bool>]| -> Result<Vec<f32>> {
//!     Ok(masks
//!         .iter()
//!         .map(|m| 0.5 * m[0] as u8 as f32 + 0.25 * m[1] as u8 as f32 + 0.2 * (m[0] && m[1]) as u8 as f32)
//!         .collect())
//! };
//! let shap = kernel_shap(2, 100, 0, &mut score, 32)?;
//! // Shapley values split the interaction evenly.
//! assert!((shap.values[0] - 0.6).abs() < 1e-6 && (shap.values[1] - 0.35).abs() < 1e-6);
//! # Ok::<(), tinderbox_explain::ExplainError>(())
//! ```

#![warn(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod attribution;
pub mod deletion;
mod error;
pub mod gradients;
pub mod image;
mod method;
pub mod perturbation;
mod quadrature;
pub mod render;
pub mod rollout;
pub mod text;

pub use attribution::Attribution;
pub use error::{ExplainError, Result};
pub use method::{ExplainConfig, Method};
pub use quadrature::Rule;
