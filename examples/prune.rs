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
    /// Fractions of all attention heads to remove, one per level (or one for every level)
    /// [default: 0.25,0.5, with --ffn's; 0 with --ffn alone].
    #[arg(long, value_delimiter = ',', value_parser = fraction)]
    heads: Option<Vec<f64>>,
    /// Fractions of all feed-forward neurons to remove, one per level (or one for every level)
    /// [default: 0.25,0.5, with --heads'; 0 with --heads alone].
    #[arg(long, value_delimiter = ',', value_parser = fraction)]
    ffn: Option<Vec<f64>>,
    /// Where the pruned runs and summary.json go.
    #[arg(long, default_value = "runs/prune")]
    out: PathBuf,
    /// Alternating timing rounds on the test split (medians are reported).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..))]
    rounds: u64,
}

fn run(args: Args) -> Result<(), tinderbox::Error> {
    let default = || vec![0.25, 0.5];
    let (heads, ffn) = match (args.heads.clone(), args.ffn.clone()) {
        (None, None) => (default(), default()),
        (Some(h), None) => (h.clone(), vec![0.0; h.len()]),
        (None, Some(f)) => (vec![0.0; f.len()], f),
        (Some(h), Some(f)) => (h, f),
    };
    let levels: Vec<(f64, f64)> = match (heads.len(), ffn.len()) {
        (h, f) if h == f => heads.into_iter().zip(ffn).collect(),
        (_, 1) => heads.iter().map(|&h| (h, ffn[0])).collect(),
        (1, _) => ffn.iter().map(|&f| (heads[0], f)).collect(),
        (h, f) => {
            return Err(tinderbox::Error::Invalid(format!(
                "--heads gives {h} levels and --ffn {f}: give as many, or one of either for all"
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
