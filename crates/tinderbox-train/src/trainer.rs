//! The training loop: `fit` and `evaluate`, on burn's optimizers and data loaders.
//!
//! burn-train's `Learner` checkpoints by epoch without the data order or random state, clips
//! gradients per tensor, and stops on NaN only by panicking, so this loop is written over the
//! same pieces (`ModuleOptimizer`, `DataLoaderBuilder`, burnpack records) with what a
//! `fit`/`Trainer` user expects added: global-norm clipping, accumulation, L1/L2 penalties,
//! early stopping, exact resume, `metrics.csv` and a plot after every epoch.

use std::sync::Arc;
use std::time::Instant;

use burn::data::dataloader::DataLoaderBuilder;
use burn::data::dataloader::batcher::Batcher;
use burn::data::dataset::Dataset;
use burn::data::dataset::transform::SelectionDataset;
use burn::prelude::*;
use burn::train::ClassificationOutput;

use crate::checkpoint::{Checkpoints, TrainState, save_model};
use crate::config::TrainConfig;
use crate::error::{Result, TrainError};
use crate::metrics::{EpochMetrics, Meter, to_csv};
use crate::optim_step::OptimStep;
use crate::order::EpochOrder;
use crate::progress::Progress;
use crate::run_dir::{RunDir, write_atomic};
use crate::schedule::ScheduleSpan;
use crate::task::TrainTask;

/// What [`Trainer::fit`] returns.
#[derive(Debug)]
pub struct FitOutcome<M> {
    /// The trained model in inference mode (the best epoch's weights if `restore_best`).
    pub model: M,
    /// One entry per epoch of the whole run, resumed epochs included.
    pub history: Vec<EpochMetrics>,
    /// The best epoch by the early-stopping metric (validation loss by default).
    pub best_epoch: Option<usize>,
    /// Whether early stopping ended the run.
    pub stopped_early: bool,
    /// The epoch the run resumed after, if it did.
    pub resumed_after: Option<usize>,
    /// Wall-clock seconds of training in this process, validation included.
    pub train_seconds: f64,
}

/// Loss and accuracy of a model over a dataset, with every prediction.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// Mean loss per scored example.
    pub loss: f64,
    /// Fraction of right predictions.
    pub accuracy: f64,
    /// The predicted class of every scored example, in dataset order.
    pub predictions: Vec<usize>,
    /// The true class of every scored example.
    pub targets: Vec<usize>,
}

/// Trains a [`TrainTask`] according to a [`TrainConfig`], leaving its files in a [`RunDir`].
///
/// ```no_run
/// # use burn::prelude::*;
/// # use tinderbox_train::{RunDir, TrainConfig, Trainer, TrainTask};
/// # use burn::data::dataset::Dataset;
/// # fn demo<T: TrainTask, I: Clone + Send + Sync + std::fmt::Debug + 'static, D: Dataset<I> + 'static>(
/// #     model: T,
/// #     train: D,
/// #     valid: D,
/// #     batcher: impl burn::data::dataloader::batcher::Batcher<I, T::Batch> + Clone + 'static,
/// # ) -> tinderbox_train::Result<()> {
/// let config = TrainConfig::new(1e-3).with_epochs(5);
/// let trainer = Trainer::new(config, RunDir::create("runs/demo")?, Device::default())?;
/// let outcome = trainer.fit(model, train, Some(valid), batcher)?;
/// println!("best epoch {:?}", outcome.best_epoch);
/// # Ok(()) }
/// ```
pub struct Trainer {
    config: TrainConfig,
    run: RunDir,
    device: Device,
    resume: bool,
    progress: bool,
    order: Option<Arc<dyn EpochOrder>>,
}

impl Trainer {
    /// A trainer for `config` writing into `run`, training on `device` (autodiff is added).
    pub fn new(config: TrainConfig, run: RunDir, device: Device) -> Result<Self> {
        config.validate()?;
        Ok(Self {
            config,
            run,
            device,
            resume: false,
            progress: true,
            order: None,
        })
    }

