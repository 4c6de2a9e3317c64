//! Structured pruning of a fine-tuned BERT classifier run: head and feed-forward importance on
//! the run's validation split (Michel et al. 2019), the least important removed at each level
//! asked for, every pruned model saved as a run of its own (which `--predict`, `--evaluate` and
//! `serve` open like any other) and timed against the unpruned one on the test split.

use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::data::dataloader::DataLoaderBuilder;
use burn::prelude::*;
use serde::{Deserialize, Serialize};
use tinderbox_data::text::{Split, TextDataset};
use tinderbox_nn::huggingface::save_bert;
use tinderbox_nn::pruning::{PrunePlan, StructuredImportance, check_prune_ratio};
use tinderbox_train::{
    CONFIG_FILE, ConfusionMatrix, RunDir, TrainTask, evaluate, save_model, write_atomic,
};

use super::config::{BertEncoderConfig, TextEncoderConfig, TextRunConfig};
use super::encoder::{TextClassifier, TextEncoder, classifier, saved_classifier};
use super::evaluate::saved_split;
use super::predict::open_run;
use super::tokens::{batcher, encode_options};
use super::train::TextRunSummary;
use super::{SPLIT_FILE, TOKENIZER_FILE};
use crate::Error;
use crate::backend::default_device;

/// The file of a pruned run that says what was pruned.
pub const PRUNING_FILE: &str = "pruning.json";

/// One model of a pruning sweep: how much was pruned, what is left, and how it scores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PrunedModel {
    /// Its run directory.
    pub dir: PathBuf,
    /// Fraction of all attention heads removed.
    pub heads_ratio: f64,
    /// Fraction of all feed-forward neurons removed.
    pub ffn_ratio: f64,
    /// Heads left in each layer.
    pub heads: Vec<usize>,
    /// Feed-forward width of each layer.
    pub ffn: Vec<usize>,
    /// Parameters of the encoder's layers (embeddings excluded: pruning does not touch them).
    pub layer_parameters: usize,
    /// Bytes of the saved classifier (`model.bpk`).
    pub model_bytes: u64,
    /// Accuracy on the run's test split.
    pub test_accuracy: f64,
    /// Median wall-clock seconds to classify the test split.
    pub seconds: f64,
    /// The unpruned model's median time over this one's (above 1: faster).
    pub speedup: f64,
}

/// What [`prune_sweep`] measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PruneReport {
    /// The run that was pruned.
    pub source: PathBuf,
    /// The unpruned model first, then one row per level.
    pub models: Vec<PrunedModel>,
    /// Seconds spent scoring heads and neurons on the validation split.
    pub importance_seconds: f64,
    /// Alternating timing rounds behind each median.
    pub rounds: usize,
}

/// Prunes the BERT classifier of the run `dir` at each `(heads, ffn)` level (fractions of all
/// heads and of all feed-forward neurons, each in `[0, 1)`), writing one run per level under
/// `out` (`heads-0.50-ffn-0.25`, …) plus `out/summary.json`, and times every model on the test
/// split in `rounds` alternating rounds.
pub fn prune_sweep(
    dir: &Path,
    levels: &[(f64, f64)],
    out: &Path,
    rounds: usize,
) -> Result<PruneReport, Error> {
    for &(heads, ffn) in levels {
        check_prune_ratio("heads", heads)?;
        check_prune_ratio("ffn", ffn)?;
    }
    if levels.is_empty() || rounds == 0 {
        return Err(Error::Invalid(
            "a pruning sweep needs at least one level and one timing round".into(),
        ));
    }
    let (run, config, summary, tokenizer) = open_run(dir)?;
    let TextEncoderConfig::Bert(_) = &config.encoder else {
        return Err(Error::Invalid(format!(
            "structured pruning removes BERT heads and feed-forward neurons; {} is a {} run",
            dir.display(),
            config.encoder.model().name()
        )));
    };
    let device = default_device();
    let classes = summary.class_names.len();
    let base = saved_classifier(&run, &config, classes, &device)?;
    let (split, [_, valid, test]) = saved_split(&run, &config)?;
    let options = encode_options(&config);
    let batcher = batcher(&config, &tokenizer)?;

    let started = Instant::now();
    let valid_set = TextDataset::encode(&valid, &tokenizer, &options)?;
    let importance = importance(&config, classes, &base, valid_set, &batcher)?;
    let importance_seconds = started.elapsed().as_secs_f64();
    let out_run = RunDir::create(out)?;
    out_run.write_json("importance.json", &importance)?;

    let TextEncoder::Bert(encoder) = &base.encoder else {
        return Err(Error::Invalid("the run's encoder is not a BERT".into()));
    };
    let mut models = vec![(run.path().to_path_buf(), 0.0, 0.0, base.clone())];
    for &(heads, ffn) in levels {
        let plan = PrunePlan::from_importance(&importance, heads, ffn)?;
        let sub = out.join(format!("heads-{heads:.2}-ffn-{ffn:.2}"));
        let model = TextClassifier {
            encoder: TextEncoder::Bert(encoder.prune(&plan)?),
            ..base.clone()
        };
        save_pruned_run(&run, &config, &split, &plan, &model, &sub)?;
        models.push((sub, heads, ffn, model));
    }

    // Alternating rounds over the same test split: the unpruned model, then every level.
    let test_set = TextDataset::encode(&test, &tokenizer, &options)?;
    let mut seconds = vec![Vec::with_capacity(rounds); models.len()];
    let mut evaluations = vec![None; models.len()];
    for _ in 0..rounds {
        for (i, (_, _, _, model)) in models.iter().enumerate() {
            let started = Instant::now();
            let eval = evaluate(model, test_set.clone(), batcher, 256, &device)?;
            seconds[i].push(started.elapsed().as_secs_f64());
            evaluations[i] = Some(eval);
        }
    }
    let medians: Vec<f64> = seconds.iter_mut().map(|s| median(s)).collect();
    let mut rows = Vec::with_capacity(models.len());
    for (i, (dir, heads_ratio, ffn_ratio, model)) in models.into_iter().enumerate() {
        let (TextEncoder::Bert(bert), Some(eval)) = (&model.encoder, evaluations[i].take()) else {
            continue;
        };
        let layers = &bert.encoder.layer;
        let row = PrunedModel {
            heads: layers
                .iter()
                .map(|l| l.attention.self_attn.heads())
                .collect(),
            ffn: layers
                .iter()
                .map(|l| l.intermediate.dense.weight.dims()[1])
                .collect(),
            layer_parameters: layers.iter().map(|l| l.num_params()).sum(),
            model_bytes: std::fs::metadata(dir.join("model.bpk")).map_or(0, |m| m.len()),
            test_accuracy: eval.accuracy,
            seconds: medians[i],
            speedup: medians[0] / medians[i].max(1e-12),
            dir,
            heads_ratio,
            ffn_ratio,
        };
        if i > 0 {
            // The pruned run's own test figures; what it was trained with stays the source's.
            let confusion = ConfusionMatrix::new(&eval.predictions, &eval.targets, classes);
            let pruned_summary = TextRunSummary {
                test_accuracy: eval.accuracy,
                test_macro_f1: confusion.macro_f1(),
                test_loss: eval.loss,
                confusion: confusion.counts,
                ..summary.clone()
            };
            RunDir::open(&row.dir)?.write_json("summary.json", &pruned_summary)?;
        }
        rows.push(row);
    }
    let report = PruneReport {
        source: dir.to_path_buf(),
        models: rows,
        importance_seconds,
        rounds,
    };
    out_run.write_json("summary.json", &report)?;
    Ok(report)
}

