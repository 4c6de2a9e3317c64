//! Sentence embeddings as sentence-transformers computes them: a BERT encoder, the mean of the
//! last hidden states over real tokens, L2-normalised; plus cosine similarities and a small
//! semantic search.

use std::path::Path;

use burn::prelude::*;
use serde::Serialize;
use tinderbox_data::fetch::Cache;
use tinderbox_data::pretrained::Pretrained;
use tinderbox_nn::pretrained::load_bert;
use tinderbox_nn::transformer::BertModel;
use tinderbox_ops::masked_mean;
use tinderbox_tokenize::{BatchEncoding, EncodeOptions, TextTokenizer, Tokenizer};

use crate::Error;

/// Sentences encoded per forward pass.
const BATCH: usize = 32;

/// A tokenizer and a BERT encoder that embed sentences.
///
/// ```no_run
/// use tinderbox::recipes::sentence_embeddings::SentenceEncoder;
///
/// let device = burn::prelude::Device::default();
/// let encoder = SentenceEncoder::minilm(&device)?;
/// let out = encoder.embed(&["A man is eating food.", "A man is eating a piece of bread."])?;
/// let similarity = tinderbox::recipes::sentence_embeddings::cosine(&out.embeddings[0], &out.embeddings[1]);
/// assert!((similarity - 0.7553).abs() < 1e-4);
/// # Ok::<(), tinderbox::Error>(())
/// ```
#[derive(Debug)]
pub struct SentenceEncoder {
    tokenizer: Tokenizer,
    model: BertModel,
    max_length: usize,
    device: Device,
}

/// Embeddings of a list of sentences.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SentenceEmbeddings {
    /// The sentences.
    pub sentences: Vec<String>,
    /// Each sentence's token ids, special tokens included, without padding.
    pub input_ids: Vec<Vec<u32>>,
    /// One unit-length vector per sentence.
    pub embeddings: Vec<Vec<f32>>,
    /// Indices of the sentences that were cut to the maximum length.
    #[serde(skip)]
    pub truncated: Vec<usize>,
}

impl SentenceEncoder {
    /// Loads a Hugging Face model folder (`config.json`, `model.safetensors`,
    /// `tokenizer.json`); the maximum length is sentence-transformers' `max_seq_length` if the
    /// folder has a `sentence_bert_config.json`, else the position table's length.
    pub fn from_dir(dir: &Path, device: &Device) -> Result<Self, Error> {
        let model = load_bert(dir, device)?;
        let tokenizer = Tokenizer::from_file(dir.join("tokenizer.json"))?;
        super::check_vocabulary(&tokenizer, model.config().vocab_size, dir)?;
        let configured = std::fs::read_to_string(dir.join("sentence_bert_config.json"))
            .ok()
            .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
            .and_then(|v| v.get("max_seq_length").and_then(serde_json::Value::as_u64));
        let max_length = configured
            .map_or(model.max_positions(), |n| n as usize)
            .min(model.max_positions());
        Ok(Self {
            tokenizer,
            model,
            max_length,
            device: device.clone(),
        })
    }

    /// all-MiniLM-L6-v2, fetched into the cache on first use.
    pub fn minilm(device: &Device) -> Result<Self, Error> {
        let dir = Pretrained::MiniLmL6V2.prepare(&Cache::from_env()?)?;
        Self::from_dir(&dir, device)
    }

    /// The encoder.
    pub fn model(&self) -> &BertModel {
        &self.model
    }

    /// The tokenizer.
    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    /// The longest input in tokens; longer sentences are cut.
    pub fn max_length(&self) -> usize {
        self.max_length
    }

    /// Embeds `sentences` in batches of 32, each padded to its longest sentence.
    pub fn embed(&self, sentences: &[&str]) -> Result<SentenceEmbeddings, Error> {
        let mut out = SentenceEmbeddings {
            sentences: sentences.iter().map(|s| s.to_string()).collect(),
            input_ids: Vec::new(),
            embeddings: Vec::new(),
            truncated: Vec::new(),
        };
        for (chunk_index, chunk) in sentences.chunks(BATCH).enumerate() {
            let (ids, vectors, truncated) = self.embed_batch(chunk)?;
            out.truncated
                .extend(truncated.into_iter().map(|i| i + chunk_index * BATCH));
            out.input_ids.extend(ids);
            out.embeddings.extend(vectors);
        }
        Ok(out)
    }

