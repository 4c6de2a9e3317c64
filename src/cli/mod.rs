//! Command-line options shared by the examples: every training setting of
//! [`TrainConfig`](tinderbox_train::TrainConfig), each optional so that an example keeps its own
//! defaults and a resumed run keeps its saved ones; the options of each program, turned into its
//! run configuration here rather than in the example; and the start every example shares
//! ([`example_main!`](crate::example_main)).

mod causal_lm;
mod explain;
mod generate;
mod mlm;
mod serve;
mod text;

pub use causal_lm::CausalLmArgs;
pub use clap;
pub use explain::ExplainArgs;
pub use generate::{DEFAULT_PROMPT, GenerateArgs};
pub use mlm::MlmArgs;
pub use serve::ServeArgs;
pub use text::TextArgs;

use std::process::ExitCode;

use clap::{Args, ValueEnum};
use tinderbox_data::text::TextSource;
use tinderbox_train::{
    EarlyStopping, LrSchedule, Monitor, OptimizerConfig, OptimizerKind, StepBudget, TrainConfig,
};

/// The learning-rate schedules, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScheduleName {
    /// The base rate throughout.
    Constant,
    /// Multiply by `--gamma` every `--step-epochs` epochs.
    Step,
    /// Multiply by `--gamma` per epoch, smoothly.
    Exponential,
    /// Warm up over `--warmup-ratio` of the steps, then decay linearly to 0.
    WarmupLinear,
    /// Warm up over `--warmup-ratio` of the steps, then a half cosine to 0.
    WarmupCosine,
}

/// Training options of an epoch loop; each one given replaces the example's default.
#[derive(Debug, Clone, Default, Args)]
pub struct TrainArgs {
    /// Passes over the training set.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub epochs: Option<u64>,
    /// Stop after N epochs without improvement of the validation loss.
    #[arg(long)]
    pub patience: Option<usize>,
    /// Keep the last epoch's weights instead of the best validation epoch's.
    #[arg(long)]
    pub keep_last: bool,
    /// Epochs between drops of the step schedule.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    pub step_epochs: u64,
    /// Optimizer, schedule, batch and seed.
    #[command(flatten)]
    pub optim: OptimArgs,
}

/// How long a step-based (pre-training) run trains, its warm-up, and how often it evaluates and
/// checkpoints: the options the masked-LM and causal-LM programs share.
#[derive(Debug, Clone, Args)]
pub struct StepBudgetArgs {
    /// Warm-up steps [default: 5 % of the planned steps].
    #[arg(long)]
    pub warmup_steps: Option<usize>,
    /// Optimizer steps; the schedule decays to zero at the last.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_steps: Option<u64>,
    /// Minutes of training steps [default: 30 unless --max-steps is given].
    #[arg(long, value_parser = positive)]
    pub max_minutes: Option<f64>,
    /// Evaluate on the held-out sequences every N steps.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..))]
    pub eval_every: u64,
    /// Checkpoint every N steps.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u64).range(1..))]
    pub checkpoint_every: u64,
}

impl StepBudgetArgs {
    /// Sets `budget` (30 minutes when neither steps nor minutes are given) and, with
    /// `--warmup-steps`, a warm-up of that many steps in `train`'s schedule.
    pub fn apply(&self, budget: &mut StepBudget, train: &mut TrainConfig) {
        if let Some(steps) = self.warmup_steps {
            train.schedule = LrSchedule::WarmupLinear {
                warmup_ratio: 0.0,
                warmup_steps: Some(steps),
            };
        }
        budget.max_steps = self.max_steps.map(|v| v as usize);
        budget.max_minutes = match (self.max_minutes, self.max_steps) {
            (Some(m), _) => Some(m),
            (None, Some(_)) => None,
            (None, None) => Some(30.0),
        };
        budget.eval_every = self.eval_every as usize;
        budget.checkpoint_every = self.checkpoint_every as usize;
    }
}

