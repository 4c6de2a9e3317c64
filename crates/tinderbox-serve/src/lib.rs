//! An OpenAI-compatible HTTP server for tinderbox's models, on `tokio` and `axum`:
//!
//! - `POST /v1/embeddings` (OpenAI's shapes; the official clients work unchanged),
//!   `POST /v1/classify`, `POST /v1/completions`, `POST /v1/chat/completions` (streaming as
//!   server-sent events), `GET /health`, `GET /v1/models`, `GET /metrics` (Prometheus), and a
//!   page at `/` to try them.
//! - Embeddings and classification are batched dynamically up to a token budget
//!   ([`batching`]); generation is batched continuously: sequences join and leave the running
//!   batch between decoding steps ([`tinderbox_generate::ContinuousBatch`]).
//! - Bounded queues (503 with `Retry-After` when full), body, input and length limits
//!   ([`ServeConfig`]), errors as OpenAI's JSON error object, graceful shutdown.
//!
//! Models take part through [`TextModel`] (whole texts in, one vector per text out) and
//! [`ChatModel`] (any [`CausalLm`](tinderbox_nn::decoder::CausalLm) with its tokenizer).
//!
//! ```no_run
//! use tinderbox_serve::{ServeConfig, ServerBuilder, TextModel};
//!
//! struct Lengths;
//! impl TextModel for Lengths {
//!     fn count_tokens(&self, texts: &[&str]) -> Result<Vec<usize>, String> {
//!         Ok(texts.iter().map(|t| t.split_whitespace().count()).collect())
//!     }
//!     fn max_tokens(&self) -> usize { 512 }
//!     fn run(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, String> {
//!         Ok(texts.iter().map(|t| vec![t.len() as f32]).collect())
//!     }
//! }
//!
//! # fn main() -> Result<(), tinderbox_serve::ServeError> {
//! let server = ServerBuilder::new(ServeConfig::default())?
//!     .embeddings("lengths", Lengths)?
//!     .build();
//! tinderbox_serve::run(server, "127.0.0.1:8080", |at| println!("serving on http://{at}"))
//! # }
//! ```

#![warn(missing_docs)]
// Library code reports bad input as errors; tests may unwrap.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod api;
mod app;
pub mod batching;
mod config;
mod error;
pub mod generation;
pub mod metrics;

pub use app::{AppState, Server, ServerBuilder, run, shutdown_signal};
pub use batching::{BatchOutput, TextModel};
pub use config::ServeConfig;
pub use error::{ApiError, ServeError};
pub use generation::{ChatModel, GenEvent, Generator};
