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
//! cargo run --release --example text_classification -- --model bert --init runs/mlm
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use tinderbox::nn::transformer::LocalAttentionConfig;
use tinderbox::recipes::masked_lm::{
    self as recipe, FilledMask, MlmModelConfig, MlmModelKind, MlmRunConfig, SavedMlm,
    TokenizerChoice,
};
use tinderbox::train::LrSchedule;

#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: tinderbox::backend::Allocator = tinderbox::backend::Allocator;

#[derive(Parser, Debug)]
#[command(
    about = "Pre-train a masked language model on English text and fill in [MASK]s",
    version
)]
struct Args {
    /// bert (BertForMaskedLM) or lstm (the seeds' embedding 256 + LSTM 128 toy).
    #[arg(long, default_value = "bert")]
    model: MlmModelKind,
    /// Transformer layers [default: 4].
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    layers: Option<u64>,
    /// Hidden size (BERT) or LSTM units [default: 256; 128 for lstm].
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    hidden: Option<u64>,
    /// Attention heads [default: 4].
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    heads: Option<u64>,
    /// Feed-forward size [default: 4 x hidden].
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    ffn: Option<u64>,
    /// Dropout of BERT's hidden states and attention probabilities [default: 0; BERT's is 0.1].
    #[arg(long, value_parser = tinderbox::cli::fraction)]
    dropout: Option<f64>,
    /// Standard deviation of BERT's normal initialiser (its `initializer_range`) [default: 0.05;
    /// BERT's is 0.02].
    #[arg(long, value_parser = tinderbox::cli::positive)]
    initializer_range: Option<f64>,
    /// Tokens per packed sequence, [CLS] and [SEP] included.
    #[arg(long, default_value_t = 128, value_parser = clap::value_parser!(u64).range(3..))]
    max_len: u64,
    /// Sequences per batch.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u64).range(1..))]
    batch_size: u64,
    /// Peak learning rate (AdamW).
    #[arg(long, default_value_t = 5e-4, value_parser = tinderbox::cli::positive)]
    lr: f64,
    /// Warm-up steps [default: 5 % of the planned steps].
    #[arg(long)]
    warmup_steps: Option<usize>,
    /// Optimizer steps; the schedule decays to zero at the last.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    max_steps: Option<u64>,
    /// Minutes of training steps [default: 30 unless --max-steps is given].
    #[arg(long, value_parser = tinderbox::cli::positive)]
    max_minutes: Option<f64>,
    /// Evaluate on the held-out sequences every N steps.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..))]
    eval_every: u64,
    /// Checkpoint every N steps.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u64).range(1..))]
    checkpoint_every: u64,
    /// Average the gradients of N batches per step.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    grad_accumulation: u64,
    /// A text file or a folder of .txt files (one document each) instead of the English corpora.
    #[arg(long, value_name = "PATH")]
    corpus: Option<PathBuf>,
    /// Size of the WordPiece trained on the training documents.
    #[arg(long, default_value_t = 8192, value_parser = clap::value_parser!(u64).range(1..))]
    vocab_size: u64,
    /// Use this tokenizer.json (for example MiniLM's) instead of training one.
    #[arg(long, value_name = "PATH", conflicts_with = "vocab_size")]
    tokenizer: Option<PathBuf>,
    /// Mask whole words (all their ## pieces together).
    #[arg(long)]
    whole_word: bool,
    /// Share of the training tokens chosen for prediction (the held-out batches always use
    /// BERT's 0.15).
    #[arg(long, default_value_t = recipe::PRETRAINING_MASK_PROBABILITY, value_parser = tinderbox::cli::fraction)]
    mask_probability: f64,
    /// Start BERT's position table from random values, as BERT does, instead of sinusoids
    /// (implies --no-local-attention).
    #[arg(long)]
    random_positions: bool,
    /// Start every attention head from random values, as BERT does, instead of the first
    /// layer's heads on the neighbouring tokens.
    #[arg(long)]
    no_local_attention: bool,
    /// The neighbour each head of the local layers starts on, head h taking the h-th (cycling):
    /// -1 is the token before.
    #[arg(long, value_delimiter = ',', allow_hyphen_values = true, default_values_t = [-1i64, 1, -2, 2])]
    local_offsets: Vec<i64>,
    /// How many layers, from the first, start with local heads.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    local_layers: u64,
    /// How sharply the local heads start: the score of their offset above the others.
    #[arg(long, default_value_t = 6.0, value_parser = tinderbox::cli::positive)]
    local_peak_logit: f64,

