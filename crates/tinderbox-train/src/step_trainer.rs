//! A step-based training loop, for pre-training: the data is a stream addressed by batch number,
//! training stops at a step or time budget, and an evaluation set is scored every N steps.
//!
//! The epoch loop ([`Trainer`](crate::Trainer)) does not fit: a 30-minute pre-training run sees
//! a fraction of its corpus, so there is no epoch to evaluate, checkpoint or schedule by. What it
//! shares with it: the optimizer, the schedule, clipping, accumulation, checkpoints and the
//! rule that makes resuming exact (every random draw is seeded from the run's seed and a
//! counter, so a resumed run sees the same batches and dropout masks as an uninterrupted one).

use std::time::Instant;

use burn::prelude::*;
use serde::{Deserialize, Serialize};

use crate::checkpoint::{Checkpoints, save_model};
use crate::config::TrainConfig;
use crate::error::{Result, TrainError};
use crate::metrics::Meter;
use crate::optim_step::OptimStep;
use crate::progress::Progress;
use crate::run_dir::{RunDir, write_atomic};
use crate::schedule::ScheduleSpan;
use crate::step_metrics::{StepMetrics, to_step_csv};
use crate::task::TrainTask;

/// How long a step-based run trains, and how often it evaluates and checkpoints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepBudget {
    /// Optimizer steps to take; the learning-rate schedule is laid over them.
    pub max_steps: Option<usize>,
    /// Minutes spent in training steps (evaluations and checkpoints do not count). Without
    /// `max_steps`, the schedule is laid over the steps that two timed probe steps say fit,
    /// and planned again from the time that steps 10 to 30 took.
    pub max_minutes: Option<f64>,
    /// Score the evaluation set every this many steps (and after the last).
    pub eval_every: usize,
    /// Checkpoint every this many steps (and after the last).
    pub checkpoint_every: usize,
}

impl StepBudget {
    /// Checks that the run has an end and that the cadences are positive.
    pub fn validate(&self) -> Result<()> {
        let bad = |name, value: String, reason: &str| {
            Err(TrainError::InvalidConfig {
                name,
                value,
                reason: reason.into(),
            })
        };
        match (self.max_steps, self.max_minutes) {
            (None, None) => {
                return bad("max_steps", "none".into(), "give max_steps or max_minutes");
            }
            (Some(0), _) => return bad("max_steps", "0".into(), "must be >= 1"),
            (_, Some(m)) if !(m > 0.0 && m.is_finite()) => {
                return bad("max_minutes", m.to_string(), "must be a positive number");
            }
            _ => {}
        }
        if self.eval_every == 0 {
            return bad("eval_every", "0".into(), "must be >= 1");
        }
        if self.checkpoint_every == 0 {
            return bad("checkpoint_every", "0".into(), "must be >= 1");
        }
        Ok(())
    }
}

/// The loop's state at a checkpoint: with the weights and the optimizer, all a run needs to go on.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StepState {
    /// Optimizer steps taken.
    pub step: usize,
    /// Batches drawn from the stream (more than `step` with gradient accumulation).
    pub batches: usize,
    /// The steps the schedule is laid over.
    pub planned_steps: usize,
    /// Tokens trained on.
    pub tokens: u64,
    /// Seconds spent in training steps.
    pub train_seconds: f64,
    /// One entry per evaluation point.
    pub history: Vec<StepMetrics>,
    /// The training figures since the last evaluation point.
    #[serde(default)]
    pub meter: Meter,
    /// The run's seed.
    pub seed: u64,
}

/// An evaluation set's figures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Score {
    /// Mean loss per scored position.
    pub loss: f64,
    /// Fraction of scored positions predicted right.
    pub accuracy: f64,
}

/// A batch of the training stream with the number of tokens it trains on (for tokens/s).
#[derive(Debug, Clone)]
pub struct StepBatch<B> {
    /// The batch.
    pub batch: B,
    /// Its tokens (or examples), counted into the throughput.
    pub tokens: u64,
}

