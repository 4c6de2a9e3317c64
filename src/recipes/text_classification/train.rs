//! Training and testing a run, and the figures it leaves in `summary.json`.

use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tinderbox_data::fetch::Cache;
use tinderbox_data::text::{LabeledTexts, Split, TextDataset};
use tinderbox_tokenize::Tokenizer;
use tinderbox_train::{
    CONFIG_FILE, ConfusionMatrix, LengthBuckets, RunDir, Trainer, evaluate, plot_confusion,
};

use super::config::TextRunConfig;
use super::distill::teacher_logits;
use super::encoder::classifier;
use super::tokens::{batcher, encode_options, fit_tokenizer};
use super::{SPLIT_FILE, TOKENIZER_FILE};
use crate::Error;
use crate::backend::{backend_name, default_device, peak_rss_bytes};

/// The figures of a finished run, written as `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TextRunSummary {
    /// Accuracy on the test split.
    pub test_accuracy: f64,
    /// Unweighted mean of the per-class F1 scores on the test split.
    pub test_macro_f1: f64,
    /// Mean loss on the test split.
    pub test_loss: f64,
    /// The epoch whose weights were tested (best validation loss).
    pub best_epoch: Option<usize>,
    /// Validation accuracy of that epoch.
    pub best_valid_accuracy: Option<f64>,
    /// Epochs trained.
    pub epochs: usize,
    /// The dataset.
    pub dataset: String,
    /// The model.
    pub model: String,
    /// Class names, in id order.
    pub class_names: Vec<String>,
    /// `confusion[true][predicted]` on the test split.
    pub confusion: Vec<Vec<u64>>,
    /// Wall-clock seconds of training in the process that finished the run.
    pub train_seconds: f64,
    /// Wall-clock seconds of each epoch, validation included.
    pub seconds_per_epoch: Vec<f64>,
    /// Training, validation and test texts.
    pub examples: [usize; 3],
    /// Texts that held bytes that were not UTF-8 (read lossily).
    pub lossy_texts: usize,
    /// `flex`, `wgpu` or `cuda`.
    pub backend: String,
    /// Peak resident memory of the process, in MiB (Linux only).
    pub peak_rss_mib: Option<f64>,
    /// The run the model was distilled from, if any.
    #[serde(default)]
    pub teacher: Option<std::path::PathBuf>,
    /// With magnitude pruning: the fraction of the encoder's dense weights that are zero.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sparsity: Option<f64>,
}

