//! Structured pruning of a fine-tuned BERT classifier (a `text_classification --model minilm`
//! run): attention heads and feed-forward neurons scored on the run's validation split
//! (Michel et al. 2019), the least important removed at each level, each pruned model saved as a
//! run and timed against the unpruned one on the test split.
//!
//! ```text
//! cargo run --release --example text_classification -- --model minilm --out runs/rt-minilm
//! cargo run --release --example prune -- --run runs/rt-minilm --heads 0.25,0.5 --ffn 0.25,0.5
//! cargo run --release --example text_classification -- --predict runs/prune/heads-0.50-ffn-0.50 "A joy."
//! ```
//!
//! Unstructured (magnitude) pruning happens while training instead:
//! `text_classification --model minilm --sparsity 0.5`.

use std::path::PathBuf;

use clap::Parser;
use tinderbox::cli::fraction;
use tinderbox::recipes::text_classification as recipe;

tinderbox::example_main!(Args, run);

#[derive(Parser, Debug)]
#[command(
    about = "Remove the least important heads and FFN neurons of a fine-tuned BERT run",
    version
)]
struct Args {
    /// The text_classification run to prune (a BERT encoder: minilm, bert, transformer).
    #[arg(long, value_name = "DIR")]
    run: PathBuf,
    /// Fractions of all attention heads to remove, one per level.
    #[arg(long, value_delimiter = ',', default_values = ["0.25", "0.5"], value_parser = fraction)]
    heads: Vec<f64>,
    /// Fractions of all feed-forward neurons to remove, one per level (or one for every level).
    #[arg(long, value_delimiter = ',', default_values = ["0.25", "0.5"], value_parser = fraction)]
    ffn: Vec<f64>,
    /// Where the pruned runs and summary.json go.
    #[arg(long, default_value = "runs/prune")]
    out: PathBuf,
    /// Alternating timing rounds on the test split (medians are reported).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..))]
    rounds: u64,
}

fn run(args: Args) -> Result<(), tinderbox::Error> {
    let levels: Vec<(f64, f64)> = match (args.heads.len(), args.ffn.len()) {
        (h, f) if h == f => args.heads.iter().copied().zip(args.ffn.clone()).collect(),
        (_, 1) => args.heads.iter().map(|&h| (h, args.ffn[0])).collect(),
        (h, f) => {
            return Err(tinderbox::Error::Invalid(format!(
                "--heads gives {h} levels and --ffn {f}: give as many, or one --ffn for all"
            )));
        }
    };
    let report = recipe::prune_sweep(&args.run, &levels, &args.out, args.rounds as usize)?;
    println!(
        "importance on the validation split: {:.1} s; test split timed in {} alternating rounds",
        report.importance_seconds, report.rounds
    );
    println!(
        "{:>6} {:>6} {:>18} {:>12} {:>10} {:>9} {:>8} {:>8}",
        "heads", "ffn", "heads/layer", "layer params", "model MB", "accuracy", "s", "speedup"
    );
    for m in &report.models {
        let heads: Vec<String> = m.heads.iter().map(usize::to_string).collect();
        println!(
            "{:>6.2} {:>6.2} {:>18} {:>12} {:>10.1} {:>9.4} {:>8.2} {:>7.2}x",
            m.heads_ratio,
            m.ffn_ratio,
            heads.join(","),
            m.layer_parameters,
            m.model_bytes as f64 / 1e6,
            m.test_accuracy,
            m.seconds,
            m.speedup
        );
    }
    println!("runs and summary.json in {}", args.out.display());
    Ok(())
}
