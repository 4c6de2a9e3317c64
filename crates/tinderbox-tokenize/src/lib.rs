//! Tokenization for tinderbox: a small [`TextTokenizer`] trait that models and datasets depend
//! on, and [`Tokenizer`], which implements it over Hugging Face's `tokenizers` crate.
//!
//! - load any `tokenizer.json` ([`Tokenizer::from_file`]) and save it back;
//! - train WordPiece, byte-level BPE and word-level vocabularies from a corpus iterator, or fit
//!   Keras' word-level `Tokenizer(num_words, oov_token)` with Keras' ids ([`Tokenizer::fit_keras`]);
//! - batch encoding with padding to the longest or to a fixed length, on either side, with
//!   truncation on either side, special tokens, attention masks, type ids and byte offsets
//!   ([`EncodeOptions`], [`BatchEncoding`]);
//! - chat templates rendered as `transformers` renders them ([`ChatTemplate`]);
//! - a byte-level BPE built from a GGUF file's `tokenizer.ggml.*` metadata
//!   ([`Tokenizer::from_gguf_vocab`]);
//! - with the `burn` feature, a batch as burn tensors (`BatchEncoding::to_tensors`).
//!
//! ```
//! use tinderbox_tokenize::{EncodeOptions, KerasOptions, TextTokenizer, Tokenizer};
//!
//! let reviews = ["A gripping, beautiful film.", "Dull and far too long.", "Beautiful!"];
//! let tokenizer = Tokenizer::fit_keras(reviews.iter(), &KerasOptions::new(10_000)).unwrap();
//! // Keras' pad_sequences(maxlen=6): padded and truncated at the start.
//! let batch = tokenizer.encode_batch(&["a beautiful film"], &EncodeOptions::keras(6)).unwrap();
//! assert_eq!(batch.ids[0], vec![0, 0, 0, 3, 2, 5]);
//! assert_eq!(batch.attention_mask[0], vec![0, 0, 0, 1, 1, 1]);
//! ```

#![warn(missing_docs)]
// Library code reports bad input as errors; tests may unwrap.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod chat;
mod encoding;
mod error;
mod gguf_vocab;
mod keras;
mod special;
#[cfg(feature = "burn")]
mod tensors;
mod text_tokenizer;
mod tokenizer;
mod train;

pub use chat::{ChatMessage, ChatTemplate};
pub use encoding::{BatchEncoding, EncodeOptions, Padding, Side};
pub use error::{Result, TokenizeError};
pub use gguf_vocab::GgufVocab;
pub use keras::{KERAS_FILTERS, KerasOptions, keras_words};
pub use special::{SpecialToken, SpecialTokens};
#[cfg(feature = "burn")]
pub use tensors::TokenTensors;
pub use text_tokenizer::TextTokenizer;
pub use tokenizer::Tokenizer;
pub use train::TrainOptions;