/// Optimizer, schedule, batch size and seed: the options every training loop shares (the
/// step-based pre-training loop too); each one given replaces the program's default.
#[derive(Debug, Clone, Default, Args)]
pub struct OptimArgs {
    /// Examples per batch.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub batch_size: Option<u64>,
    /// Base learning rate.
    #[arg(long, value_parser = positive)]
    pub lr: Option<f64>,
    /// adam, adamw or sgd (momentum 0.9).
    #[arg(long)]
    pub optimizer: Option<OptimizerKind>,
    /// Weight decay (decoupled for AdamW, added to the gradient for Adam and SGD).
    #[arg(long, value_parser = non_negative)]
    pub weight_decay: Option<f64>,
    /// Learning-rate schedule.
    #[arg(long, value_enum)]
    pub schedule: Option<ScheduleName>,
    /// Warm-up as a fraction of all steps, for the warmup-* schedules.
    #[arg(long, default_value_t = 0.0, value_parser = fraction)]
    pub warmup_ratio: f64,
    /// Decay factor of the step and exponential schedules.
    #[arg(long, default_value_t = 0.5, value_parser = positive)]
    pub gamma: f64,
    /// Clip the global gradient norm to this value.
    #[arg(long, value_parser = positive)]
    pub clip_grad_norm: Option<f64>,
    /// Average the gradients of N batches per optimizer step.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub grad_accumulation: Option<u64>,
    /// L1 penalty on weight matrices and kernels.
    #[arg(long, value_parser = non_negative)]
    pub l1: Option<f64>,
    /// L2 penalty on weight matrices and kernels.
    #[arg(long, value_parser = non_negative)]
    pub l2: Option<f64>,
    /// Seed for initial weights, shuffling and dropout.
    #[arg(long)]
    pub seed: Option<u64>,
}

impl TrainArgs {
    /// Applies the options that were given to `config`.
    pub fn apply(&self, config: &mut TrainConfig) {
        if let Some(v) = self.epochs {
            config.epochs = v as usize;
        }
        self.optim.apply(config, self.step_epochs);
        if let Some(patience) = self.patience {
            config.early_stopping = Some(EarlyStopping {
                monitor: Monitor::ValidLoss,
                patience,
                min_delta: 0.0,
            });
        }
        if self.keep_last {
            config.restore_best = false;
        }
    }
}

impl OptimArgs {
    /// Applies the options that were given to `config`; `step_epochs` is the step schedule's
    /// period, for loops that count epochs.
    pub fn apply(&self, config: &mut TrainConfig, step_epochs: u64) {
        if let Some(v) = self.batch_size {
            config.batch_size = v as usize;
        }
        if let Some(v) = self.lr {
            config.lr = v;
        }
        if let Some(kind) = self.optimizer {
            config.optimizer = OptimizerConfig::new(kind);
        }
        if let Some(v) = self.weight_decay {
            config.optimizer.weight_decay = v as f32;
        }
        if let Some(name) = self.schedule {
            let warmup_ratio = self.warmup_ratio;
            config.schedule = match name {
                ScheduleName::Constant => LrSchedule::Constant,
                ScheduleName::Step => LrSchedule::Step {
                    every_epochs: step_epochs as usize,
                    gamma: self.gamma,
                },
                ScheduleName::Exponential => LrSchedule::Exponential { gamma: self.gamma },
                ScheduleName::WarmupLinear => LrSchedule::WarmupLinear {
                    warmup_ratio,
                    warmup_steps: None,
                },
                ScheduleName::WarmupCosine => LrSchedule::WarmupCosine {
                    warmup_ratio,
                    warmup_steps: None,
                    min_lr_ratio: 0.0,
                },
            };
        }
        if let Some(v) = self.clip_grad_norm {
            config.clip_grad_norm = Some(v as f32);
        }
        if let Some(v) = self.grad_accumulation {
            config.grad_accumulation = v as usize;
        }
        if let Some(v) = self.l1 {
            config.l1 = v;
        }
        if let Some(v) = self.l2 {
            config.l2 = v;
        }
        if let Some(v) = self.seed {
            config.seed = v;
        }
    }
}

