//! The training loop end to end on a small synthetic task: files of a run, exact resume,
//! accumulation, early stopping, and a NaN loss.

use burn::data::dataloader::batcher::Batcher;
use burn::data::dataset::InMemDataset;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::nn::{Dropout, DropoutConfig, Linear, LinearConfig};
use burn::prelude::*;
use burn::train::ClassificationOutput;
use tinderbox_train::{
    EarlyStopping, LrGroup, LrSchedule, Monitor, OptimizerConfig, OptimizerKind, RunDir,
    TrainConfig, TrainError, TrainTask, Trainer, evaluate,
};

/// burn's backend random generator is global to the process, so tests that train (and seed it)
/// take turns; otherwise one test's dropout draws would come from another test's seed.
static RNG: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    RNG.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[derive(Module, Debug)]
struct Toy {
    hidden: Linear,
    dropout: Dropout,
    out: Linear,
    /// Multiplies the logits; NaN poisons the loss.
    #[module(skip)]
    scale: f32,
}

impl Toy {
    fn new(device: &Device, scale: f32) -> Self {
        device.seed(7);
        Self {
            hidden: LinearConfig::new(2, 16).init(device),
            dropout: DropoutConfig::new(0.2).init(),
            out: LinearConfig::new(16, 3).init(device),
            scale,
        }
    }
}

#[derive(Clone, Debug)]
struct Item {
    x: [f32; 2],
    y: i64,
}

#[derive(Clone, Debug)]
struct ToyBatch {
    x: Tensor<2>,
    y: Tensor<1, Int>,
}

#[derive(Clone)]
struct ToyBatcher;

impl Batcher<Item, ToyBatch> for ToyBatcher {
    fn batch(&self, items: Vec<Item>, device: &Device) -> ToyBatch {
        let n = items.len();
        let x: Vec<f32> = items.iter().flat_map(|i| i.x).collect();
        let y: Vec<i64> = items.iter().map(|i| i.y).collect();
        ToyBatch {
            x: Tensor::from_data(TensorData::new(x, [n, 2]), device),
            y: Tensor::from_data(TensorData::new(y, [n]), device),
        }
    }
}

impl TrainTask for Toy {
    type Batch = ToyBatch;

    fn forward_classification(&self, batch: ToyBatch) -> ClassificationOutput {
        let h = burn::tensor::activation::relu(self.hidden.forward(batch.x));
        let logits = self
            .out
            .forward(self.dropout.forward(h))
            .mul_scalar(self.scale);
        let loss = CrossEntropyLossConfig::new()
            .init(&logits.device())
            .forward(logits.clone(), batch.y.clone());
        ClassificationOutput::new(loss, logits, batch.y)
    }
}

/// Three well-separated clusters.
fn data(n: usize, offset: usize) -> InMemDataset<Item> {
    let items = (0..n)
        .map(|i| {
            let k = (i + offset) % 3;
            let jitter = ((i * 7919 + offset) % 100) as f32 / 100.0 - 0.5;
            let centre = [[2.0, 0.0], [-1.0, 1.7], [-1.0, -1.7]][k];
            Item {
                x: [centre[0] + jitter * 0.5, centre[1] - jitter * 0.4],
                y: k as i64,
            }
        })
        .collect();
    InMemDataset::new(items)
}

fn config(epochs: usize) -> TrainConfig {
    TrainConfig::new(0.05)
        .with_epochs(epochs)
        .with_batch_size(8)
        .with_schedule(LrSchedule::WarmupCosine {
            warmup_ratio: 0.1,
            warmup_steps: None,
            min_lr_ratio: 0.1,
        })
        .with_clip_grad_norm(Some(1.0))
        .with_penalties(1e-4, 1e-4)
        .with_restore_best(true)
}

fn weights(model: &Toy) -> Vec<f32> {
    let mut v = model
        .hidden
        .weight
        .val()
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();
    v.extend(
        model
            .out
            .weight
            .val()
            .into_data()
            .try_to_vec::<f32>()
            .unwrap(),
    );
    v
}

fn trainer(config: TrainConfig, dir: &std::path::Path) -> Trainer {
    Trainer::new(config, RunDir::create(dir).unwrap(), Device::default())
        .unwrap()
        .with_progress(false)
}

