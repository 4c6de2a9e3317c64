//! Learning curves: test accuracy against labelled examples for several starts of one
//! classifier, each point over seeds on one fixed split, then a table and a figure
//! (docs/pretraining.md). An arm `NAME=DIR` fine-tunes the pre-training run (or model folder)
//! DIR; an arm `NAME` trains `--model` from scratch (with `--tokenizer DIR`: the same
//! vocabulary as the pre-trained arms). Finished points are read, not run again.
//!
//! ```text
//! cargo run --release --example learning_curve -- --dataset bbc-news \
//!     --arm scratch --model bert --tokenizer runs/mlm --arm pre-trained=runs/mlm \
//!     --sizes 100,300,1000 --seeds 1,2,3 --epochs 3 --epoch-examples 3200
//! cargo run --release --example learning_curve -- --report-only --arm scratch --arm pre-trained
//! ```

use std::path::PathBuf;

use clap::Parser;
use tinderbox::cli::TextArgs;
use tinderbox::recipes::learning_curve::report::{FIGURE_FILE, write_report};
use tinderbox::recipes::learning_curve::{CurveArm, CurvePlan, Shard, run_learning_curve};

tinderbox::example_main!(Args, run);

#[derive(Parser, Debug)]
#[command(
    about = "Test accuracy against labelled examples, scratch against pre-trained starts",
    version
)]
struct Args {
    /// The runs' settings (dataset, --model and --tokenizer of the scratch arms, --lr, --epochs,
    /// --epoch-examples, --split-seed [default here: 42], ...).
    #[command(flatten)]
    text: TextArgs,
    /// An arm: NAME=DIR fine-tunes the BERT of DIR (--init), NAME trains from scratch.
    #[arg(long = "arm", value_name = "NAME[=DIR]", required = true)]
    arms: Vec<String>,
    /// Training examples per point; `all` is the whole training split.
    #[arg(long, value_delimiter = ',', default_value = "100,300,1000")]
    sizes: Vec<String>,
    /// Seeds of each point.
    #[arg(long, value_delimiter = ',', default_value = "1,2,3")]
    seeds: Vec<u64>,
    /// Run only the points I, I+N, I+2N, ... (as I/N), to share a curve between processes.
    #[arg(long, value_name = "I/N", value_parser = shard)]
    shard: Option<Shard>,
    /// Only gather the finished points into the table and figure.
    #[arg(long)]
    report_only: bool,
    /// The curve's folder (DATASET/ARM/POINT run directories, the table and the figure).
    #[arg(long, default_value = "runs/curve")]
    out: PathBuf,
}

fn shard(s: &str) -> Result<Shard, String> {
    let parse = |(i, n): (&str, &str)| Some((i.parse().ok()?, n.parse().ok()?));
    match s.split_once('/').and_then(parse) {
        Some((index, count)) if index < count => Ok(Shard { index, count }),
        _ => Err(format!("{s:?}: expected I/N with I < N, e.g. 0/2")),
    }
}

fn run(args: Args) -> Result<(), tinderbox::Error> {
    let names: Vec<String> = args.arms.iter().map(|a| arm_name(a).to_string()).collect();
    if !args.report_only {
        let plan = CurvePlan {
            arms: args
                .arms
                .iter()
                .map(|arm| curve_arm(arm, &args.text))
                .collect::<Result<_, _>>()?,
            sizes: args
                .sizes
                .iter()
                .map(|s| size(s))
                .collect::<Result<_, _>>()?,
            seeds: args.seeds.clone(),
        };
        let shard = args.shard.unwrap_or(Shard::ALL);
        run_learning_curve(&plan, &args.out, shard, |r| {
            println!(
                "{} {} {} labels seed {}: test accuracy {:.4} ({:.0} s)",
                r.dataset, r.arm, r.labels, r.seed, r.test_accuracy, r.train_seconds
            );
        })?;
    }
    let rows = write_report(&args.out, &names)?;
    print!(
        "{}",
        tinderbox::recipes::learning_curve::report::markdown_table(&rows, &names)
    );
    println!(
        "\n{} (curve.csv, curve.md, summary.json, {FIGURE_FILE})",
        args.out.display()
    );
    Ok(())
}

fn arm_name(arm: &str) -> &str {
    arm.split_once('=').map_or(arm, |(name, _)| name)
}

/// The arm's run settings: `--init DIR` for `NAME=DIR`, else the scratch model as given.
fn curve_arm(arm: &str, text: &TextArgs) -> Result<CurveArm, tinderbox::Error> {
    let mut text = text.clone();
    text.split_seed = Some(text.split_seed.unwrap_or(42));
    if let Some((_, dir)) = arm.split_once('=') {
        text.init = Some(PathBuf::from(dir));
        text.model = None;
        text.tokenizer = None;
    }
    Ok(CurveArm {
        name: arm_name(arm).to_string(),
        config: text.to_config()?,
    })
}

fn size(s: &str) -> Result<Option<usize>, tinderbox::Error> {
    match s {
        "all" => Ok(None),
        n => n.parse().map(Some).map_err(|_| {
            tinderbox::Error::Invalid(format!("--sizes: {n:?} is neither a number nor `all`"))
        }),
    }
}
