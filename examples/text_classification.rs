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
//! cargo run --release --example text_classification -- --predict runs/text_classification --int8 "A joy from start to end."
//! cargo run --release --example text_classification -- --evaluate runs/text_classification --test-split --int8
//! cargo run --release --example text_classification -- --explain runs/text_classification "A joy from start to end."
//! cargo run --release --example text_classification -- --explain runs/text_classification --method ig,lime,kernelshap --faithfulness 50
//! ```

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::Parser;
use tinderbox::cli::{ExplainArgs, TextArgs};
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
    /// With `--evaluate`: score the run's own test split (its `split.json`) instead.
    #[arg(long, requires = "evaluate")]
    test_split: bool,
    /// With `--predict` or `--evaluate`: quantize the run's BERT encoder to int8 first
    /// (PyTorch's `quantize_dynamic`: weights per output channel, activations per row).
    #[arg(long)]
    int8: bool,
    /// Explain the label the model saved in DIR gives each of the TEXTS (`--method`): coloured
    /// tokens, DIR/explanations/explanations.html and summary.json.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["predict", "resume", "evaluate", "init"])]
    explain: Option<PathBuf>,
    /// With `--explain`: one JSON object per text on standard output instead.
    #[arg(long, requires = "explain")]
    json: bool,
    /// With `--explain`: the deletion test of each `--method` on the first N test texts of the
    /// run (AOPC against a random order), written to DIR/explanations/faithfulness.json.
    #[arg(long, value_name = "N", requires = "explain")]
    faithfulness: Option<usize>,
    /// With `--explain`: explain the first N test texts of the run instead of TEXTS.
    #[arg(long, value_name = "N", requires = "explain")]
    test_texts: Option<usize>,
    /// Write the classifier saved in DIR to FILE as safetensors (for the Captum, SHAP and LIME
    /// comparison, benches/compare/explain_reference.py).
    #[arg(long, num_args = 2, value_names = ["DIR", "FILE"])]
    export_weights: Option<Vec<PathBuf>>,
    #[command(flatten)]
    how: ExplainArgs,
    /// Texts for `--predict` and `--explain`.
    texts: Vec<String>,
}

fn run(args: Args) -> Result<(), tinderbox::Error> {
    if !args.texts.is_empty() && args.predict.is_none() && args.explain.is_none() {
        return Err(tinderbox::Error::Invalid(
            "texts are read only with --predict DIR or --explain DIR".into(),
        ));
    }
    if args.int8 && args.predict.is_none() && args.evaluate.is_none() {
        return Err(tinderbox::Error::Invalid(
            "--int8 applies to --predict DIR and --evaluate DIR".into(),
        ));
    }
    if let Some(dir) = &args.explain {
        return explain(dir, &args);
    }
    if let Some([dir, file]) = args.export_weights.as_deref() {
        return recipe::export_weights(dir, file);
    }
    if let Some(dir) = &args.predict {
        for p in recipe::predict(dir, &args.texts, args.int8)? {
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
        let e = if args.test_split {
            recipe::evaluate_test_split(dir, args.int8)?
        } else {
            recipe::evaluate_run(dir, &args.text.source()?, args.int8)?
        };
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

fn explain(dir: &std::path::Path, args: &Args) -> Result<(), tinderbox::Error> {
    let out = dir.join("explanations");
    if let Some(n) = args.faithfulness {
        let config = args
            .how
            .config(args.how.method[0], args.text.train.optim.seed);
        let rows = recipe::faithfulness(dir, n, &args.how.method, &config, 10)?;
        print!("{}", recipe::faithfulness_table(&rows));
        tinderbox::train::RunDir::create(&out)?.write_json("faithfulness.json", &rows)?;
        return Ok(());
    }
    let explainer = recipe::TextExplainer::open(dir)?;
    let colour = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let texts = match args.test_texts {
        Some(n) => recipe::test_texts(dir, n)?,
        None if args.texts.is_empty() => {
            return Err(tinderbox::Error::Invalid(
                "--explain needs texts to explain, or --test-texts N".into(),
            ));
        }
        None => args.texts.clone(),
    };
    let mut all = Vec::new();
    for method in &args.how.method {
        for text in &texts {
            let e =
                explainer.explain(text, &args.how.config(*method, args.text.train.optim.seed))?;
            if args.json {
                println!("{}", serde_json::to_string(&e).unwrap_or_default());
            } else {
                println!("{}", e.describe(colour));
            }
            all.push(e);
        }
    }
    let page = recipe::save_explanations(&out, &all)?;
    if !args.json {
        println!("page: {}", page.display());
    }
    Ok(())
}