#[test]
fn fit_learns_and_leaves_a_complete_run_directory() {
    let _rng = serial();
    let dir = tempfile::tempdir().unwrap();
    let device = Device::default();
    let outcome = trainer(config(4), dir.path())
        .fit(
            Toy::new(&device, 1.0),
            data(96, 0),
            Some(data(30, 1)),
            ToyBatcher,
        )
        .unwrap();
    assert_eq!(outcome.history.len(), 4);
    let first = &outcome.history[0];
    let last = &outcome.history[3];
    assert!(last.train_loss < first.train_loss, "{first:?} -> {last:?}");
    assert!(last.valid_accuracy.unwrap() > 0.95, "{last:?}");
    assert_eq!(last.steps, 4 * 12);

    let csv = std::fs::read_to_string(dir.path().join("metrics.csv")).unwrap();
    assert_eq!(csv.lines().count(), 5, "{csv}");
    let png = std::fs::read(dir.path().join("curves.png")).unwrap();
    assert_eq!(&png[..4], b"\x89PNG");
    assert!(dir.path().join("model.bpk").is_file());
    // The last two epochs and the best one are kept.
    let kept = tinderbox_train::Checkpoints::new(dir.path().join("checkpoints"))
        .epochs()
        .unwrap();
    assert!(kept.ends_with(&[3, 4]), "{kept:?}");
    assert!(
        kept.len() <= 3 && kept.contains(&outcome.best_epoch.unwrap()),
        "{kept:?}"
    );

    let eval = evaluate(&outcome.model, data(30, 1), ToyBatcher, 7, &device).unwrap();
    assert_eq!(eval.predictions.len(), 30);
    let best = &outcome.history[outcome.best_epoch.unwrap() - 1];
    assert!((eval.accuracy - best.valid_accuracy.unwrap()).abs() < 1e-9);
}

#[test]
fn resume_after_a_lost_epoch_reaches_the_same_weights() {
    let _rng = serial();
    let device = Device::default();
    let full = tempfile::tempdir().unwrap();
    let a = trainer(config(3).with_restore_best(false), full.path())
        .fit(Toy::new(&device, 1.0), data(64, 0), None, ToyBatcher)
        .unwrap();

    // A run killed during epoch 3: only the checkpoints of epochs 1 and 2 exist.
    let killed = tempfile::tempdir().unwrap();
    trainer(config(3).with_restore_best(false), killed.path())
        .fit(Toy::new(&device, 1.0), data(64, 0), None, ToyBatcher)
        .unwrap();
    std::fs::remove_dir_all(killed.path().join("checkpoints/epoch-3")).unwrap();

    // Resume into a freshly initialised model with a different seed: the checkpoint decides.
    device.seed(99);
    let fresh = Toy {
        hidden: LinearConfig::new(2, 16).init(&device),
        dropout: DropoutConfig::new(0.2).init(),
        out: LinearConfig::new(16, 3).init(&device),
        scale: 1.0,
    };
    let b = trainer(config(3).with_restore_best(false), killed.path())
        .with_resume(true)
        .fit(fresh, data(64, 0), None, ToyBatcher)
        .unwrap();
    assert_eq!(b.resumed_after, Some(2));
    assert_eq!(b.history.len(), 3);
    assert_eq!(weights(&a.model), weights(&b.model));
    assert_eq!(a.history[2].train_loss, b.history[2].train_loss);
    let csv = std::fs::read_to_string(killed.path().join("metrics.csv")).unwrap();
    assert_eq!(csv.lines().count(), 4, "no lost or repeated epochs:\n{csv}");
}

