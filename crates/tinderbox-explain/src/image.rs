//! Explanations of image classifiers: any [`ImageClassifier`] through its pixels. Gradient
//! methods attribute to each pixel (summed over channels, against a black image); the
//! perturbation methods to square patches, blacked out when removed.

use burn::prelude::*;
use burn::tensor::activation::softmax;
use tinderbox_heads::ImageClassifier;
use tinderbox_nn::cnn::ImageModel;

use crate::attribution::Attribution;
use crate::error::{ExplainError, Result};
use crate::gradients::{gradient_attribution, tensor_values};
use crate::method::{ExplainConfig, Method};
use crate::perturbation::explain_masks;
use crate::text::model_device;

/// One image `[C, H, W]`, values as the model was trained on them.
#[derive(Debug, Clone, PartialEq)]
pub struct Image {
    /// Pixels in `[C, H, W]` order.
    pub pixels: Vec<f32>,
    /// `[C, H, W]`.
    pub shape: [usize; 3],
}

/// An image's explanation: one value per feature and one per pixel for drawing.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageExplanation {
    /// Per feature: per pixel for gradient methods, per patch (row-major) otherwise.
    pub attribution: Attribution,
    /// The side of a feature's square patch (1 for gradient methods).
    pub patch: usize,
    /// `[H, W]`: each pixel's feature's value.
    pub heat: Vec<f32>,
}

/// Attributes the probability of class `target` for `image`; perturbation methods use
/// `patch x patch` squares (the last row and column of patches may be smaller).
pub fn explain_image<M: ImageModel>(
    model: &ImageClassifier<M>,
    image: &Image,
    target: usize,
    config: &ExplainConfig,
    patch: usize,
) -> Result<ImageExplanation> {
    let [c, h, w] = image.shape;
    if image.pixels.len() != c * h * w || c * h * w == 0 {
        return Err(ExplainError::Image(format!(
            "{} pixels do not make a non-empty [C, H, W] = {:?} image",
            image.pixels.len(),
            image.shape
        )));
    }
    let device = model_device(model)?;
    let tensor = |pixels: Vec<f32>, n: usize| {
        Tensor::<4>::from_data(TensorData::new(pixels, [n, c, h, w]), &device)
    };
    let classes = model
        .model
        .forward_images(tensor(image.pixels.clone(), 1))
        .dims()[1];
    if target >= classes {
        return Err(ExplainError::NoSuchClass { target, classes });
    }
    if config.method.uses_gradients() {
        if !device.is_autodiff() {
            return Err(ExplainError::NoGradient);
        }
        let score = |x: Tensor<4>| {
            softmax(model.model.forward_images(x), 1)
                .narrow(1, target, 1)
                .squeeze_dim::<1>(1)
        };
        let found = gradient_attribution(
            score,
            tensor(image.pixels.clone(), 1),
            tensor(vec![0.0; c * h * w], 1),
            config,
        )?;
        let heat: Vec<f32> = (0..h * w)
            .map(|p| (0..c).map(|ch| found.values[ch * h * w + p]).sum())
            .collect();
        return Ok(ImageExplanation {
            attribution: Attribution {
                method: config.method,
                target,
                values: heat.clone(),
                score: found.score,
                baseline_score: found.baseline_score,
            },
            patch: 1,
            heat,
        });
    }
    if config.method == Method::Rollout {
        return Err(ExplainError::Unsupported {
            method: "rollout",
            needs: "a transformer's attention; the image models are convolutional",
        });
    }
    if patch == 0 {
        return Err(ExplainError::Image(
            "the patch side must be at least 1".into(),
        ));
    }
    let (rows, cols) = (h.div_ceil(patch), w.div_ceil(patch));
    let feature_of = |p: usize| (p / w / patch) * cols + (p % w) / patch;
    let d = rows * cols;
    let mut scorer = |masks: &[Vec<bool>]| {
        let mut pixels = Vec::with_capacity(masks.len() * c * h * w);
        for mask in masks {
            for ch in 0..c {
                for p in 0..h * w {
                    let v = image.pixels[ch * h * w + p];
                    pixels.push(if mask[feature_of(p)] { v } else { 0.0 });
                }
            }
        }
        let probs = softmax(model.model.forward_images(tensor(pixels, masks.len())), 1);
        tensor_values(probs.narrow(1, target, 1).squeeze_dim::<1>(1))
    };
    let found = explain_masks(d, config, &mut scorer)?;
    let heat = (0..h * w).map(|p| found.values[feature_of(p)]).collect();
    Ok(ImageExplanation {
        attribution: Attribution {
            method: config.method,
            target,
            values: found.values,
            score: found.score,
            baseline_score: found.baseline_score,
        },
        patch,
        heat,
    })
}