/// A pruned classifier as a run in `dir`: the source run's config with the pruned encoder's
/// sizes, its split and tokenizer, the plan, the weights, and the encoder as a Hugging Face
/// folder that the config names as its starting weights (so `--init` fine-tunes it again).
fn save_pruned_run(
    source: &RunDir,
    config: &TextRunConfig,
    split: &Split,
    plan: &PrunePlan,
    model: &TextClassifier,
    dir: &Path,
) -> Result<(), Error> {
    let (TextEncoder::Bert(encoder), TextEncoderConfig::Bert(bert)) =
        (&model.encoder, &config.encoder)
    else {
        return Err(Error::Invalid("the run's encoder is not a BERT".into()));
    };
    let run = RunDir::create(dir)?;
    let folder = dir.join("encoder");
    save_bert(encoder, &folder)?;
    let tokenizer = std::fs::read(source.file(TOKENIZER_FILE)).map_err(|e| {
        Error::Invalid(format!(
            "reading {}: {e}",
            source.file(TOKENIZER_FILE).display()
        ))
    })?;
    write_atomic(&folder.join(TOKENIZER_FILE), &tokenizer)?;
    write_atomic(&run.file(TOKENIZER_FILE), &tokenizer)?;
    let pruned = TextRunConfig {
        encoder: TextEncoderConfig::Bert(BertEncoderConfig {
            bert: encoder.config(),
            pretrained: Some(folder.display().to_string()),
            model: bert.model,
            tokenizer: None,
        }),
        ..config.clone()
    };
    run.write_json(CONFIG_FILE, &pruned)?;
    run.write_json(SPLIT_FILE, split)?;
    run.write_json(PRUNING_FILE, plan)?;
    save_model(&run.model_file(), model)?;
    Ok(())
}

/// Head and neuron importance of `model`'s encoder over `valid`, with dropout off.
fn importance(
    config: &TextRunConfig,
    classes: usize,
    model: &TextClassifier,
    valid: TextDataset,
    batcher: &tinderbox_data::text::TextBatcher,
) -> Result<StructuredImportance, Error> {
    let TextEncoder::Bert(encoder) = &model.encoder else {
        return Err(Error::Invalid("the run's encoder is not a BERT".into()));
    };
    // The same weights in a copy without dropout, on an autodiff device.
    let mut quiet = config.clone();
    if let TextEncoderConfig::Bert(b) = &mut quiet.encoder {
        b.bert.hidden_dropout_prob = 0.0;
        b.bert.attention_probs_dropout_prob = 0.0;
    }
    quiet.head_dropout = 0.0;
    let device = default_device();
    let autodiff = device.clone().autodiff();
    let quiet_model =
        classifier(&quiet, classes, &device, false)?.load_record(model.clone().into_record());
    let train = quiet_model.fork(&autodiff).train();
    let mut scores = StructuredImportance::zeros(encoder);
    let loader = DataLoaderBuilder::new(*batcher)
        .batch_size(config.train.batch_size)
        .set_device(autodiff.clone())
        .build(valid);
    for (index, batch) in loader.iter().enumerate() {
        let batch =
            batch.map_err(|e| Error::Invalid(format!("validation batch {}: {e}", index + 1)))?;
        let output = train.forward_classification(batch);
        let grads = output.loss.backward();
        if let TextEncoder::Bert(bert) = &train.encoder {
            scores.accumulate(bert, &grads)?;
        }
    }
    Ok(scores)
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => 0.0,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}