#[test]
fn a_frozen_group_stays_put_then_learns() {
    let _turn = serial();
    let dir = tempfile::tempdir().unwrap();
    let device = Device::default();
    let hidden = |m: &Toy| {
        m.hidden
            .weight
            .val()
            .into_data()
            .try_to_vec::<f32>()
            .unwrap()
    };
    let out = |m: &Toy| m.out.weight.val().into_data().try_to_vec::<f32>().unwrap();
    // Parameters initialise lazily: read them now, so that the runs start from these values.
    let start = Toy::new(&device, 1.0);
    let (hidden_0, out_0) = (hidden(&start), out(&start));
    let mut c = config(1);
    c.lr_groups = vec![LrGroup {
        fragment: "hidden.".into(),
        multiplier: 0.5,
        frozen_epochs: 1,
    }];
    let one = trainer(c.clone(), &dir.path().join("one"))
        .fit(start.clone(), data(64, 0), Some(data(16, 1)), ToyBatcher)
        .unwrap()
        .model;
    assert_eq!(hidden(&one), hidden_0);
    assert_ne!(out(&one), out_0);
    c.epochs = 2;
    let two = trainer(c, &dir.path().join("two"))
        .fit(start, data(64, 0), Some(data(16, 1)), ToyBatcher)
        .unwrap()
        .model;
    assert_ne!(hidden(&two), hidden_0);
}

#[test]
fn accumulating_two_half_batches_equals_one_full_batch() {
    let _rng = serial();
    let device = Device::default();
    let sgd = |batch, accumulation| {
        TrainConfig::new(0.1)
            .with_epochs(1)
            .with_batch_size(batch)
            .with_grad_accumulation(accumulation)
            .with_optimizer(OptimizerConfig::new(OptimizerKind::Sgd).with_momentum(0.0))
    };
    let mut model = Toy::new(&device, 1.0);
    model.dropout = DropoutConfig::new(0.0).init();
    let d1 = tempfile::tempdir().unwrap();
    let d2 = tempfile::tempdir().unwrap();
    let whole = trainer(sgd(8, 1), d1.path())
        .fit(model.clone(), data(48, 0), None, ToyBatcher)
        .unwrap();
    let halves = trainer(sgd(4, 2), d2.path())
        .fit(model, data(48, 0), None, ToyBatcher)
        .unwrap();
    assert_eq!(whole.history[0].steps, 6);
    assert_eq!(halves.history[0].steps, 6);
    for (x, y) in weights(&whole.model).iter().zip(weights(&halves.model)) {
        assert!((x - y).abs() < 1e-5, "{x} vs {y}");
    }
}

#[test]
fn early_stopping_ends_the_run_after_patience() {
    let _rng = serial();
    let device = Device::default();
    let dir = tempfile::tempdir().unwrap();
    let config = TrainConfig::new(1e-9)
        .with_epochs(10)
        .with_early_stopping(Some(EarlyStopping {
            monitor: Monitor::ValidLoss,
            patience: 1,
            min_delta: 0.1,
        }));
    let outcome = trainer(config, dir.path())
        .fit(
            Toy::new(&device, 1.0),
            data(24, 0),
            Some(data(12, 1)),
            ToyBatcher,
        )
        .unwrap();
    assert!(outcome.stopped_early);
    assert_eq!(outcome.best_epoch, Some(1));
    // Epoch 2 brought no improvement: with patience 1 the run ends there, as in Keras.
    assert_eq!(outcome.history.len(), 2);
}

#[test]
fn nan_loss_stops_with_the_step_and_keeps_finished_epochs() {
    let _rng = serial();
    let device = Device::default();
    let dir = tempfile::tempdir().unwrap();
    let err = trainer(config(2), dir.path())
        .fit(Toy::new(&device, f32::NAN), data(16, 0), None, ToyBatcher)
        .unwrap_err();
    match &err {
        TrainError::NonFiniteLoss {
            epoch, step, batch, ..
        } => {
            assert_eq!((*epoch, *step, *batch), (1, 1, 1));
        }
        other => panic!("unexpected error {other}"),
    }
    assert!(err.to_string().contains("at epoch 1, step 1"), "{err}");
    assert!(!dir.path().join("checkpoints").exists());
    assert!(!dir.path().join("model.bpk").exists());
    // Infinite logits make an infinite (or NaN) loss: the same error.
    let err = trainer(config(2), dir.path())
        .fit(
            Toy::new(&device, f32::INFINITY),
            data(16, 0),
            None,
            ToyBatcher,
        )
        .unwrap_err();
    assert!(matches!(err, TrainError::NonFiniteLoss { .. }), "{err}");
}