    /// Continue from the run directory's latest checkpoint instead of starting afresh.
    pub fn with_resume(mut self, resume: bool) -> Self {
        self.resume = resume;
        self
    }

    /// Show the progress bar and one line per epoch (on by default).
    pub fn with_progress(mut self, progress: bool) -> Self {
        self.progress = progress;
        self
    }

    /// Visit the training set in the order `order` gives for each epoch (for example
    /// [`LengthBuckets`](crate::LengthBuckets)) instead of a plain shuffle.
    pub fn with_epoch_order(mut self, order: Arc<dyn EpochOrder>) -> Self {
        self.order = Some(order);
        self
    }

    /// The configuration.
    pub fn config(&self) -> &TrainConfig {
        &self.config
    }

    /// Trains `model` on `train`, validating on `valid` after every epoch.
    ///
    /// Without `resume`, old checkpoints in the run directory are removed first. With it, the
    /// weights, optimizer state, counters and history of the latest checkpoint are loaded into
    /// `model` (which must have the same architecture) and training continues with the next
    /// epoch, seeing the same batches and dropout masks as an uninterrupted run.
    pub fn fit<T, I, D, B>(
        &self,
        model: T,
        train: D,
        valid: Option<D>,
        batcher: B,
    ) -> Result<FitOutcome<T>>
    where
        T: TrainTask,
        I: Send + Sync + Clone + std::fmt::Debug + 'static,
        D: Dataset<I> + 'static,
        B: Batcher<I, T::Batch> + Clone + 'static,
    {
        let cfg = &self.config;
        let train = Arc::new(train);
        let valid = valid.map(Arc::new);
        if train.is_empty() {
            return Err(TrainError::EmptyDataset { split: "training" });
        }
        if let Some(v) = &valid
            && v.is_empty()
        {
            return Err(TrainError::EmptyDataset {
                split: "validation",
            });
        }
        let started = Instant::now();
        let train_device = self.device.clone().autodiff();
        let eval_device = self.device.clone().without_autodiff();
        let checkpoints = Checkpoints::new(self.run.checkpoints_dir());
        // A run killed mid-write leaves temporary files; only one process trains in a run.
        self.run.remove_temporaries()?;
        let fresh = || TrainState {
            seed: cfg.seed,
            ..Default::default()
        };
        let start = checkpoints.start(self.resume, model, cfg.optimizer.init(), fresh)?;
        let (resumed_after, mut state, mut optim) = (start.resumed, start.state, start.optim);
        let model = start.model;
        // `train()` puts the parameters on the autodiff device and marks them as requiring
        // gradients, whether the model was built on a plain device or came out of `valid()`.
        let batches_per_epoch = train.len().div_ceil(cfg.batch_size);
        let steps_per_epoch = batches_per_epoch.div_ceil(cfg.grad_accumulation);
        let span = ScheduleSpan {
            steps_per_epoch,
            total_steps: steps_per_epoch * cfg.epochs,
        };
        let mut model = model
            .fork(&train_device)
            .train()
            .after_update(state.step, span.total_steps);

        while state.epoch < cfg.epochs && !state.stopped_early {
            let epoch = state.epoch + 1;
            let epoch_start = Instant::now();
            let epoch_seed = mix_seed(cfg.seed, epoch as u64);
            let builder = DataLoaderBuilder::new(batcher.clone())
                .batch_size(cfg.batch_size)
                .set_device(train_device.clone());
            let loader = match &self.order {
                None => builder.shuffle(epoch_seed).build(train.clone()),
                Some(order) => {
                    let indices = order.order(train.len(), epoch_seed);
                    if indices.len() != train.len() || indices.iter().any(|&i| i >= train.len()) {
                        return Err(TrainError::InvalidConfig {
                            name: "epoch order",
                            value: format!("{} indices", indices.len()),
                            reason: format!(
                                "must be a permutation of the {} training examples",
                                train.len()
                            ),
                        });
                    }
                    builder.build(SelectionDataset::<D, I>::from_indices_unchecked(
                        train.clone(),
                        indices,
                    ))
                }
            };
            let mut progress = Progress::new(
                format!("epoch {epoch}/{}", cfg.epochs),
                "batches",
                0,
                batches_per_epoch as u64,
                self.progress,
            );
            let mut meter = Meter::default();
            let mut step = OptimStep::<T>::new(cfg, &train_device);
            let mut lr = cfg.schedule.lr_at(cfg.lr, state.step, span);

            for (index, batch) in loader.iter().enumerate() {
                let batch = batch.map_err(|e| TrainError::Data {
                    epoch,
                    batch: index + 1,
                    reason: e.to_string(),
                })?;
                state.batches += 1;
                let figures = step.backward(&model, batch, state.batches).map_err(|e| {
                    progress.finish();
                    TrainError::NonFiniteLoss {
                        value: e.0,
                        epoch,
                        step: state.batches,
                        batch: index + 1,
                    }
                })?;
                meter.add(figures.loss, figures.correct, figures.count);
                // The epoch's last batches make a step of their own, however few.
                let last = index + 1 == batches_per_epoch;
                if step.pending() == cfg.grad_accumulation || last {
                    lr = cfg.schedule.lr_at(cfg.lr, state.step, span);
                    model = step
                        .apply(model, &mut optim, lr, epoch)
                        .after_update(state.step + 1, span.total_steps);
                    state.step += 1;
                }
                progress.inc(|| format!("loss {:.4} acc {:.4}", meter.loss(), meter.accuracy()));
            }
            progress.finish();
            let train_seconds = epoch_start.elapsed().as_secs_f64();

            let validation = match &valid {
                Some(v) => Some(evaluate_on(
                    &model.valid(),
                    v.clone(),
                    batcher.clone(),
                    cfg.batch_size,
                    &eval_device,
                )?),
                None => None,
            };
            let metrics = EpochMetrics {
                epoch,
                train_loss: meter.loss(),
                train_accuracy: meter.accuracy(),
                valid_loss: validation.as_ref().map(|v| v.loss),
                valid_accuracy: validation.as_ref().map(|v| v.accuracy),
                lr,
                steps: state.step,
                train_seconds,
                seconds: epoch_start.elapsed().as_secs_f64(),
            };
            if self.progress {
                progress.println(&epoch_line(&metrics, cfg.epochs));
            }
            let (monitor, min_delta, patience) = match &cfg.early_stopping {
                Some(es) => (es.monitor, es.min_delta, Some(es.patience)),
                None => (crate::Monitor::ValidLoss, 0.0, None),
            };
            state.best.update(monitor, min_delta, &metrics);
            state.history.push(metrics);
            state.epoch = epoch;
            // Keras' rule: stop once `patience` epochs in a row brought no improvement.
            if let Some(patience) = patience
                && state.best.epoch.is_some()
                && state.best.epochs_without_improvement >= patience.max(1)
            {
                state.stopped_early = true;
                if self.progress {
                    println!(
                        "early stopping: no improvement for {patience} epochs after epoch {}",
                        state.best.epoch.unwrap_or(0)
                    );
                }
            }
            checkpoints.save(&model, &optim, &state)?;
            checkpoints.prune(cfg.keep_checkpoints, state.best.epoch)?;
            self.write_epoch_files(&state)?;
        }

        let mut model = model.valid();
        if cfg.restore_best
            && let Some(best) = state.best.epoch
            && best != state.epoch
        {
            model = checkpoints.load_model(best, model)?;
        }
        save_model(&self.run.model_file(), &model)?;
        Ok(FitOutcome {
            model,
            best_epoch: state.best.epoch,
            stopped_early: state.stopped_early,
            history: state.history,
            resumed_after,
            train_seconds: started.elapsed().as_secs_f64(),
        })
    }

