//! Train a small GPT yourself: causal-language-model pre-training on real English, then samples.
//!
//! With no arguments: a GPT-2 of 4 layers, width 256, 4 heads and 128 positions on the four npm
//! corpora of `DATA.md` (about 30 M characters) with a byte-level BPE of 8,192 tokens trained on
//! the training documents, batch 32, AdamW 1e-3, warm-up over 5 % of the steps that fit in 30
//! minutes, held-out loss and perplexity every 100 steps; then greedy continuations of held-out
//! text. The run directory holds a Hugging Face GPT-2 folder (`model/`) that `transformers`
//! loads and the generate example samples from.
//!
//! ```text
//! cargo run --release --example causal_lm                                   # 30 minutes
//! cargo run --release --example causal_lm -- --max-minutes 5 --out runs/gpt-5min
//! cargo run --release --example causal_lm -- --resume runs/causal_lm        # continue a stopped run
//! cargo run --release --example generate -- --model runs/causal_lm --prompt "The President said"
//! ```

use std::path::PathBuf;

use clap::Parser;
use tinderbox::cli::CausalLmArgs;
use tinderbox::recipes::causal_lm::{self as recipe, initial_weights_folder};

tinderbox::example_main!(Args, run);

#[derive(Parser, Debug)]
#[command(
    about = "Pre-train a small GPT-2 on English text and sample from it",
    version
)]
struct Args {
    #[command(flatten)]
    causal: CausalLmArgs,
    /// Run directory.
    #[arg(long, default_value = "runs/causal_lm")]
    out: PathBuf,
    /// Continue the run in DIR with its saved configuration and data.
    #[arg(long, value_name = "DIR")]
    resume: Option<PathBuf>,
    /// Stop after N steps of this process (checkpointed); --resume continues.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pause_after: Option<u64>,
    /// With --max-steps N: write the first N training batches and the held-out batches of the
    /// run in DIR to FILE (safetensors) and its starting weights to FILE.initial/, for
    /// benches/compare/causal_lm_torch.py; nothing is trained.
    #[arg(long, value_names = ["DIR", "FILE"], num_args = 2, requires = "max_steps", conflicts_with = "resume")]
    export_batches: Option<Vec<PathBuf>>,
}

fn run(args: Args) -> Result<(), tinderbox::Error> {
    if let (Some(paths), Some(steps)) = (&args.export_batches, args.causal.budget.max_steps) {
        let (dir, file) = (&paths[0], &paths[1]);
        recipe::export_batches(dir, steps as usize, file)?;
        println!(
            "wrote {steps} training batches and the held-out batches to {}, the starting weights to {}",
            file.display(),
            initial_weights_folder(file).display()
        );
        return Ok(());
    }
    let (config, out, resume) = match &args.resume {
        Some(dir) => (
            args.causal.resumed(recipe::load_run_config(dir)?),
            dir.clone(),
            true,
        ),
        None => (args.causal.to_config(), args.out.clone(), false),
    };
    let summary = recipe::pretrain(&config, &out, resume, args.pause_after.map(|n| n as usize))?;
    println!(
        "{} steps{}, {:.0} tokens/s, held-out loss {:.4}, perplexity {:.1}, next-token accuracy {:.4} ({:.0} s of training, backend {})",
        summary.steps,
        if summary.finished {
            ""
        } else {
            " (paused: --resume continues)"
        },
        summary.tokens_per_second,
        summary.heldout_loss,
        summary.perplexity,
        summary.heldout_accuracy,
        summary.train_seconds,
        summary.backend,
    );
    println!("greedy continuations of held-out text:");
    for sample in &summary.samples {
        println!("  {}", sample.prompt.trim());
        println!("    model: {}", sample.continuation.trim());
        println!("    text:  {}", sample.truth.trim());
    }
    println!(
        "run directory: {} (summary.json, metrics.csv, curves.png, model/ for generate --model {})",
        out.display(),
        out.display()
    );
    Ok(())
}
