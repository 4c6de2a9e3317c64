//! Scoring a saved run on another labelled dataset.

use std::path::Path;

use serde::Serialize;
use tinderbox_data::fetch::Cache;
use tinderbox_data::text::{LabeledTexts, Split, TextDataset, TextSource};
use tinderbox_tokenize::Tokenizer;
use tinderbox_train::{CONFIG_FILE, ConfusionMatrix, RunDir, evaluate};

use super::config::TextRunConfig;
use super::encoder::{quantize_classifier, saved_classifier};
use super::tokens::{batcher, encode_options};
use super::train::TextRunSummary;
use super::{SPLIT_FILE, TOKENIZER_FILE};
use crate::Error;
use crate::backend::default_device;

/// The scores of a saved run on another labelled dataset.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DatasetScores {
    /// The dataset.
    pub dataset: String,
    /// Accuracy.
    pub accuracy: f64,
    /// Unweighted mean of the per-class F1 scores.
    pub macro_f1: f64,
    /// `confusion[true][predicted]`, in the run's class order.
    pub confusion: Vec<Vec<u64>>,
    /// The run's class names.
    pub class_names: Vec<String>,
}

/// Scores the model saved in the run `dir` on every text of `source` (with `int8`, its BERT
/// encoder quantized to int8 first). Its labels must be among the run's classes; a label the
/// run never saw is an error naming it.
pub fn evaluate_run(dir: &Path, source: &TextSource, int8: bool) -> Result<DatasetScores, Error> {
    let run = RunDir::open(dir)?;
    let summary: TextRunSummary = tinderbox_train::read_json(&run.file("summary.json"))?;
    let data = source.load(&Cache::from_env()?)?;
    let pairs = data
        .texts
        .iter()
        .zip(&data.labels)
        .map(|(text, &label)| (text.clone(), data.class_names[label].clone()))
        .collect();
    let data = LabeledTexts::with_classes(
        &data.name,
        pairs,
        summary.class_names.clone(),
        data.lossy_texts,
    )?;
    let config: TextRunConfig = run.read_json(CONFIG_FILE)?;
    score(&run, &config, &summary, &data, int8)
}

/// Scores the model saved in the run `dir` on the run's own test split (as `split.json` saved
/// it): the run's test accuracy again, or with `int8` the accuracy of its int8 encoder.
pub fn evaluate_test_split(dir: &Path, int8: bool) -> Result<DatasetScores, Error> {
    let run = RunDir::open(dir)?;
    let config: TextRunConfig = run.read_json(CONFIG_FILE)?;
    let summary: TextRunSummary = tinderbox_train::read_json(&run.file("summary.json"))?;
    let test = test_split(&run, &config)?;
    score(&run, &config, &summary, &test, int8)
}

/// The run's test split, as its `split.json` saved it.
pub(super) fn test_split(run: &RunDir, config: &TextRunConfig) -> Result<LabeledTexts, Error> {
    let (_, [_, _, test]) = saved_split(run, config)?;
    Ok(test)
}

/// The run's split (`split.json`) and its training, validation and test texts.
pub(super) fn saved_split(
    run: &RunDir,
    config: &TextRunConfig,
) -> Result<(Split, [LabeledTexts; 3]), Error> {
    let split: Split = run.read_json(SPLIT_FILE)?;
    let data = config.source.load(&Cache::from_env()?)?;
    let parts = split.apply(&data)?;
    Ok((split, parts))
}

fn score(
    run: &RunDir,
    config: &TextRunConfig,
    summary: &TextRunSummary,
    data: &LabeledTexts,
    int8: bool,
) -> Result<DatasetScores, Error> {
    let tokenizer = Tokenizer::from_file(run.file(TOKENIZER_FILE))?;
    let set = TextDataset::encode(data, &tokenizer, &encode_options(config))?;
    let batcher = batcher(config, &tokenizer)?;
    let device = default_device();
    let classes = summary.class_names.len();
    let model = saved_classifier(run, config, classes, &device)?;
    let model = if int8 {
        quantize_classifier(model)?
    } else {
        model
    };
    let eval = evaluate(&model, set, batcher, 256, &device)?;
    let confusion = ConfusionMatrix::new(&eval.predictions, &eval.targets, classes);
    Ok(DatasetScores {
        dataset: data.name.clone(),
        accuracy: eval.accuracy,
        macro_f1: confusion.macro_f1(),
        confusion: confusion.counts,
        class_names: summary.class_names.clone(),
    })
}
