//! The trait that image classifiers implement, so that task heads and training loops can take
//! any of them.

use burn::module::{Module, ModuleDisplay};
use burn::prelude::*;

/// A model from images `[B, C, H, W]` to class logits `[B, classes]`.
pub trait ImageModel: Module + ModuleDisplay {
    /// Computes the logits (softmax is left to the loss or the caller).
    fn forward_images(&self, images: Tensor<4>) -> Tensor<2>;
}

impl ImageModel for super::MnistCnn {
    fn forward_images(&self, images: Tensor<4>) -> Tensor<2> {
        self.forward(images)
    }
}