#[test]
fn empty_datasets_and_bad_settings_are_errors() {
    let _rng = serial();
    let device = Device::default();
    let dir = tempfile::tempdir().unwrap();
    let err = trainer(config(1), dir.path())
        .fit(Toy::new(&device, 1.0), data(0, 0), None, ToyBatcher)
        .unwrap_err();
    assert!(err.to_string().contains("training set is empty"), "{err}");
    let err = Trainer::new(config(0), RunDir::create(dir.path()).unwrap(), device)
        .err()
        .unwrap();
    assert!(err.to_string().contains("epochs = 0"), "{err}");
}

fn step_trainer(steps: usize, dir: &std::path::Path) -> tinderbox_train::StepTrainer {
    let budget = tinderbox_train::StepBudget {
        max_steps: Some(steps),
        max_minutes: None,
        eval_every: 4,
        checkpoint_every: 4,
    };
    // Two parameter groups (biases without decay): both optimizer states must resume.
    let optimizer = OptimizerConfig::new(OptimizerKind::AdamW)
        .with_weight_decay(0.01)
        .with_no_decay(&["bias"]);
    tinderbox_train::StepTrainer::new(
        config(1)
            .with_grad_accumulation(2)
            .with_optimizer(optimizer),
        budget,
        RunDir::create(dir).unwrap(),
        Device::default(),
    )
    .unwrap()
    .with_progress(false)
}

/// Batch `n` of an endless stream: 8 points that depend only on `n`.
fn stream(
    n: usize,
    device: &Device,
) -> Result<tinderbox_train::StepBatch<ToyBatch>, std::convert::Infallible> {
    let items = burn::data::dataset::Dataset::iter(&data(8, n * 8))
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    Ok(tinderbox_train::StepBatch {
        batch: ToyBatcher.batch(items, device),
        tokens: 8,
    })
}

fn held_out(model: &Toy) -> Result<tinderbox_train::Score, tinderbox_train::TrainError> {
    let e = evaluate(model, data(30, 1), ToyBatcher, 16, &Device::default())?;
    Ok(tinderbox_train::Score {
        loss: e.loss,
        accuracy: e.accuracy,
    })
}

#[test]
fn a_paused_step_run_resumes_on_the_same_curve() {
    let _rng = serial();
    let device = Device::default();
    let whole = tempfile::tempdir().unwrap();
    let a = step_trainer(12, whole.path())
        .fit(Toy::new(&device, 1.0), stream, held_out)
        .unwrap();
    assert!(a.finished);
    assert_eq!(a.state.step, 12);
    assert_eq!(a.state.batches, 24);
    assert_eq!(a.state.tokens, 24 * 8);
    let steps: Vec<usize> = a.state.history.iter().map(|m| m.step).collect();
    assert_eq!(steps, [4, 8, 12]);
    let last = a.state.history.last().unwrap();
    assert!(last.eval_accuracy.unwrap() > 0.9, "{last:?}");
    let csv = std::fs::read_to_string(whole.path().join("metrics.csv")).unwrap();
    assert_eq!(csv.lines().count(), 4, "{csv}");
    assert!(whole.path().join("curves.png").is_file());

    // Paused after 6 steps: the checkpoint of step 6 is written although 6 is off the cadence.
    let split = tempfile::tempdir().unwrap();
    let paused = step_trainer(12, split.path())
        .with_pause_after(Some(6))
        .fit(Toy::new(&device, 1.0), stream, held_out)
        .unwrap();
    assert!(!paused.finished);
    assert_eq!(paused.state.step, 6);
    // Resumed with a model of different starting weights: the checkpoint replaces them.
    device.seed(99);
    let b = step_trainer(12, split.path())
        .with_resume(true)
        .fit(Toy::new(&device, 1.0), stream, held_out)
        .unwrap();
    assert_eq!(b.resumed_at, Some(6));
    assert_eq!(b.state.step, 12);
    assert_eq!(weights(&a.model), weights(&b.model));
    assert_eq!(a.state.history, {
        let mut h = b.state.history.clone();
        for (x, y) in h.iter_mut().zip(&a.state.history) {
            x.train_seconds = y.train_seconds;
        }
        h
    });
}

