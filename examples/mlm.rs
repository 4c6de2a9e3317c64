//! Masked-language-model pre-training on real English, then fill-mask.
//!
//! With no arguments: a BERT-mini (4 layers, hidden 256, 4 heads, FFN 1024, 128 positions) on
//! the four npm corpora of `DATA.md` (about 30 M characters) with a WordPiece of 8,192 tokens
//! trained on the training documents, batch 32, AdamW 5e-4, warm-up over 5 % of the steps that
//! fit in 30 minutes, held-out masked accuracy every 100 steps; then fill-mask on held-out text.
//! Tuned for a short run (docs/pretraining.md): 40 % of the training tokens masked (held-out
//! batches keep BERT's 15 %), no dropout, weights drawn with standard deviation 0.05, and the
//! first layer's four heads started on the tokens at offsets -1, +1, -2 and +2 (a Fourier
//! position table and rotated query/key projections; `--no-local-attention` turns it off).
//!
//! ```text
//! cargo run --release --example mlm                                   # 30 minutes of BERT-mini
//! cargo run --release --example mlm -- --max-minutes 5 --out runs/mlm-5min
//! cargo run --release --example mlm -- --model lstm                   # the seeds' LSTM toy
//! cargo run --release --example mlm -- --fill "The president spoke to [MASK] about the economy." --init runs/mlm
//! cargo run --release --example mlm -- --resume runs/mlm              # continue a stopped run
//! cargo run --release --example mlm -- --continue-from runs/mlm --domain bbc-news --lr 1e-4 --max-minutes 10 --out runs/mlm-bbc
//! cargo run --release --example text_classification -- --model bert --init runs/mlm
//! ```

use std::path::PathBuf;

use clap::Parser;
use tinderbox::cli::MlmArgs;
use tinderbox::recipes::masked_lm::{self as recipe, FilledMask, MlmModelKind, SavedMlm};

tinderbox::example_main!(Args, run);

#[derive(Parser, Debug)]
#[command(
    about = "Pre-train a masked language model on English text and fill in [MASK]s",
    version
)]
struct Args {
    #[command(flatten)]
    mlm: MlmArgs,
    /// Run directory.
    #[arg(long, default_value = "runs/mlm")]
    out: PathBuf,
    /// Continue the run in DIR with its saved configuration and data.
    #[arg(long, value_name = "DIR", conflicts_with = "init")]
    resume: Option<PathBuf>,
    /// Stop after N steps of this process (checkpointed); --resume continues.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pause_after: Option<u64>,
    /// Text with [MASK]s to fill (repeatable): after training, or with --init without training.
    #[arg(long, value_name = "TEXT")]
    fill: Vec<String>,
    /// The saved run that --fill (or --export-batches) uses instead of training.
    #[arg(long, value_name = "DIR")]
    init: Option<PathBuf>,
    /// With --init DIR and --max-steps N: write the run's first N training batches and its
    /// held-out batches to FILE (safetensors), for benches/compare/mlm_accuracy_torch.py.
    #[arg(long, value_name = "FILE", requires_all = ["init", "max_steps"])]
    export_batches: Option<PathBuf>,
    /// Candidates shown per [MASK].
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..))]
    top: u64,
}

fn run(args: Args) -> Result<(), tinderbox::Error> {
    if let Some(dir) = &args.init {
        if let (Some(file), Some(steps)) = (&args.export_batches, args.mlm.budget.max_steps) {
            recipe::export_batches(dir, steps as usize, file)?;
            println!(
                "wrote {steps} training batches and the held-out batches to {}",
                file.display()
            );
            return Ok(());
        }
        if args.fill.is_empty() {
            return Err(tinderbox::Error::Invalid(
                "--init DIR needs --fill TEXT (or --export-batches FILE)".into(),
            ));
        }
        return fill(dir, &args.fill, args.top);
    }
    let (config, out, resume) = match &args.resume {
        Some(dir) => (
            args.mlm.resumed(recipe::load_run_config(dir)?),
            dir.clone(),
            true,
        ),
        None => {
            let mut config = args.mlm.to_config();
            if let Some(dir) = &args.mlm.continue_from {
                config.continue_pretraining(dir)?;
            }
            (config, args.out.clone(), false)
        }
    };
    let summary = recipe::pretrain(&config, &out, resume, args.pause_after.map(|n| n as usize))?;
    println!(
        "{} steps{}, {:.0} tokens/s, held-out masked accuracy {:.4}, loss {:.4}, perplexity {:.1} ({:.0} s of training, backend {})",
        summary.steps,
        if summary.finished {
            ""
        } else {
            " (paused: --resume continues)"
        },
        summary.tokens_per_second,
        summary.heldout_masked_accuracy,
        summary.heldout_loss,
        summary.perplexity,
        summary.train_seconds,
        summary.backend,
    );
    println!("fill-mask on held-out text:");
    summary.fill_mask.iter().for_each(print_filled);
    if !args.fill.is_empty() {
        fill(&out, &args.fill, args.top)?;
    }
    let bert = config.model.kind() == MlmModelKind::Bert;
    println!(
        "run directory: {} (summary.json, metrics.csv, curves.png{})",
        out.display(),
        if bert {
            ", model/ for text_classification --model bert --init"
        } else {
            ""
        }
    );
    Ok(())
}

fn fill(dir: &std::path::Path, texts: &[String], top: u64) -> Result<(), tinderbox::Error> {
    let saved = SavedMlm::load(dir)?;
    for text in texts {
        let filled = saved.fill(text, top as usize)?;
        if let Some(tokens) = filled.truncated_from {
            eprintln!(
                "warning: the text has {tokens} tokens; only the model's first ones are read"
            );
        }
        print_filled(&filled);
    }
    Ok(())
}

fn print_filled(filled: &FilledMask) {
    match &filled.truth {
        Some(truth) => println!("  {}   (hidden: {truth})", filled.text),
        None => println!("  {}", filled.text),
    }
    for (i, candidates) in filled.candidates.iter().enumerate() {
        let shown: Vec<String> = candidates
            .iter()
            .map(|c| format!("{} {:.3}", c.token, c.probability))
            .collect();
        println!("    [MASK] {}: {}", i + 1, shown.join(" | "));
    }
}