/// What every example does around its `run`: keep freed memory for the next allocation
/// ([`keep_freed_memory`](crate::backend::keep_freed_memory)), flush subnormals
/// ([`flush_denormals`](crate::backend::flush_denormals)), parse the arguments, and print an
/// error as `error: ...` with a failing exit status.
pub fn run_main<A, E: std::fmt::Display>(
    parse: impl FnOnce() -> A,
    run: impl FnOnce(A) -> Result<(), E>,
) -> ExitCode {
    crate::backend::keep_freed_memory();
    crate::backend::flush_denormals();
    match run(parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The start of an example of this package: the allocator (feature `mimalloc`) and a `main`
/// that parses the clap arguments `$args` and calls `$run` through [`run_main`].
///
/// ```ignore
/// tinderbox::example_main!(Args, run);
/// fn run(args: Args) -> Result<(), tinderbox::Error> { Ok(()) }
/// ```
#[macro_export]
macro_rules! example_main {
    ($args:ty, $run:path) => {
        #[cfg(feature = "mimalloc")]
        #[global_allocator]
        static ALLOCATOR: $crate::backend::Allocator = $crate::backend::Allocator;

        fn main() -> std::process::ExitCode {
            $crate::cli::run_main(<$args as $crate::cli::clap::Parser>::parse, $run)
        }
    };
}

/// Parses `--dataset NAME [PATH]`: `rotten-tomatoes`, `bbc-news`, `tweets`, `csv PATH` (a .csv,
/// .tsv or .jsonl file with the given columns) or `folder PATH`.
pub fn text_source(
    values: &[String],
    text_col: &str,
    label_col: &str,
) -> Result<TextSource, String> {
    let name = values
        .first()
        .map(String::as_str)
        .unwrap_or("rotten-tomatoes");
    let path = || {
        values
            .get(1)
            .map(std::path::PathBuf::from)
            .ok_or(format!("--dataset {name} needs a PATH"))
    };
    Ok(match name {
        "rotten-tomatoes" => TextSource::RottenTomatoes,
        "bbc-news" => TextSource::BbcNews,
        "tweets" => TextSource::Tweets,
        "csv" => TextSource::File {
            path: path()?,
            text_col: text_col.to_string(),
            label_col: label_col.to_string(),
        },
        "folder" => TextSource::Folder { path: path()? },
        other => {
            return Err(format!(
                "unknown dataset {other:?}: expected rotten-tomatoes, bbc-news, tweets, csv PATH or folder PATH"
            ));
        }
    })
}

/// clap value parser: a finite number > 0.
pub fn positive(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v > 0.0 && v.is_finite() => Ok(v),
        _ => Err(format!("{s} is not a positive number")),
    }
}

fn non_negative(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v >= 0.0 && v.is_finite() => Ok(v),
        _ => Err(format!("{s} is not a number >= 0")),
    }
}

/// clap value parser: a number in [0, 1].
pub fn unit_interval(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if (0.0..=1.0).contains(&v) => Ok(v),
        _ => Err(format!("{s} is not a number in [0, 1]")),
    }
}

/// clap value parser: a number in [0, 1).
pub fn fraction(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if (0.0..1.0).contains(&v) => Ok(v),
        _ => Err(format!("{s} is not a fraction in [0, 1)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        train: TrainArgs,
    }

    #[test]
    fn given_options_replace_defaults_and_others_stay() {
        let cli = Cli::try_parse_from([
            "x",
            "--lr",
            "0.01",
            "--schedule",
            "warmup-cosine",
            "--warmup-ratio",
            "0.1",
            "--optimizer",
            "sgd",
            "--patience",
            "2",
        ])
        .unwrap();
        let mut config = TrainConfig::new(1e-3).with_epochs(5);
        cli.train.apply(&mut config);
        assert_eq!(config.lr, 0.01);
        assert_eq!(config.epochs, 5);
        assert_eq!(config.optimizer.kind, OptimizerKind::Sgd);
        assert!(config.early_stopping.is_some());
        assert!(
            matches!(config.schedule, LrSchedule::WarmupCosine { warmup_ratio, .. } if warmup_ratio == 0.1)
        );
        assert_eq!(config.early_stopping.unwrap().patience, 2);
    }

    #[test]
    fn dataset_names_and_paths() {
        let v = |items: &[&str]| items.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            text_source(&v(&["bbc-news"]), "t", "l").unwrap(),
            TextSource::BbcNews
        );
        let file = text_source(&v(&["csv", "r.tsv"]), "review", "stars").unwrap();
        assert_eq!(
            file,
            TextSource::File {
                path: "r.tsv".into(),
                text_col: "review".into(),
                label_col: "stars".into()
            }
        );
        assert!(
            text_source(&v(&["csv"]), "t", "l")
                .unwrap_err()
                .contains("needs a PATH")
        );
        assert!(
            text_source(&v(&["imdb"]), "t", "l")
                .unwrap_err()
                .contains("unknown dataset")
        );
    }

    #[test]
    fn out_of_range_values_are_refused_by_the_parser() {
        for bad in [
            ["x", "--batch-size", "0"],
            ["x", "--lr", "-1"],
            ["x", "--lr", "nan"],
            ["x", "--epochs", "0"],
            ["x", "--warmup-ratio", "1.5"],
            ["x", "--optimizer", "rmsprop"],
        ] {
            assert!(Cli::try_parse_from(bad).is_err(), "{bad:?} was accepted");
        }
    }
}
