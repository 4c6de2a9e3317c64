//! Classifying new texts with a saved run: [`SavedClassifier`] loads it once (a server keeps
//! it), [`predict`] classifies a list of texts in one call.

use std::path::Path;

use burn::data::dataloader::batcher::Batcher;
use serde::Serialize;
use tinderbox_data::text::TextItem;
use tinderbox_tokenize::{EncodeOptions, TextTokenizer, Tokenizer};
use tinderbox_train::{CONFIG_FILE, RunDir};

use super::TOKENIZER_FILE;
use super::config::TextRunConfig;
use super::encoder::{TextClassifier, quantize_classifier, saved_classifier};
use super::tokens::{batcher, encode_options};
use super::train::TextRunSummary;
use crate::Error;
use crate::backend::default_device;

/// One text's prediction.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TextPrediction {
    /// The text.
    pub text: String,
    /// The most likely class.
    pub label: String,
    /// Every class with its probability, in class order.
    pub probabilities: Vec<(String, f32)>,
}

/// A run's model, tokenizer and classes, loaded once.
#[derive(Debug)]
pub struct SavedClassifier {
    config: TextRunConfig,
    tokenizer: Tokenizer,
    class_names: Vec<String>,
    model: TextClassifier,
}

/// A saved run's directory, configuration, summary and tokenizer; a directory of another
/// program is an error that says so.
pub(super) fn open_run(
    dir: &Path,
) -> Result<(RunDir, TextRunConfig, TextRunSummary, Tokenizer), Error> {
    let run = RunDir::open(dir)?;
    let config: TextRunConfig = run.read_json(CONFIG_FILE).map_err(|e| {
        Error::Invalid(format!(
            "{} is not a text_classification run directory: {e}",
            dir.display()
        ))
    })?;
    let summary: TextRunSummary = run.read_json("summary.json")?;
    let tokenizer = Tokenizer::from_file(run.file(TOKENIZER_FILE))?;
    Ok((run, config, summary, tokenizer))
}

impl SavedClassifier {
    /// Opens the run in `dir` on the default device.
    pub fn open(dir: &Path) -> Result<Self, Error> {
        let (run, config, summary, tokenizer) = open_run(dir)?;
        let device = default_device();
        let model = saved_classifier(&run, &config, summary.class_names.len(), &device)?;
        Ok(Self {
            config,
            tokenizer,
            class_names: summary.class_names,
            model,
        })
    }

    /// The run's model with its BERT encoder in int8 (an LSTM or bag-of-embeddings run is an
    /// error).
    pub fn quantize_int8(self) -> Result<Self, Error> {
        Ok(Self {
            model: quantize_classifier(self.model)?,
            ..self
        })
    }

    /// The classes, in the order of the probabilities.
    pub fn class_names(&self) -> &[String] {
        &self.class_names
    }

    /// The most tokens the model reads of a text (longer texts are cut as in training).
    pub fn max_tokens(&self) -> usize {
        self.config.max_len
    }

    /// Tokens of each text before the cut (special tokens included).
    pub fn count_tokens(&self, texts: &[&str]) -> Result<Vec<usize>, Error> {
        let options = EncodeOptions {
            add_special_tokens: self.config.encoder.special_tokens(),
            ..EncodeOptions::default()
        };
        Ok(self.tokenizer.encode_batch(texts, &options)?.lengths())
    }

    /// Each text's probability per class, in class order, in batches of 64.
    pub fn probabilities(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, Error> {
        self.scores(texts, true)
    }

    /// Each text's logits (the scores before the softmax), in class order, in batches of 64.
    pub fn logits(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, Error> {
        self.scores(texts, false)
    }

    fn scores(&self, texts: &[&str], probabilities: bool) -> Result<Vec<Vec<f32>>, Error> {
        let classes = self.class_names.len();
        let batcher = batcher(&self.config, &self.tokenizer)?;
        let (options, device) = (encode_options(&self.config), default_device());
        let mut out = Vec::with_capacity(texts.len());
        for chunk in texts.chunks(64) {
            let encoded = self.tokenizer.encode_batch(chunk, &options)?;
            let items = encoded
                .ids
                .into_iter()
                .map(|ids| TextItem::new(ids, 0))
                .collect();
            let batch = batcher.batch(items, &device);
            let scores = if probabilities {
                self.model.predict_proba(batch.ids, batch.mask_pad)
            } else {
                self.model.logits(batch.ids, batch.mask_pad)
            };
            let scores = scores
                .into_data()
                .convert::<f32>()
                .try_to_vec::<f32>()
                .map_err(|e| Error::Invalid(format!("reading scores: {e:?}")))?;
            out.extend(scores.chunks(classes).map(<[f32]>::to_vec));
        }
        Ok(out)
    }

    /// Each text's label and probabilities.
    pub fn predict(&self, texts: &[String]) -> Result<Vec<TextPrediction>, Error> {
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let probs = self.probabilities(&refs)?;
        Ok(texts
            .iter()
            .zip(probs)
            .map(|(text, p)| {
                let best = (0..p.len())
                    .max_by(|&a, &b| p[a].total_cmp(&p[b]))
                    .unwrap_or(0);
                TextPrediction {
                    text: text.clone(),
                    label: self.class_names[best].clone(),
                    probabilities: self.class_names.iter().cloned().zip(p).collect(),
                }
            })
            .collect())
    }
}

/// Classifies `texts` with the model, tokenizer and classes saved in the run `dir`; with
/// `int8`, its BERT encoder quantized to int8 first.
pub fn predict(dir: &Path, texts: &[String], int8: bool) -> Result<Vec<TextPrediction>, Error> {
    let saved = SavedClassifier::open(dir)?;
    let saved = if int8 { saved.quantize_int8()? } else { saved };
    saved.predict(texts)
}