/// Trains and tests as `config` says, leaving `config.json`, `split.json`, `tokenizer.json`,
/// `metrics.csv`, `curves.png`, `confusion.png`, checkpoints, `model.bpk` and `summary.json` in
/// `out`. With `resume`, continues the run in `out` with its saved split and tokenizer.
pub fn train_and_test(
    config: &TextRunConfig,
    out: &Path,
    resume: bool,
) -> Result<TextRunSummary, Error> {
    let mut config = config.clone();
    let config = &mut config;
    if config.max_len == 0 || config.encoder.vocab_size() < 3 {
        return Err(Error::Invalid(format!(
            "max_len {} must be >= 1 and vocab_size {} >= 3",
            config.max_len,
            config.encoder.vocab_size()
        )));
    }
    let run = RunDir::create(out)?;
    let mut trainer =
        Trainer::new(config.train.clone(), run.clone(), default_device())?.with_resume(resume);
    let data = config.source.load(&Cache::from_env()?)?;
    if data.lossy_texts > 0 {
        eprintln!(
            "note: {} texts held bytes that are not UTF-8 and were read lossily",
            data.lossy_texts
        );
    }
    let split = if resume && run.file(SPLIT_FILE).is_file() {
        let split: Split = run.read_json(SPLIT_FILE)?;
        split.check(&data)?;
        split
    } else {
        let split = Split::stratified(
            &data,
            config.valid_fraction,
            config.test_fraction,
            config.split_seed.unwrap_or(config.train.seed),
        )?;
        match config.train_examples {
            Some(n) => split.limit_train(&data, n, config.train.seed)?,
            None => split,
        }
    };
    run.write_json(SPLIT_FILE, &split)?;
    let [train, valid, test] = split.apply(&data)?;

    let tokenizer = if resume && run.file(TOKENIZER_FILE).is_file() {
        Tokenizer::from_file(run.file(TOKENIZER_FILE))?
    } else {
        let fitted = fit_tokenizer(config, &train)?;
        fitted.save(run.file(TOKENIZER_FILE))?;
        fitted
    };
    // After the tokenizer: a pretrained model's config.json completes the encoder's.
    run.write_json(CONFIG_FILE, config)?;
    let options = encode_options(config);
    let encode = |part: &LabeledTexts| TextDataset::encode(part, &tokenizer, &options);
    let (train_set, valid_set, test_set) = (encode(&train)?, encode(&valid)?, encode(&test)?);
    let batcher = batcher(config, &tokenizer)?;

    let classes = data.class_names.len();
    let train_set = match &config.teacher {
        Some(teacher) => {
            let logits = teacher_logits(teacher, &train, &data.class_names, &run)?;
            train_set.with_teacher_logits(&logits, classes)?
        }
        None => train_set,
    };
    let train_set = match config.epoch_examples {
        Some(n) => train_set.repeated_to(n),
        None => train_set,
    };
    if config.bucket_by_length {
        let lengths = train_set
            .items()
            .iter()
            .map(|item| item.ids.len())
            .collect();
        trainer = trainer.with_epoch_order(Arc::new(LengthBuckets::new(
            lengths,
            config.train.batch_size,
            50,
        )));
    }

    let device = default_device();
    device.seed(config.train.seed);
    let model = classifier(config, classes, &device, true)?;
    let model = match &config.teacher {
        Some(t) => model.with_distillation(t.distillation),
        None => model,
    };
    let model = match config.pruning {
        Some(p) => model.with_pruning(p)?,
        None => model,
    };
    let outcome = trainer.fit(model, train_set, Some(valid_set), batcher)?;
    let eval = evaluate(&outcome.model, test_set, batcher, 256, &device)?;
    let sparsity = config.pruning.map(|_| outcome.model.encoder_sparsity());
    let (history, best_epoch, train_seconds) =
        (outcome.history, outcome.best_epoch, outcome.train_seconds);
    let confusion = ConfusionMatrix::new(&eval.predictions, &eval.targets, classes);
    println!(
        "test confusion matrix:\n{}",
        confusion.to_table(&data.class_names)
    );
    plot_confusion(&confusion, &data.class_names, &run.file("confusion.png"))?;

    let best = best_epoch.and_then(|e| history.get(e - 1));
    let summary = TextRunSummary {
        test_accuracy: eval.accuracy,
        test_macro_f1: confusion.macro_f1(),
        test_loss: eval.loss,
        best_epoch,
        best_valid_accuracy: best.and_then(|m| m.valid_accuracy),
        epochs: history.len(),
        dataset: data.name.clone(),
        model: config.encoder.model().name().into(),
        class_names: data.class_names.clone(),
        confusion: confusion.counts,
        train_seconds,
        seconds_per_epoch: history.iter().map(|m| m.seconds).collect(),
        examples: [train.len(), valid.len(), test.len()],
        lossy_texts: data.lossy_texts,
        backend: backend_name(&device),
        peak_rss_mib: peak_rss_bytes().map(|b| b as f64 / (1 << 20) as f64),
        teacher: config.teacher.as_ref().map(|t| t.dir.clone()),
        sparsity,
    };
    run.write_json("summary.json", &summary)?;
    Ok(summary)
}

/// Reads the configuration saved in a run directory.
pub fn load_run_config(dir: &Path) -> Result<TextRunConfig, Error> {
    Ok(RunDir::open(dir)?.read_json(CONFIG_FILE)?)
}
