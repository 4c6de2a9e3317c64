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

use clap::Parser;
use tinderbox::cli::TextArgs;
use tinderbox::recipes::text_classification as recipe;

tinderbox::example_main!(Args, run);

#[derive(Parser, Debug)]
#[command(
    about = "Train the seed text classifier and report test accuracy and macro-F1",
    version
)]
struct Args {
    #[command(flatten)]
    text: TextArgs,
    /// Run directory.
    #[arg(long, default_value = "runs/text_classification")]
    out: PathBuf,
    /// Continue the run in DIR with its saved configuration, split and tokenizer.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["predict", "init"])]
    resume: Option<PathBuf>,
    /// Classify the TEXTS with the model saved in DIR.
    #[arg(long, value_name = "DIR", conflicts_with = "init")]
    predict: Option<PathBuf>,
    /// Score the model saved in DIR on every text of `--dataset` (its labels must be the run's).
    #[arg(long, value_name = "DIR", conflicts_with_all = ["predict", "resume"])]
    evaluate: Option<PathBuf>,
    /// Texts for `--predict`.
    #[arg(requires = "predict")]
    texts: Vec<String>,
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
        let e = recipe::evaluate_run(dir, &args.text.source()?)?;
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
            if let Some(epochs) = args.text.train.epochs {
                config.train.epochs = epochs as usize;
            }
            (config, dir.clone(), true)
        }
        None => (args.text.to_config()?, args.out.clone(), false),
    };
    let s = recipe::train_and_test(&config, &out, resume)?;
    let best = s
        .best_epoch
        .map_or("the last epoch".to_string(), |e| format!("best epoch {e}"));
    println!(
        "test accuracy {:.4}, macro-F1 {:.4} ({best} of {}, {:.1} s, backend {})",
        s.test_accuracy, s.test_macro_f1, s.epochs, s.train_seconds, s.backend
    );
    println!(
        "run directory: {} (summary.json, metrics.csv, curves.png, confusion.png)",
        out.display()
    );
    Ok(())
}