#[test]
fn step_budgets_and_bad_batches_are_errors() {
    let _rng = serial();
    let device = Device::default();
    let dir = tempfile::tempdir().unwrap();
    let budget = tinderbox_train::StepBudget {
        max_steps: None,
        max_minutes: None,
        eval_every: 1,
        checkpoint_every: 1,
    };
    let new = |budget: tinderbox_train::StepBudget| {
        tinderbox_train::StepTrainer::new(
            config(1),
            budget,
            RunDir::create(dir.path()).unwrap(),
            device.clone(),
        )
    };
    let err = new(budget.clone()).err().unwrap().to_string();
    assert!(err.contains("max_steps or max_minutes"), "{err}");
    let err = new(tinderbox_train::StepBudget {
        max_minutes: Some(-1.0),
        ..budget.clone()
    })
    .err()
    .unwrap()
    .to_string();
    assert!(err.contains("max_minutes = -1"), "{err}");
    let err = new(tinderbox_train::StepBudget {
        max_steps: Some(3),
        eval_every: 0,
        ..budget.clone()
    })
    .err()
    .unwrap()
    .to_string();
    assert!(err.contains("eval_every = 0"), "{err}");

    let trainer = new(tinderbox_train::StepBudget {
        max_steps: Some(3),
        ..budget.clone()
    })
    .unwrap()
    .with_progress(false);
    let failing = |n: usize, d: &Device| {
        if n == 2 {
            Err("the corpus file is truncated".to_string())
        } else {
            Ok(stream(n, d).unwrap())
        }
    };
    let err = trainer
        .fit(Toy::new(&device, 1.0), failing, held_out)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("batch 2") && err.contains("truncated"),
        "{err}"
    );
    // The steps before the failure were checkpointed.
    let kept = tinderbox_train::Checkpoints::by_step(dir.path().join("checkpoints"))
        .epochs()
        .unwrap();
    assert_eq!(kept, [1, 2]);

    let err = trainer
        .fit(Toy::new(&device, f32::NAN), stream, held_out)
        .unwrap_err()
        .to_string();
    assert!(err.contains("NaN at step 1"), "{err}");

    // A time budget plans its steps by timing two probe steps, then stops on time.
    let timed = new(tinderbox_train::StepBudget {
        max_minutes: Some(0.002),
        eval_every: 1000,
        ..budget
    })
    .unwrap()
    .with_progress(false)
    .fit(Toy::new(&device, 1.0), stream, held_out)
    .unwrap();
    assert!(timed.finished);
    assert!(timed.state.planned_steps >= 1);
    assert!(timed.state.step >= 1 && timed.state.step <= timed.state.planned_steps);
    assert_eq!(timed.state.history.len(), 1, "the last step is evaluated");
}

#[test]
fn a_time_budget_is_planned_again_from_the_real_steps() {
    let _rng = serial();
    let device = Device::default();
    let dir = tempfile::tempdir().unwrap();
    let budget = tinderbox_train::StepBudget {
        max_steps: None,
        max_minutes: Some(0.06),
        eval_every: 1000,
        checkpoint_every: 1000,
    };
    let trainer = tinderbox_train::StepTrainer::new(
        config(1).with_grad_accumulation(2),
        budget,
        RunDir::create(dir.path()).unwrap(),
        device.clone(),
    )
    .unwrap()
    .with_progress(false);
    // The probe times the model's forward and backward pass only; making each batch here takes
    // 25 ms more, so the probe's plan is several times too long and only the plan made from
    // the real steps lays the schedule over the 3.6 s (about 70 steps of two batches).
    let slow = |n: usize, device: &Device| {
        std::thread::sleep(std::time::Duration::from_millis(25));
        stream(n, device)
    };
    let out = trainer.fit(Toy::new(&device, 1.0), slow, held_out).unwrap();
    let planned = out.state.planned_steps;
    assert!((30..150).contains(&planned), "planned {planned} steps");
    // The run ends on its plan, with the schedule decayed, not cut off by the clock early.
    assert!(out.finished);
    assert!(
        out.state.step + 5 >= planned,
        "{} of {planned} steps",
        out.state.step
    );
}
