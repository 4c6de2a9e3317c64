//! Task heads for tinderbox: they turn a model's output into a loss and predictions.
//!
//! - [`Head`], the trait of task heads, and [`ClassificationHead`] (binary with a sigmoid unit or
//!   multi-class with softmax, optional class weights, last, first (`[CLS]`), BERT's pooler,
//!   mean or max pooling);
//! - [`SequenceClassifier`]: any [`SequenceEncoder`](tinderbox_nn::SequenceEncoder) with any
//!   [`Head`]; [`ImageClassifier`]: any [`ImageModel`](tinderbox_nn::cnn::ImageModel) with
//!   softmax cross-entropy;
//! - [`TokenClassificationHead`]: a tag per position, padding and `-100` targets ignored;
//! - [`BertForMaskedLm`]: a BERT encoder with [`MlmHead`] (tied to the word embeddings,
//!   projecting only the masked positions while training), loading and saving Hugging Face's
//!   `BertForMaskedLM` checkpoints; [`MaskedLm`], the trait of masked-language models, and
//!   [`LstmForMaskedLm`], the seeds' toy;
//! - [`fill_mask`]: the `fill-mask` pipeline over any [`MaskedLm`];
//! - [`Gpt2ForCausalLm`]: GPT-2 scored on the next token at the positions a batch lists, for
//!   causal-LM pre-training.
//!
//! With the feature `train`, the models are `tinderbox-train` `TrainTask`s and burn
//! `TrainStep`/`InferenceStep`s on `tinderbox-data`'s batches; without it this crate needs only
//! `tinderbox-nn`, `tinderbox-ops` and `tinderbox-tokenize`.
//!
//! Fill-mask with a Hugging Face `BertForMaskedLM` folder (here a tiny random model that the
//! doc test can load; `transformers`' `fill-mask` pipeline gives the same candidates, see
//! `reference.json` beside it):
//!
//! ```
//! use burn::prelude::*;
//! use tinderbox_heads::{BertForMaskedLm, fill_mask};
//! use tinderbox_tokenize::Tokenizer;
//!
//! let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tiny-bert-mlm");
//! let model = BertForMaskedLm::load(&folder, &Device::default())?;
//! let tokenizer = Tokenizer::from_file(folder.join("tokenizer.json"))?;
//! let filled = fill_mask(&model, &tokenizer, "Paris is the [MASK] of France.", 3)?;
//! for candidate in &filled.candidates[0] {
//!     println!("{} {:.4}", candidate.token, candidate.probability);
//! }
//! # let reference: serde_json::Value =
//! #     serde_json::from_str(&std::fs::read_to_string(folder.join("reference.json"))?)?;
//! # for (ours, theirs) in filled.candidates[0].iter().zip(reference["top"].as_array().unwrap()) {
//! #     assert_eq!(ours.token, theirs["token"].as_str().unwrap());
//! #     assert!((ours.probability - theirs["probability"].as_f64().unwrap()).abs() < 1e-5);
//! # }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]
// Library code reports bad input as errors; tests may unwrap.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod bert_for_masked_lm;
mod classification_head;
mod error;
pub mod fill_mask;
mod gpt2_for_causal_lm;
mod head;
mod image_classifier;
mod lstm_for_masked_lm;
mod masked_lm;
mod mlm_head;
mod sequence_classifier;
mod token_classification_head;
#[cfg(feature = "train")]
mod train_task;

pub use bert_for_masked_lm::{BertForMaskedLm, BertOnlyMlmHead};
pub use classification_head::{ClassificationHead, ClassificationHeadConfig, Pooling};
pub use error::FillMaskError;
pub use fill_mask::{Candidate, FilledMask, fill_mask};
pub use gpt2_for_causal_lm::Gpt2ForCausalLm;
pub use head::Head;
pub use image_classifier::ImageClassifier;
pub use lstm_for_masked_lm::{LstmForMaskedLm, LstmForMaskedLmConfig};
pub use masked_lm::MaskedLm;
pub use mlm_head::{MlmHead, MlmHeadConfig};
pub use sequence_classifier::{Distillation, SequenceClassifier};
pub use token_classification_head::{TokenClassificationHead, TokenClassificationHeadConfig};
#[cfg(feature = "train")]
pub use train_task::{causal_lm_output, masked_lm_output};
