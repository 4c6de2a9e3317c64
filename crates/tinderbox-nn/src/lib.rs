//! Neural-network layers and models for tinderbox, built from burn's modules: each a
//! `#[derive(Config)]` recipe with `init(&device)` and a `#[derive(Module)]` struct.
//!
//! - [`cnn`]: the seed program's MNIST CNN, initialised as Keras does;
//! - [`rnn`]: an LSTM with Keras' input and recurrent dropout;
//! - [`text`]: text encoders behind the [`SequenceEncoder`] trait (the seed's LSTM encoder);
//! - [`transformer`]: multi-head attention, BERT's embeddings and encoder layers (post- and
//!   pre-LayerNorm), and [`BertModel`](transformer::BertModel) configured by a Hugging Face
//!   `config.json`;
//! - [`pretrained`]: Hugging Face checkpoints (`config.json` + `model.safetensors`) in and out;
//! - [`dropout`]: burn's `Dropout` with a mask drawn in parallel on the CPU;
//! - [`init`]: Keras' default initialisers (Glorot uniform, zero bias).
//!
//! Models name no backend; the device you pass decides where they run.
//!
//! ```
//! use burn::prelude::*;
//! use tinderbox_nn::cnn::MnistCnnConfig;
//!
//! let device = Device::default();
//! let model = MnistCnnConfig::new().with_num_classes(3).init(&device);
//! let probs = burn::tensor::activation::softmax(model.forward(Tensor::zeros([1, 1, 28, 28], &device)), 1);
//! let total: f32 = probs.sum().into_scalar();
//! assert!((total - 1.0).abs() < 1e-6);
//! ```

// Library code reports bad input as errors; tests may unwrap.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod cnn;
pub mod dropout;
mod error;
pub mod init;
pub mod pretrained;
pub mod rnn;
mod sequence;
pub mod text;
pub mod transformer;

pub use error::{KeyMismatch, ModelError, Result};
pub use sequence::{Encoded, SequenceEncoder};
