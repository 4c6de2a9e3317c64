//! Sentence embeddings as sentence-transformers computes them: a BERT encoder, the mean of the
//! last hidden states over real tokens, L2-normalised; plus cosine similarities and a small
//! semantic search.
//!
//! Reference: sentence-transformers 3 (`models.Pooling(pooling_mode_mean_tokens=True)` then
//! `models.Normalize()`). all-MiniLM-L6-v2's embeddings match within 1e-6
//! (`tests/minilm_reference.rs` at the repository root); the doc example's tiny model within 1e-5.

use std::path::Path;

use burn::prelude::*;
use serde::Serialize;
use tinderbox_ops::masked_mean;
use tinderbox_tokenize::{BatchEncoding, EncodeOptions, TextTokenizer, Tokenizer};

use crate::error::{ModelError, Result, read_values};
use crate::huggingface::{load_bert, save_bert_int8};
use crate::transformer::BertModel;

/// Sentences encoded per forward pass.
const BATCH: usize = 32;

/// A tokenizer and a BERT encoder that embed sentences.
///
/// ```
/// use burn::prelude::*;
/// use tinderbox_nn::sentence_embeddings::{SentenceEncoder, cosine};
///
/// let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/tiny-sentence-bert");
/// let encoder = SentenceEncoder::from_dir(dir.as_ref(), &Device::default())?;
/// let out = encoder.embed(&["A man is eating food.", "A man is eating a piece of bread."])?;
/// assert_eq!(out.embeddings[0].len(), 32);
/// let similarity = cosine(&out.embeddings[0], &out.embeddings[1]);
/// # let reference: serde_json::Value =
/// #     serde_json::from_str(&std::fs::read_to_string(format!("{dir}/reference.json"))?)?;
/// # assert!((similarity as f64 - reference["cosine"].as_f64().unwrap()).abs() < 1e-5);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
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
    /// `tokenizer.json`), or one saved by [`save_int8`](Self::save_int8); the maximum length is
    /// sentence-transformers' `max_seq_length` if the folder has a `sentence_bert_config.json`,
    /// else the position table's length.
    pub fn from_dir(dir: &Path, device: &Device) -> Result<Self> {
        let model = load_bert(dir, device)?;
        let tokenizer = Tokenizer::from_file(dir.join("tokenizer.json"))?;
        check_vocabulary(&tokenizer, model.config().vocab_size, dir)?;
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

    /// The encoder.
    pub fn model(&self) -> &BertModel {
        &self.model
    }

    /// This encoder with its dense layers in int8 ([`BertModel::quantize_int8`]).
    pub fn quantize_int8(&self) -> Result<Self> {
        Ok(Self {
            model: self.model.quantize_int8()?,
            ..self.clone()
        })
    }

    /// Saves an int8 encoder as a folder that [`from_dir`](Self::from_dir) loads:
    /// `config.json`, `model.int8.safetensors`, `tokenizer.json` and
    /// `sentence_bert_config.json`. An `f32` encoder is an error.
    pub fn save_int8(&self, dir: &Path) -> Result<()> {
        save_bert_int8(&self.model, dir)?;
        self.tokenizer.save(dir.join("tokenizer.json"))?;
        let config = serde_json::json!({ "max_seq_length": self.max_length });
        let path = dir.join("sentence_bert_config.json");
        let text = serde_json::to_vec_pretty(&config).map_err(|e| ModelError::Json {
            path: path.clone(),
            source: e,
        })?;
        Ok(tinderbox_io::write_atomic(&path, &text)?)
    }

    /// The tokenizer.
    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    /// The longest input in tokens; longer sentences are cut.
    pub fn max_length(&self) -> usize {
        self.max_length
    }

    /// Embeds `sentences` in batches of 32 sentences of similar length (sorted by their token
    /// counts, so that little of a batch is padding), each padded to its longest sentence; the
    /// results come back in the order given.
    pub fn embed(&self, sentences: &[&str]) -> Result<SentenceEmbeddings> {
        let lengths = self
            .tokenizer
            .encode_batch(sentences, &EncodeOptions::default())?
            .lengths();
        let mut order: Vec<usize> = (0..sentences.len()).collect();
        order.sort_by_key(|&i| lengths[i]);
        let mut input_ids = vec![Vec::new(); sentences.len()];
        let mut embeddings = vec![Vec::new(); sentences.len()];
        for chunk in order.chunks(BATCH) {
            let texts: Vec<&str> = chunk.iter().map(|&i| sentences[i]).collect();
            let (ids, vectors) = self.embed_batch(&texts)?;
            for ((&i, ids), vector) in chunk.iter().zip(ids).zip(vectors) {
                input_ids[i] = ids;
                embeddings[i] = vector;
            }
        }
        Ok(SentenceEmbeddings {
            sentences: sentences.iter().map(|s| s.to_string()).collect(),
            input_ids,
            embeddings,
            truncated: (0..sentences.len())
                .filter(|&i| lengths[i] > self.max_length)
                .collect(),
        })
    }

    /// The last hidden states `[B, L, H]` and padding mask of one padded batch.
    pub fn hidden_states(&self, sentences: &[&str]) -> Result<(Tensor<3>, Tensor<2, Bool>)> {
        let encoding = self
            .tokenizer
            .encode_batch(sentences, &EncodeOptions::dynamic(self.max_length))?;
        self.forward(&encoding)
    }

    fn forward(&self, encoding: &BatchEncoding) -> Result<(Tensor<3>, Tensor<2, Bool>)> {
        let t = encoding.to_tensors(&self.device)?;
        let out = self
            .model
            .forward(t.ids, t.mask_pad.clone(), Some(t.type_ids));
        Ok((out.last_hidden_state, t.mask_pad))
    }

    /// The token ids (without padding) and embeddings of one batch.
    #[allow(clippy::type_complexity)]
    fn embed_batch(&self, sentences: &[&str]) -> Result<(Vec<Vec<u32>>, Vec<Vec<f32>>)> {
        if sentences.is_empty() {
            return Ok(Default::default());
        }
        let encoding = self
            .tokenizer
            .encode_batch(sentences, &EncodeOptions::dynamic(self.max_length))?;
        let (hidden, mask_pad) = self.forward(&encoding)?;
        let pooled = masked_mean(hidden, mask_pad);
        let norm = pooled.clone().square().sum_dim(1).sqrt().clamp_min(1e-12);
        let h = pooled.dims()[1];
        let flat = read_values(pooled / norm, "embeddings")?;
        let ids = encoding
            .ids
            .iter()
            .zip(encoding.lengths())
            .map(|(ids, real)| ids[..real].to_vec())
            .collect();
        Ok((ids, flat.chunks(h).map(<[f32]>::to_vec).collect()))
    }
}

/// Refuses a model folder whose tokenizer knows more tokens than the model's embedding table
/// holds: those ids would index past the table in the middle of a forward pass.
pub fn check_vocabulary(
    tokenizer: &dyn TextTokenizer,
    model_vocab: usize,
    dir: &Path,
) -> Result<()> {
    let tokens = tokenizer.vocab_size();
    if tokens > model_vocab {
        return Err(ModelError::TokenizerTooLarge {
            dir: dir.to_path_buf(),
            tokens,
            vocab_size: model_vocab,
        });
    }
    Ok(())
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