/// What [`StepTrainer::fit`] returns.
#[derive(Debug)]
pub struct StepOutcome<M> {
    /// The model after the last step, in inference mode.
    pub model: M,
    /// The loop's state after the last step, history included.
    pub state: StepState,
    /// The step the run resumed from, if it did.
    pub resumed_at: Option<usize>,
    /// False when the run paused (see [`StepTrainer::with_pause_after`]) before its budget ran out.
    pub finished: bool,
}

/// Trains a [`TrainTask`] on a stream of batches for a [`StepBudget`].
///
/// ```no_run
/// # use burn::prelude::*;
/// # use tinderbox_train::*;
/// # fn demo<T: TrainTask>(model: T, make: impl FnMut(usize, &Device) -> Result<StepBatch<T::Batch>, String>) -> Result<()> {
/// let budget = StepBudget { max_steps: Some(1_000), max_minutes: None, eval_every: 100, checkpoint_every: 250 };
/// let trainer = StepTrainer::new(TrainConfig::new(5e-4), budget, RunDir::create("runs/demo")?, Device::default())?;
/// let outcome = trainer.fit(model, make, |_model: &T| Ok::<_, String>(Score { loss: 0.0, accuracy: 1.0 }))?;
/// println!("{} steps", outcome.state.step);
/// # Ok(()) }
/// ```
pub struct StepTrainer {
    config: TrainConfig,
    budget: StepBudget,
    run: RunDir,
    device: Device,
    resume: bool,
    progress: bool,
    pause_after: Option<usize>,
}

impl StepTrainer {
    /// A trainer for `config` (its epochs, early stopping and best-epoch settings do not apply)
    /// and `budget`, writing into `run`, training on `device` (autodiff is added).
    pub fn new(
        config: TrainConfig,
        budget: StepBudget,
        run: RunDir,
        device: Device,
    ) -> Result<Self> {
        config.validate()?;
        if let Some(g) = config.lr_groups.iter().find(|g| g.frozen_epochs > 0) {
            return Err(TrainError::InvalidConfig {
                name: "lr_groups",
                value: format!("frozen_epochs {} for {:?}", g.frozen_epochs, g.fragment),
                reason: "a budgeted run has no epochs to freeze a group for".into(),
            });
        }
        budget.validate()?;
        Ok(Self {
            config,
            budget,
            run,
            device,
            resume: false,
            progress: true,
            pause_after: None,
        })
    }

    /// Continue from the run directory's latest checkpoint instead of starting afresh.
    pub fn with_resume(mut self, resume: bool) -> Self {
        self.resume = resume;
        self
    }

    /// Show a progress bar and a line per evaluation (on by default).
    pub fn with_progress(mut self, progress: bool) -> Self {
        self.progress = progress;
        self
    }

    /// Stop after `steps` steps in this process, with a checkpoint, as if the run were stopped
    /// there; `with_resume` continues it on the same curve. For splitting a long run into
    /// sessions, and for testing resumption.
    pub fn with_pause_after(mut self, steps: Option<usize>) -> Self {
        self.pause_after = steps;
        self
    }

