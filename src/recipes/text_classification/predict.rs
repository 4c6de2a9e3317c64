//! Classifying new texts with a saved run.

use std::path::Path;

use burn::data::dataloader::batcher::Batcher;
use serde::Serialize;
use tinderbox_data::text::TextItem;
use tinderbox_tokenize::{TextTokenizer, Tokenizer};
use tinderbox_train::{CONFIG_FILE, RunDir, load_model};

use super::TOKENIZER_FILE;
use super::config::TextRunConfig;
use super::encoder::classifier;
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

/// Classifies `texts` with the model, tokenizer and classes saved in the run `dir`.
pub fn predict(dir: &Path, texts: &[String]) -> Result<Vec<TextPrediction>, Error> {
    let run = RunDir::open(dir)?;
    let config: TextRunConfig = run.read_json(CONFIG_FILE)?;
    let summary: TextRunSummary = run.read_json("summary.json")?;
    let tokenizer = Tokenizer::from_file(run.file(TOKENIZER_FILE))?;
    if texts.is_empty() {
        return Ok(Vec::new());
    }
    let device = default_device();
    let classes = summary.class_names.len();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let encoded = tokenizer.encode_batch(&refs, &encode_options(&config))?;
    let items = encoded
        .ids
        .into_iter()
        .map(|ids| TextItem { ids, label: 0 })
        .collect();
    let batch = batcher(&config, &tokenizer)?.batch(items, &device);
    let model = load_model(
        &run.model_file(),
        classifier(&config, classes, &device, false)?,
    )?;
    let probs = model
        .predict_proba(batch.ids, batch.mask_pad)
        .into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .map_err(|e| Error::Invalid(format!("reading probabilities: {e:?}")))?;
    Ok(texts
        .iter()
        .zip(probs.chunks(classes))
        .map(|(text, p)| {
            let best = (0..classes)
                .max_by(|&a, &b| p[a].total_cmp(&p[b]))
                .unwrap_or(0);
            TextPrediction {
                text: text.clone(),
                label: summary.class_names[best].clone(),
                probabilities: summary
                    .class_names
                    .iter()
                    .cloned()
                    .zip(p.iter().copied())
                    .collect(),
            }
        })
        .collect())
}
