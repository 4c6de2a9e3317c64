//! The seed review classifier: Keras-style word tokenizer, `pad_sequences(maxlen=100)`,
//! Embedding(10000, 32), LSTM(32, dropout 0.2, recurrent dropout 0.2), Dense(1, sigmoid),
//! Adam 1e-3, batch 32, 10 epochs, on a seeded, stratified 80/10/10 split. BBC News defaults
//! to a bag of embeddings over 500 tokens (see `TextRunConfig::for_source`).
//!
//! ```text
//! cargo run --release --example text_classification                       # Rotten Tomatoes
//! cargo run --release --example text_classification -- --dataset bbc-news
//! cargo run --release --example text_classification -- --model minilm       # fine-tune MiniLM
//! cargo run --release --example text_classification -- --init runs/mlm      # our own BERT-mini
//! cargo run --release --example text_classification -- --dataset csv reviews.tsv --text-col review --label-col stars
//! cargo run --release --example text_classification -- --predict runs/text_classification "A joy from start to end."
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use tinderbox::cli::TrainArgs;
use tinderbox::data::text::TextSource;
use tinderbox::recipes::text_classification::{
    self as recipe, BertEncoderConfig, TextEncoderConfig, TextModel, TextRunConfig,
};
use tinderbox::tokenize::Side;

#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: tinderbox::backend::Allocator = tinderbox::backend::Allocator;

#[derive(Parser, Debug)]
#[command(
    about = "Train the seed text classifier and report test accuracy and macro-F1",
    version
)]
struct Args {
    /// rotten-tomatoes, bbc-news, tweets, `csv PATH` (.csv, .tsv or .jsonl) or `folder PATH`.
    #[arg(long, num_args = 1..=2, value_names = ["NAME", "PATH"], default_values = ["rotten-tomatoes"])]
    dataset: Vec<String>,
    /// The column (or JSON field) with the text, for `--dataset csv`.
    #[arg(long, default_value = "text")]
    text_col: String,
    /// The column (or JSON field) with the label, for `--dataset csv`.
    #[arg(long, default_value = "label")]
    label_col: String,
    /// lstm (the seed), bow (averaged word embeddings, fastText-style), minilm (fine-tune the
    /// pretrained all-MiniLM-L6-v2), transformer (a small encoder from scratch) or bert
    /// (BERT-mini: from scratch, or from a pre-training run with --init) [default: lstm; bow
    /// for bbc-news].
    #[arg(long)]
    model: Option<TextModel>,
    /// Fine-tune the BERT of a pre-training run (`examples/mlm.rs --out DIR`) or of a Hugging
    /// Face model folder, with its tokenizer (implies --model bert).
    #[arg(long, value_name = "DIR", conflicts_with_all = ["vocab_size", "resume", "predict"])]
    init: Option<PathBuf>,
    /// Tokens kept per text [default: 100; 500 for bbc-news; 128 for minilm and transformer].
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    max_len: Option<u64>,
    /// Vocabulary size (Keras' num_words; the WordPiece size for transformer) [default: 10000;
    /// 8000 for transformer; minilm keeps its own].
    #[arg(long, value_parser = clap::value_parser!(u64).range(3..))]
    vocab_size: Option<u64>,
    /// Where padding goes: pre (Keras' default) or post.
    #[arg(long)]
    padding: Option<Side>,
    /// Which end truncation cuts: pre (Keras' default, keeps the end) or post [default: pre;
    /// post for bbc-news].
    #[arg(long)]
    truncating: Option<Side>,
    /// Pad each batch only to its longest text and batch texts of similar length together.
    #[arg(long)]
    bucket: bool,
    /// Run directory.
    #[arg(long, default_value = "runs/text_classification")]
    out: PathBuf,
    /// Continue the run in DIR with its saved configuration, split and tokenizer.
    #[arg(long, value_name = "DIR", conflicts_with = "predict")]
    resume: Option<PathBuf>,
    /// Classify the TEXTS with the model saved in DIR.
    #[arg(long, value_name = "DIR")]
    predict: Option<PathBuf>,
    /// Score the model saved in DIR on every text of `--dataset` (its labels must be the run's).
    #[arg(long, value_name = "DIR", conflicts_with_all = ["predict", "resume"])]
    evaluate: Option<PathBuf>,
    /// Texts for `--predict`.
    #[arg(requires = "predict")]
    texts: Vec<String>,
    #[command(flatten)]
    train: TrainArgs,
}

fn source(args: &Args) -> Result<TextSource, tinderbox::Error> {
    tinderbox::cli::text_source(&args.dataset, &args.text_col, &args.label_col)
        .map_err(tinderbox::Error::Invalid)
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
    if let Some(dir) = &args.predict {
        for p in recipe::predict(dir, &args.texts)? {
            let probs: Vec<String> = p
                .probabilities
                .iter()
                .map(|(c, v)| format!("{c} {v:.4}"))
                .collect();
            println!("{} <- {:?} ({})", p.label, p.text, probs.join(", "));
        }
        return Ok(());
    }
    if let Some(dir) = &args.evaluate {
        let source = source(&args)?;
        let e = recipe::evaluate_run(dir, &source)?;
        println!(
            "{}: accuracy {:.4}, macro-F1 {:.4}",
            e.dataset, e.accuracy, e.macro_f1
        );
        println!("{}", serde_json::to_string(&e).unwrap_or_default());
        return Ok(());
    }
    let (config, out, resume) = match &args.resume {
        Some(dir) => {
            let mut config = recipe::load_run_config(dir)?;
            if let Some(epochs) = args.train.epochs {
                config.train.epochs = epochs as usize;
            }
            (config, dir.clone(), true)
        }
        None => {
            let source = source(&args)?;
            let model = match (&args.init, args.model) {
                (Some(_), Some(m)) if m != TextModel::Bert => {
                    return Err(tinderbox::Error::Invalid(format!(
                        "--init fine-tunes a pre-trained BERT; it does not go with --model {m:?}"
                    )));
                }
                (Some(_), _) => Some(TextModel::Bert),
                (None, m) => m,
            };
            let mut config = match model {
                Some(model) => TextRunConfig::for_model(source, model),
                None => TextRunConfig::for_source(source),
            };
            if args.vocab_size.is_some() {
                let model = args.model.unwrap_or(config.encoder.model());
                let vocab = args
                    .vocab_size
                    .map_or(config.encoder.vocab_size(), |v| v as usize);
                config.encoder = TextEncoderConfig::new(model, vocab);
            }
            if let Some(dir) = &args.init {
                config.encoder = TextEncoderConfig::Bert(BertEncoderConfig::from_run(dir)?);
            }
            config.max_len = args.max_len.map_or(config.max_len, |v| v as usize);
            config.padding = args.padding.unwrap_or(config.padding);
            config.truncating = args.truncating.unwrap_or(config.truncating);
            config.bucket_by_length = args.bucket;
            args.train.apply(&mut config.train);
            (config, args.out.clone(), false)
        }
    };
    let s = recipe::train_and_test(&config, &out, resume)?;
    println!(
        "test accuracy {:.4}, macro-F1 {:.4} (best epoch {:?} of {}, {:.1} s, backend {})",
        s.test_accuracy, s.test_macro_f1, s.best_epoch, s.epochs, s.train_seconds, s.backend
    );
    println!(
        "run directory: {} (summary.json, metrics.csv, curves.png, confusion.png)",
        out.display()
    );
    Ok(())
}