    fn write_epoch_files(&self, state: &TrainState) -> Result<()> {
        write_atomic(&self.run.metrics_csv(), to_csv(&state.history).as_bytes())?;
        #[cfg(feature = "plot")]
        crate::plot::plot_curves(&state.history, &self.run.curves_png())?;
        Ok(())
    }
}

/// Evaluates `model` (call `.valid()` first to turn dropout off) on `dataset`, in order.
pub fn evaluate<T, I, D, B>(
    model: &T,
    dataset: D,
    batcher: B,
    batch_size: usize,
    device: &Device,
) -> Result<Evaluation>
where
    T: TrainTask,
    I: Send + Sync + Clone + std::fmt::Debug + 'static,
    D: Dataset<I> + 'static,
    B: Batcher<I, T::Batch> + 'static,
{
    if dataset.is_empty() {
        return Err(TrainError::EmptyDataset {
            split: "evaluation",
        });
    }
    if batch_size == 0 {
        return Err(TrainError::InvalidConfig {
            name: "batch_size",
            value: "0".into(),
            reason: "must be >= 1".into(),
        });
    }
    evaluate_on(model, dataset, batcher, batch_size, device)
}

fn evaluate_on<T, I, D, B>(
    model: &T,
    dataset: D,
    batcher: B,
    batch_size: usize,
    device: &Device,
) -> Result<Evaluation>
where
    T: TrainTask,
    I: Send + Sync + Clone + std::fmt::Debug + 'static,
    D: Dataset<I> + 'static,
    B: Batcher<I, T::Batch> + 'static,
{
    let loader = DataLoaderBuilder::new(batcher)
        .batch_size(batch_size)
        .set_device(device.clone())
        .build(dataset);
    let mut meter = Meter::default();
    let mut predictions = Vec::new();
    let mut targets = Vec::new();
    for (index, batch) in loader.iter().enumerate() {
        let batch = batch.map_err(|e| TrainError::Data {
            epoch: 0,
            batch: index + 1,
            reason: e.to_string(),
        })?;
        let output = model.forward_classification(batch);
        let loss: f64 = output.loss.into_scalar::<f32>() as f64;
        let predicted = output.output.argmax(1).flatten::<1>(0, 1);
        let predicted = to_usize(predicted);
        let truth = to_usize(output.targets);
        let correct = predicted.iter().zip(&truth).filter(|(p, t)| p == t).count();
        meter.add(loss, correct as u64, truth.len() as u64);
        predictions.extend(predicted);
        targets.extend(truth);
    }
    Ok(Evaluation {
        loss: meter.loss(),
        accuracy: meter.accuracy(),
        predictions,
        targets,
    })
}

