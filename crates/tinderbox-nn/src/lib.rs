//! Neural-network layers and models for tinderbox, built from burn's modules: each a
//! `#[derive(Config)]` recipe with `init(&device)` and a `#[derive(Module)]` struct.
//!
//! - [`cnn`]: the seed program's MNIST CNN, initialised as Keras does;
//! - [`rnn`]: an LSTM with Keras' input and recurrent dropout;
//! - [`text`]: text encoders behind the [`SequenceEncoder`] trait (the seed's LSTM encoder);
//! - [`transformer`]: multi-head attention, BERT's embeddings and encoder layers (post- and
//!   pre-LayerNorm), and [`BertModel`](transformer::BertModel) configured by a Hugging Face
//!   `config.json`;
//! - [`decoder`]: decoder-only language models (Llama, SmolLM) with a key-value cache, behind
//!   [`CausalLm`](decoder::CausalLm);
//! - [`huggingface`]: Hugging Face checkpoints (`config.json` + `model.safetensors`) in and out;
//! - [`gguf`]: llama.cpp's GGUF files (v2, v3): metadata, tensor table, memory-mapped tensors
//!   dequantized bit for bit as llama.cpp does;
//! - [`dropout`]: burn's `Dropout` with a mask drawn in parallel on the CPU;
//! - [`init`]: Keras' default initialisers (Glorot uniform, zero bias);
//! - [`quantized`]: int8 and GGUF-block dense layers for inference;
//! - [`pruning`]: gradual magnitude pruning while training, and BERT's heads and feed-forward
//!   neurons removed by importance.
//!
//! - [`sentence_embeddings`]: a tokenizer and a BERT as sentence-transformers runs them.
//!
//! Models name no backend; the device you pass decides where they run (the `flex` feature adds
//! tinderbox-ops' fused CPU kernels).
//!
//! Sentence embeddings from a Hugging Face folder such as all-MiniLM-L6-v2's (here a tiny model
//! of the same layout that the doc test can load; its values match `transformers` within 1e-5):
//!
//! ```
//! use burn::prelude::*;
//! use tinderbox_nn::sentence_embeddings::{SentenceEncoder, cosine};
//!
//! let folder = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/tiny-sentence-bert");
//! let encoder = SentenceEncoder::from_dir(folder.as_ref(), &Device::default())?;
//! let out = encoder.embed(&["A man is eating food.", "A man is eating a piece of bread."])?;
//! let norm: f32 = out.embeddings[0].iter().map(|x| x * x).sum::<f32>().sqrt();
//! assert!((norm - 1.0).abs() < 1e-5);
//! println!("cosine {:.4}", cosine(&out.embeddings[0], &out.embeddings[1]));
//! # Ok::<(), tinderbox_nn::ModelError>(())
//! ```
//!
//! The same by hand, with [`BatchEncoding::to_tensors`](tinderbox_tokenize::BatchEncoding):
//!
//! ```
//! use burn::prelude::*;
//! use tinderbox_nn::huggingface::load_bert;
//! use tinderbox_tokenize::{EncodeOptions, TextTokenizer, Tokenizer};
//!
//! let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tiny-sentence-bert");
//! let device = Device::default();
//! let model = load_bert(&folder, &device)?;
//! let tokenizer = Tokenizer::from_file(folder.join("tokenizer.json"))?;
//! let batch = tokenizer.encode_batch(&["A man is eating food."], &EncodeOptions::dynamic(16))?;
//! let t = batch.to_tensors(&device)?;
//! let hidden = model.forward(t.ids, t.mask_pad.clone(), Some(t.type_ids)).last_hidden_state;
//! let pooled = tinderbox_ops::masked_mean(hidden, t.mask_pad); // [1, 32]
//! assert_eq!(pooled.dims(), [1, 32]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]
// Library code reports bad input as errors; tests may unwrap.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod cnn;
pub mod decoder;
pub mod dropout;
mod error;
pub mod gguf;
pub mod huggingface;
pub mod init;
pub mod pruning;
pub mod quantized;
pub mod rnn;
pub mod sentence_embeddings;
mod sequence;
pub mod text;
pub mod transformer;

pub use error::{KeyMismatch, ModelError, Result};
pub use sequence::{Encoded, SequenceEncoder};
