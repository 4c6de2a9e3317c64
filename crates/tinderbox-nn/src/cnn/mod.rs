//! Convolutional models.

mod image_model;
mod mnist_cnn;

pub use image_model::ImageModel;
pub use mnist_cnn::{MnistCnn, MnistCnnConfig};