fn to_usize(t: Tensor<1, Int>) -> Vec<usize> {
    t.into_data()
        .convert::<i64>()
        .try_to_vec::<i64>()
        .map(|v| v.into_iter().map(|x| x.max(0) as usize).collect())
        .unwrap_or_default()
}

/// Reads a batch's mean loss, right predictions and example count back to the host (what a
/// [`Meter`](crate::Meter) adds up).
pub fn read_batch(output: &ClassificationOutput) -> (f64, u64, u64) {
    let loss = output.loss.clone().into_scalar::<f32>() as f64;
    let count = output.targets.dims()[0] as u64;
    let correct = output
        .output
        .clone()
        .argmax(1)
        .flatten::<1>(0, 1)
        .equal(output.targets.clone())
        .int()
        .sum()
        .into_scalar::<i64>() as u64;
    (loss, correct, count)
}

fn epoch_line(m: &EpochMetrics, epochs: usize) -> String {
    let mut line = format!(
        "epoch {}/{epochs}: train loss {:.4} acc {:.4}",
        m.epoch, m.train_loss, m.train_accuracy
    );
    if let (Some(l), Some(a)) = (m.valid_loss, m.valid_accuracy) {
        line.push_str(&format!(" | valid loss {l:.4} acc {a:.4}"));
    }
    line.push_str(&format!(" | lr {:.2e} | {:.1} s", m.lr, m.seconds));
    line
}

/// Mixes a seed with a counter (SplitMix64), so that nearby counters give unrelated seeds.
pub fn mix_seed(seed: u64, counter: u64) -> u64 {
    let mut z = seed ^ counter.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
