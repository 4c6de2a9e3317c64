//! Task heads for tinderbox: they turn a model's output into a loss and predictions, and make
//! any model trainable with the same loop (`tinderbox-train`'s `TrainTask`) and with burn's
//! `Learner` (`TrainStep`/`InferenceStep`).
//!
//! - [`ImageClassifier`]: any [`ImageModel`](tinderbox_nn::cnn::ImageModel) with softmax
//!   cross-entropy on [`ImageBatch`](tinderbox_data::vision::ImageBatch)es;
//! - [`Head`], the trait of task heads, and [`ClassificationHead`] (binary with a sigmoid unit or
//!   multi-class with softmax, optional class weights, last, first (`[CLS]`), BERT's pooler, mean or max pooling);
//! - [`TokenClassificationHead`]: a tag per position, padding and `-100` targets ignored;
//! - [`BertForMaskedLm`]: a BERT encoder with [`MlmHead`], loading and saving Hugging Face's
//!   `BertForMaskedLM` checkpoints;
//! - [`MaskedLm`], the trait of masked-language models (trainable on
//!   [`MlmBatch`](tinderbox_data::mlm::MlmBatch)es), and [`LstmForMaskedLm`], the seeds' toy;
//! - [`MlmHead`]: `BertForMaskedLM`'s prediction head, tied to the word embeddings, projecting
//!   only the masked positions while training;
//! - [`SequenceClassifier`]: any [`SequenceEncoder`](tinderbox_nn::SequenceEncoder) with any
//!   [`Head`] on [`TextBatch`](tinderbox_data::text::TextBatch)es.
//!
//! ```
//! use burn::prelude::*;
//! use tinderbox_data::vision::ImageBatch;
//! use tinderbox_heads::ImageClassifier;
//! use tinderbox_nn::cnn::MnistCnnConfig;
//! use tinderbox_train::TrainTask;
//!
//! let device = Device::default();
//! let classifier = ImageClassifier::new(MnistCnnConfig::new().init(&device));
//! let batch = ImageBatch {
//!     images: Tensor::zeros([2, 1, 28, 28], &device),
//!     targets: Tensor::from_ints([3, 7], &device),
//! };
//! let out = classifier.forward_classification(batch);
//! // Zero images and zero biases give uniform logits: the loss is ln(10).
//! let loss: f32 = out.loss.into_scalar();
//! assert!((loss - 10f32.ln()).abs() < 1e-5);
//! ```

// Library code reports bad input as errors; tests may unwrap.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod bert_for_masked_lm;
mod classification_head;
mod head;
mod image_classifier;
mod lstm_for_masked_lm;
mod masked_lm;
mod mlm_head;
mod sequence_classifier;
mod token_classification_head;

pub use bert_for_masked_lm::{BertForMaskedLm, BertOnlyMlmHead};
pub use classification_head::{ClassificationHead, ClassificationHeadConfig, Pooling};
pub use head::Head;
pub use image_classifier::ImageClassifier;
pub use lstm_for_masked_lm::{LstmForMaskedLm, LstmForMaskedLmConfig};
pub use masked_lm::{MaskedLm, masked_lm_output};
pub use mlm_head::{MlmHead, MlmHeadConfig};
pub use sequence_classifier::SequenceClassifier;
pub use token_classification_head::{TokenClassificationHead, TokenClassificationHeadConfig};