    /// The last hidden states `[B, L, H]` and padding mask of one padded batch.
    pub fn hidden_states(&self, sentences: &[&str]) -> Result<(Tensor<3>, Tensor<2, Bool>), Error> {
        let encoding = self
            .tokenizer
            .encode_batch(sentences, &EncodeOptions::dynamic(self.max_length))?;
        Ok(self.forward(&encoding))
    }

    fn forward(&self, encoding: &BatchEncoding) -> (Tensor<3>, Tensor<2, Bool>) {
        let (b, l) = (encoding.len(), encoding.ids.first().map_or(0, Vec::len));
        let tensor = |rows: &[Vec<u32>]| {
            let flat: Vec<i64> = rows.iter().flatten().map(|&v| v as i64).collect();
            Tensor::<1, Int>::from_ints(flat.as_slice(), &self.device).reshape([b, l])
        };
        let mask_pad = tensor(&encoding.attention_mask).equal_elem(0);
        let out = self.model.forward(
            tensor(&encoding.ids),
            mask_pad.clone(),
            Some(tensor(&encoding.type_ids)),
        );
        (out.last_hidden_state, mask_pad)
    }

    #[allow(clippy::type_complexity)]
    fn embed_batch(
        &self,
        sentences: &[&str],
    ) -> Result<(Vec<Vec<u32>>, Vec<Vec<f32>>, Vec<usize>), Error> {
        if sentences.is_empty() {
            return Ok(Default::default());
        }
        let full_lengths = self
            .tokenizer
            .encode_batch(sentences, &EncodeOptions::default())?
            .lengths();
        let truncated = (0..sentences.len())
            .filter(|&i| full_lengths[i] > self.max_length)
            .collect();
        let encoding = self
            .tokenizer
            .encode_batch(sentences, &EncodeOptions::dynamic(self.max_length))?;
        let (hidden, mask_pad) = self.forward(&encoding);
        let pooled = masked_mean(hidden, mask_pad);
        let norm = pooled.clone().square().sum_dim(1).sqrt().clamp_min(1e-12);
        let h = pooled.dims()[1];
        let flat: Vec<f32> = (pooled / norm)
            .into_data()
            .convert::<f32>()
            .try_into_vec()
            .map_err(|e| Error::Invalid(format!("reading embeddings: {e:?}")))?;
        let ids = encoding
            .ids
            .iter()
            .zip(encoding.lengths())
            .map(|(ids, real)| ids[..real].to_vec())
            .collect();
        Ok((
            ids,
            flat.chunks(h).map(<[f32]>::to_vec).collect(),
            truncated,
        ))
    }
}

/// The cosine similarity of two vectors (0 if either is zero).
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na * nb)
    }
}

/// Every pair's cosine similarity.
pub fn similarity_matrix(embeddings: &[Vec<f32>]) -> Vec<Vec<f32>> {
    embeddings
        .iter()
        .map(|a| embeddings.iter().map(|b| cosine(a, b)).collect())
        .collect()
}

/// The `k` corpus entries most similar to the query, best first, as `(index, score)`.
pub fn top_k(query: &[f32], corpus: &[Vec<f32>], k: usize) -> Vec<(usize, f32)> {
    let mut scored: Vec<(usize, f32)> = corpus
        .iter()
        .map(|v| cosine(query, v))
        .enumerate()
        .collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    scored.truncate(k);
    scored
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cosine_and_top_k() {
        assert!((cosine(&[1.0, 0.0], &[1.0, 1.0]) - 0.70710677).abs() < 1e-6);
        assert_eq!(cosine(&[0.0, 0.0], &[1.0, 1.0]), 0.0);
        let corpus = vec![vec![0.0, 1.0], vec![1.0, 0.1], vec![-1.0, 0.0]];
        let best: Vec<usize> = top_k(&[1.0, 0.0], &corpus, 2).iter().map(|p| p.0).collect();
        assert_eq!(best, vec![1, 0]);
    }
}