    /// Trains `model` on the batches `next(n, device)` makes for batch numbers n = 0, 1, ...
    /// (a pure function of `n`, so that a resumed run sees the same data), scoring the
    /// evaluation set with `score` (given the model in inference mode) every `eval_every` steps.
    /// Writes `metrics.csv`, `curves.png` and `model.bpk`, and checkpoints under
    /// `checkpoints/step-N/`.
    pub fn fit<T, E1, E2>(
        &self,
        model: T,
        mut next: impl FnMut(usize, &Device) -> std::result::Result<StepBatch<T::Batch>, E1>,
        mut score: impl FnMut(&T) -> std::result::Result<Score, E2>,
    ) -> Result<StepOutcome<T>>
    where
        T: TrainTask,
        E1: std::fmt::Display,
        E2: std::fmt::Display,
    {
        let cfg = &self.config;
        let train_device = self.device.clone().autodiff();
        let checkpoints = Checkpoints::by_step(self.run.checkpoints_dir());
        self.run.remove_temporaries()?;
        let fresh = || StepState {
            seed: cfg.seed,
            ..Default::default()
        };
        let start = checkpoints.start(self.resume, model, cfg.optimizer.init(), fresh)?;
        let (resumed_at, mut state, mut optim) = (start.resumed, start.state, start.optim);
        let model = start.model;
        let mut model = model.fork(&train_device).train();
        let mut draw = |n: usize| {
            next(n, &train_device).map_err(|e| TrainError::StepData {
                batch: n,
                reason: e.to_string(),
            })
        };
        if state.planned_steps == 0 {
            state.planned_steps = match (self.budget.max_steps, self.budget.max_minutes) {
                (Some(steps), _) => steps,
                (None, Some(minutes)) => {
                    let seconds = probe_step_seconds(&model, draw(0)?.batch)?;
                    // The probe leaves out the optimizer update, clipping and batch making:
                    // 15 % on BERT-mini here (1.59 s probed, 1.83 s a step on an idle machine).
                    let per_step = seconds * cfg.grad_accumulation as f64 * PROBE_OVERHEAD;
                    ((minutes * 60.0 / per_step) as usize).max(1)
                }
                (None, None) => 1,
            };
        }
        model = model.after_update(state.step, state.planned_steps);
        let time_budget = self.budget.max_minutes.map(|m| m * 60.0);
        // A plan from the probe is checked against real steps once, early (see `REPLAN`).
        let replan = self.budget.max_steps.is_none() && state.step == 0;
        let mut seconds_at_replan_start = 0.0;
        let out_of_time = |state: &StepState| time_budget.is_some_and(|t| state.train_seconds >= t);
        let mut progress = Progress::new(
            "steps".into(),
            "steps",
            state.step as u64,
            state.planned_steps as u64,
            self.progress,
        );
        let mut steps_here = 0;
        let finished = loop {
            if state.step >= state.planned_steps || out_of_time(&state) {
                break true;
            }
            if self.pause_after.is_some_and(|p| steps_here >= p) {
                break false;
            }
            let started = Instant::now();
            let mut step = OptimStep::<T>::new(cfg, &train_device);
            for _ in 0..cfg.grad_accumulation {
                let StepBatch { batch, tokens } = draw(state.batches)?;
                let figures = step.backward(&model, batch, state.batches).map_err(|e| {
                    progress.finish();
                    TrainError::NonFiniteStepLoss {
                        value: e.0,
                        step: state.step + 1,
                        batch: state.batches,
                    }
                })?;
                state
                    .meter
                    .add(figures.loss, figures.correct, figures.count);
                state.batches += 1;
                state.tokens += tokens;
            }
            // Laid over the plan as it stands: the plan may change once, early (see `REPLAN`).
            let span = ScheduleSpan {
                steps_per_epoch: state.planned_steps,
                total_steps: state.planned_steps,
            };
            let lr = cfg.schedule.lr_at(cfg.lr, state.step, span);
            model = step
                .apply(model, &mut optim, lr, usize::MAX)
                .after_update(state.step + 1, state.planned_steps);
            state.step += 1;
            steps_here += 1;
            state.train_seconds += started.elapsed().as_secs_f64();
            if replan && state.step == REPLAN.start {
                seconds_at_replan_start = state.train_seconds;
            }
            if let (true, Some(budget)) = (replan && state.step == REPLAN.end, time_budget) {
                let per_step = (state.train_seconds - seconds_at_replan_start)
                    / (REPLAN.end - REPLAN.start) as f64;
                let left = (budget - state.train_seconds).max(0.0) * REPLAN_MARGIN;
                state.planned_steps = state.step + (left / per_step.max(1e-9)) as usize;
                progress.set_total(state.planned_steps as u64);
            }
            progress.inc(|| {
                format!(
                    "loss {:.4} acc {:.4} | {:.0} tokens/s",
                    state.meter.loss(),
                    state.meter.accuracy(),
                    state.tokens as f64 / state.train_seconds.max(1e-9)
                )
            });

            let last = state.step >= state.planned_steps || out_of_time(&state);
            if state.step.is_multiple_of(self.budget.eval_every) || last {
                let scored = score(&model.valid()).map_err(|e| TrainError::Evaluation {
                    step: state.step,
                    reason: e.to_string(),
                })?;
                let point = StepMetrics {
                    step: state.step,
                    train_loss: state.meter.loss(),
                    train_accuracy: state.meter.accuracy(),
                    eval_loss: Some(scored.loss),
                    eval_accuracy: Some(scored.accuracy),
                    lr,
                    tokens: state.tokens,
                    train_seconds: state.train_seconds,
                };
                if self.progress {
                    progress.println(&step_line(&point, state.planned_steps));
                }
                state.history.push(point);
                state.meter = Meter::default();
                self.write_step_files(&state)?;
            }
            let pausing = self.pause_after.is_some_and(|p| steps_here >= p);
            if state.step.is_multiple_of(self.budget.checkpoint_every) || last || pausing {
                checkpoints.save_numbered(&model, &optim, state.step, &state)?;
                checkpoints.prune(cfg.keep_checkpoints, None)?;
            }
        };
        progress.finish();
        let model = model.valid();
        save_model(&self.run.model_file(), &model)?;
        Ok(StepOutcome {
            model,
            state,
            resumed_at,
            finished,
        })
    }

