//! tinderbox: reusable machine-learning crates on [burn](https://burn.dev) 0.22, and the
//! classic programs built from them.
//!
//! This facade re-exports the member crates, which can also be used on their own:
//!
//! | module | crate | for |
//! |---|---|---|
//! | [`tokenize`] | `tinderbox-tokenize` | tokenizers: load, train, Keras word-level, batch encoding |
//! | [`data`] | `tinderbox-data` | datasets fetched offline and checked by sha256; batchers |
//! | [`ops`] | `tinderbox-ops` | tensor ops: gradient norms and clipping, weight penalties |
//! | [`nn`] | `tinderbox-nn` | layers and models (the MNIST CNN) |
//! | [`heads`] | `tinderbox-heads` | task heads that make a model trainable |
//! | [`generate`] | `tinderbox-generate` | text generation: greedy, sampling, beam search, streaming |
//! | [`train`] | `tinderbox-train` | the training loop, schedules, checkpoints, metrics, plots |
//! | [`serve`] | `tinderbox-serve` | an OpenAI-compatible HTTP server with dynamic and continuous batching |
//!
//! [`backend`] picks the device from the cargo features (`flex` by default, `wgpu`, `cuda`), and
//! [`recipes`] holds the programs behind the examples, so that they can be called from code, and
//! [`cli`] the command-line options they share.
//!
//! ```no_run
//! use tinderbox::recipes::image_classification::{ImageRunConfig, train_and_test};
//!
//! let summary = train_and_test(&ImageRunConfig::default(), "runs/mnist".as_ref(), false)?;
//! println!("test accuracy {:.4}", summary.test_accuracy);
//! # Ok::<(), tinderbox::Error>(())
//! ```

#![warn(missing_docs)]
// Library code reports bad input as errors; tests may unwrap.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod backend;
pub mod cli;
mod error;
pub mod recipes;

pub use error::Error;
pub use tinderbox_data as data;
pub use tinderbox_explain as explain;
pub use tinderbox_generate as generate;
pub use tinderbox_heads as heads;
pub use tinderbox_nn as nn;
pub use tinderbox_ops as ops;
pub use tinderbox_serve as serve;
pub use tinderbox_tokenize as tokenize;
pub use tinderbox_train as train;
