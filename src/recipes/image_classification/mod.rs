//! The seed MNIST program: the Keras CNN trained on MNIST or Fashion-MNIST, then tested, with a
//! run directory that `predict` and `--resume` can use on their own.

use std::path::{Path, PathBuf};

use burn::prelude::*;
use serde::{Deserialize, Serialize};
use tinderbox_data::fetch::Cache;
use tinderbox_data::vision::{ImageDataset, ImageSet, ImageSplits, VisionDataset};
use tinderbox_heads::ImageClassifier;
use tinderbox_nn::cnn::{MnistCnn, MnistCnnConfig};
use tinderbox_train::{
    CONFIG_FILE, LrSchedule, OptimizerConfig, OptimizerKind, RunDir, TrainConfig, Trainer,
    evaluate, load_model,
};

use crate::Error;
use crate::backend::{backend_name, default_device, peak_rss_bytes};

mod explain;

pub use explain::{ImageExplanationSummary, explain, export_weights};

/// Everything that defines a run; saved as the run's `config.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageRunConfig {
    /// Which dataset.
    pub dataset: VisionDataset,
    /// A directory of IDX files to use instead of the fetched copy.
    pub data_dir: Option<PathBuf>,
    /// Images held out from the end of the training set for validation (Keras'
    /// `validation_split` takes the tail too).
    pub valid_size: usize,
    /// Train on only the first N training images (after the hold-out).
    pub limit_train: Option<usize>,
    /// The model.
    pub model: MnistCnnConfig,
    /// The training settings.
    pub train: TrainConfig,
}

impl Default for ImageRunConfig {
    /// The seed program: MNIST, Adam 1e-3, batch 32, 5 epochs, 5,000 images held out; with the
    /// rate decayed to 0 along a half cosine and the best validation epoch tested (the seed keeps
    /// the rate constant and tests the last epoch: `--schedule constant --keep-last`).
    fn default() -> Self {
        Self {
            dataset: VisionDataset::Mnist,
            data_dir: None,
            valid_size: 5_000,
            limit_train: None,
            model: MnistCnnConfig::new(),
            train: TrainConfig::new(1e-3)
                .with_epochs(5)
                .with_batch_size(32)
                .with_optimizer(OptimizerConfig::new(OptimizerKind::Adam))
                .with_schedule(LrSchedule::WarmupCosine {
                    warmup_ratio: 0.0,
                    warmup_steps: None,
                    min_lr_ratio: 0.0,
                })
                .with_restore_best(true),
        }
    }
}

/// The figures of a finished run, written as `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageRunSummary {
    /// Accuracy on the official test set.
    pub test_accuracy: f64,
    /// Mean cross-entropy on the test set.
    pub test_loss: f64,
    /// Epochs trained (all of them, across resumes).
    pub epochs: usize,
    /// The epoch with the best validation loss.
    pub best_epoch: Option<usize>,
    /// Validation accuracy of the last epoch.
    pub valid_accuracy: Option<f64>,
    /// Wall-clock seconds of each epoch, validation included.
    pub seconds_per_epoch: Vec<f64>,
    /// Wall-clock seconds of training in the process that finished the run.
    pub train_seconds: f64,
    /// `flex`, `wgpu` or `cuda`.
    pub backend: String,
    /// `mnist` or `fashion-mnist`.
    pub dataset: String,
    /// Training, validation and test examples.
    pub examples: [usize; 3],
    /// Peak resident memory of the process, in MiB (Linux only).
    pub peak_rss_mib: Option<f64>,
}

/// One image's top classes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Prediction {
    /// The test-set index.
    pub index: usize,
    /// The true class name.
    pub label: String,
    /// The most likely classes with their probabilities, best first.
    pub top: Vec<(String, f32)>,
}

fn load_data(config: &ImageRunConfig) -> Result<ImageSplits, Error> {
    let cache = Cache::from_env()?;
    Ok(config.dataset.load(&cache, config.data_dir.as_deref())?)
}

fn split(config: &ImageRunConfig, train: ImageSet) -> Result<(ImageSet, ImageSet), Error> {
    let (mut train, valid) = train.split_tail(config.valid_size)?;
    if let Some(limit) = config.limit_train {
        train.truncate(limit);
    }
    Ok((train, valid))
}