    fn write_step_files(&self, state: &StepState) -> Result<()> {
        write_atomic(
            &self.run.metrics_csv(),
            to_step_csv(&state.history).as_bytes(),
        )?;
        #[cfg(feature = "plot")]
        crate::plot::plot_step_curves(&state.history, &self.run.curves_png())?;
        Ok(())
    }
}

/// What a whole step costs over the probe's forward and backward pass.
const PROBE_OVERHEAD: f64 = 1.15;

/// With a time budget, the plan is made again from the real steps in this range (after the
/// allocator and caches have warmed up): the probe misjudged BERT-mini's step by 15 % either way
/// as the step's parts got faster, which left minutes of the budget unused or stopped the
/// schedule before it decayed. The warm-up, 5 % of the plan, is still under way at step 30 of a
/// plan over 600 steps, so the learning rate barely moves.
const REPLAN: std::ops::Range<usize> = 10..30;

/// The share of the remaining time the new plan fills: steps vary by a few percent.
const REPLAN_MARGIN: f64 = 0.97;

/// Seconds of one forward and backward pass on `batch`, timed on the second of two (the first
/// warms caches and the allocator). The model is not updated.
fn probe_step_seconds<T: TrainTask>(model: &T, batch: T::Batch) -> Result<f64> {
    let mut seconds = 0.0;
    for _ in 0..2 {
        let started = Instant::now();
        let output = model.forward_classification(batch.clone());
        let loss = output.loss.clone().into_scalar::<f32>();
        drop(output.loss.backward());
        if !loss.is_finite() {
            return Err(TrainError::NonFiniteStepLoss {
                value: loss,
                step: 0,
                batch: 0,
            });
        }
        seconds = started.elapsed().as_secs_f64();
    }
    Ok(seconds)
}

fn step_line(m: &StepMetrics, planned: usize) -> String {
    let mut line = format!(
        "step {}/{planned}: train loss {:.4} acc {:.4}",
        m.step, m.train_loss, m.train_accuracy
    );
    if let (Some(l), Some(a)) = (m.eval_loss, m.eval_accuracy) {
        line.push_str(&format!(
            " | held-out loss {l:.4} acc {a:.4} ppl {:.1}",
            l.exp()
        ));
    }
    line.push_str(&format!(
        " | lr {:.2e} | {:.0} tokens/s",
        m.lr,
        m.tokens as f64 / m.train_seconds.max(1e-9)
    ));
    line
}