    /// Seed for the weights, shuffling, masks and dropout.
    #[arg(long, default_value_t = 42)]
    seed: u64,
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

fn main() -> ExitCode {
    tinderbox::backend::keep_freed_memory();
    tinderbox::backend::flush_denormals();
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> Result<(), tinderbox::Error> {
    if let Some(dir) = &args.init {
        if let (Some(file), Some(steps)) = (&args.export_batches, args.max_steps) {
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
        let saved = SavedMlm::load(dir)?;
        for text in &args.fill {
            print_filled(&saved.fill(text, args.top as usize)?);
        }
        return Ok(());
    }
    let (config, out, resume) = match &args.resume {
        Some(dir) => {
            let mut config = recipe::load_run_config(dir)?;
            if args.model != config.model.kind() {
                config.model = MlmModelConfig::default_for(args.model);
            }
            apply_size_flags(&args, &mut config.model);
            (config, dir.clone(), true)
        }
        None => (config_from(&args), args.out.clone(), false),
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
    for filled in &summary.fill_mask {
        print_filled(filled);
    }
    if !args.fill.is_empty() {
        let saved = SavedMlm::load(&out)?;
        for text in &args.fill {
            print_filled(&saved.fill(text, args.top as usize)?);
        }
    }
    println!(
        "run directory: {} (summary.json, metrics.csv, curves.png{})",
        out.display(),
        if config.model.kind() == MlmModelKind::Bert {
            ", model/ for text_classification --model bert --init"
        } else {
            ""
        }
    );
    Ok(())
}

fn config_from(args: &Args) -> MlmRunConfig {
    let mut config = MlmRunConfig::new(args.model);
    apply_size_flags(args, &mut config.model);
    if let MlmModelConfig::Bert(bert) = &mut config.model {
        bert.max_position_embeddings = bert.max_position_embeddings.max(args.max_len as usize);
        if let Some(p) = args.dropout {
            bert.hidden_dropout_prob = p;
            bert.attention_probs_dropout_prob = p;
        }
        if let Some(std) = args.initializer_range {
            bert.initializer_range = std;
        }
    }
    config.corpus = args.corpus.clone();
    config.tokenizer = match &args.tokenizer {
        Some(path) => TokenizerChoice::File { path: path.clone() },
        None => TokenizerChoice::Train {
            vocab_size: args.vocab_size as usize,
        },
    };
    config.max_len = args.max_len as usize;
    config.whole_word_masking = args.whole_word;
    config.train_mask_probability = args.mask_probability;
    config.sinusoidal_positions = !args.random_positions;
    config.local_attention =
        (!args.random_positions && !args.no_local_attention).then(|| LocalAttentionConfig {
            offsets: args.local_offsets.clone(),
            layers: args.local_layers as usize,
            peak_logit: args.local_peak_logit,
        });
    config.train.batch_size = args.batch_size as usize;
    config.train.lr = args.lr;
    config.train.seed = args.seed;
    config.train.grad_accumulation = args.grad_accumulation as usize;
    if let Some(steps) = args.warmup_steps {
        config.train.schedule = LrSchedule::WarmupLinear {
            warmup_ratio: 0.0,
            warmup_steps: Some(steps),
        };
    }
    config.budget.max_steps = args.max_steps.map(|v| v as usize);
    config.budget.max_minutes = match (args.max_minutes, args.max_steps) {
        (Some(m), _) => Some(m),
        (None, Some(_)) => None,
        (None, None) => Some(30.0),
    };
    config.budget.eval_every = args.eval_every as usize;
    config.budget.checkpoint_every = args.checkpoint_every as usize;
    config
}

/// Applies the size options that were given (a resumed run checks them against its own).
fn apply_size_flags(args: &Args, model: &mut MlmModelConfig) {
    match model {
        MlmModelConfig::Bert(bert) => {
            if let Some(v) = args.layers {
                bert.num_hidden_layers = v as usize;
            }
            if let Some(v) = args.hidden {
                bert.hidden_size = v as usize;
                bert.intermediate_size = 4 * v as usize;
            }
            if let Some(v) = args.heads {
                bert.num_attention_heads = v as usize;
            }
            if let Some(v) = args.ffn {
                bert.intermediate_size = v as usize;
            }
        }
        MlmModelConfig::Lstm(lstm) => {
            if let Some(v) = args.hidden {
                lstm.hidden = v as usize;
            }
        }
    }
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