/// Trains the CNN as `config` says, tests it, and leaves `config.json`, `metrics.csv`,
/// `curves.png`, checkpoints, `model.bpk` and `summary.json` in `out`. With `resume`, continues
/// the run in `out` from its latest checkpoint.
pub fn train_and_test(
    config: &ImageRunConfig,
    out: &Path,
    resume: bool,
) -> Result<ImageRunSummary, Error> {
    if config.valid_size == 0 {
        return Err(Error::Invalid(
            "valid_size must be >= 1: the seed reports validation metrics".into(),
        ));
    }
    let run = RunDir::create(out)?;
    let trainer =
        Trainer::new(config.train.clone(), run.clone(), default_device())?.with_resume(resume);
    let splits = load_data(config)?;
    let classes = splits.class_names.len();
    if config.model.num_classes != classes {
        return Err(Error::Invalid(format!(
            "the model has {} outputs but {} has {classes} classes",
            config.model.num_classes, config.dataset
        )));
    }
    // Only once the data is there: a mistyped --data-dir must not overwrite the configuration
    // of the run already in `out`.
    run.write_json(CONFIG_FILE, config)?;
    let (train, valid) = split(config, splits.train)?;
    let examples = [train.len(), valid.len(), splits.test.len()];
    let (train, valid, test) = (
        ImageDataset::new(train),
        ImageDataset::new(valid),
        ImageDataset::new(splits.test),
    );
    let batcher = train.batcher();

    let device = default_device();
    device.seed(config.train.seed);
    let model = ImageClassifier::new(config.model.init(&device));
    let outcome = trainer.fit(model, train, Some(valid), batcher)?;
    let test_eval = evaluate(
        &outcome.model,
        test,
        batcher,
        config.train.batch_size.max(256),
        &device,
    )?;

    let summary = ImageRunSummary {
        test_accuracy: test_eval.accuracy,
        test_loss: test_eval.loss,
        epochs: outcome.history.len(),
        best_epoch: outcome.best_epoch,
        valid_accuracy: outcome.history.last().and_then(|m| m.valid_accuracy),
        seconds_per_epoch: outcome.history.iter().map(|m| m.seconds).collect(),
        train_seconds: outcome.train_seconds,
        backend: backend_name(&device),
        dataset: config.dataset.to_string(),
        examples,
        peak_rss_mib: peak_rss_bytes().map(|b| b as f64 / (1 << 20) as f64),
    };
    run.write_json("summary.json", &summary)?;
    Ok(summary)
}

/// Reads the configuration saved in a run directory.
pub fn load_run_config(dir: &Path) -> Result<ImageRunConfig, Error> {
    Ok(RunDir::open(dir)?.read_json(CONFIG_FILE)?)
}

/// The model saved in `run` (built as `config` says) on `device`.
fn load_classifier(
    run: &RunDir,
    config: &ImageRunConfig,
    device: &Device,
) -> Result<ImageClassifier<MnistCnn>, Error> {
    Ok(load_model(
        &run.model_file(),
        ImageClassifier::new(config.model.init(device)),
    )?)
}

/// Loads the trained model of the run in `dir` and returns the `top_k` classes of the given
/// test images.
pub fn predict(dir: &Path, indices: &[usize], top_k: usize) -> Result<Vec<Prediction>, Error> {
    let run = RunDir::open(dir)?;
    let config: ImageRunConfig = run.read_json(CONFIG_FILE)?;
    let device = default_device();
    let model = load_classifier(&run, &config, &device)?;
    let splits = load_data(&config)?;
    let test = &splits.test;
    let mut pixels = Vec::with_capacity(indices.len() * test.rows() * test.cols());
    for &i in indices {
        let image = test.image(i).ok_or_else(|| {
            Error::Invalid(format!(
                "test image {i} does not exist: the test set has {} images",
                test.len()
            ))
        })?;
        pixels.extend(image.iter().map(|&p| p as f32 / 255.0));
    }
    if indices.is_empty() {
        return Ok(Vec::new());
    }
    let shape = [indices.len(), 1, test.rows(), test.cols()];
    let probs = model.predict_proba(Tensor::from_data(TensorData::new(pixels, shape), &device));
    let probs = probs
        .into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .map_err(|e| Error::Invalid(format!("reading probabilities: {e:?}")))?;
    let classes = splits.class_names.len();
    Ok(indices
        .iter()
        .zip(probs.chunks(classes))
        .map(|(&index, p)| {
            let mut order: Vec<usize> = (0..classes).collect();
            order.sort_by(|&a, &b| p[b].total_cmp(&p[a]));
            Prediction {
                index,
                label: splits.class_names[test.label(index).unwrap_or(0) as usize].clone(),
                top: order
                    .into_iter()
                    .take(top_k)
                    .map(|c| (splits.class_names[c].clone(), p[c]))
                    .collect(),
            }
        })
        .collect())
}
