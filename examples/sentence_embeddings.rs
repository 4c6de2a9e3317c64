//! Sentence embeddings with all-MiniLM-L6-v2 (or any BERT folder from Hugging Face): the cosine
//! similarity matrix of the sentences, their embeddings as JSON, or a small semantic search.
//!
//! ```text
//! cargo run --release --example sentence_embeddings -- "A man is eating food." "A man is eating a piece of bread."
//! cargo run --release --example sentence_embeddings -- --input sentences.txt --json > embeddings.json
//! cargo run --release --example sentence_embeddings -- --query "a hungry man" --corpus sentences.txt
//! cargo run --release --example sentence_embeddings -- --int8 --save-int8 minilm-int8 "A man is eating food."
//! cargo run --release --example sentence_embeddings -- --model minilm-int8 "A man is eating food."
//! ```

use std::path::PathBuf;
use std::time::Instant;

use clap::Parser;
use serde::Serialize;
use tinderbox::backend::{backend_name, default_device};
use tinderbox::recipes::sentence_embeddings::{self, SentenceEncoder, similarity_matrix, top_k};

tinderbox::example_main!(Args, run);

#[derive(Parser, Debug)]
#[command(about = "Embed sentences with MiniLM and compare them", version)]
struct Args {
    /// Sentences to compare.
    sentences: Vec<String>,
    /// Read the sentences from FILE, one per line (blank lines skipped).
    #[arg(long, value_name = "FILE")]
    input: Option<PathBuf>,
    /// Print one JSON object: sentences, input_ids and embeddings.
    #[arg(long)]
    json: bool,
    /// Search `--corpus` for the lines most similar to this text.
    #[arg(long, requires = "corpus")]
    query: Option<String>,
    /// One document per line, for `--query`.
    #[arg(long, value_name = "FILE", requires = "query")]
    corpus: Option<PathBuf>,
    /// How many results `--query` prints.
    #[arg(long, default_value_t = 5)]
    top: usize,
    /// A Hugging Face model folder (config.json, model.safetensors, tokenizer.json) instead of
    /// all-MiniLM-L6-v2.
    #[arg(long, value_name = "DIR")]
    model: Option<PathBuf>,
    /// Quantize the encoder's dense layers to int8 first (PyTorch's `quantize_dynamic`).
    #[arg(long)]
    int8: bool,
    /// With `--int8`: also save the int8 encoder as a model folder in DIR (`--model DIR`
    /// loads it).
    #[arg(long, value_name = "DIR", requires = "int8")]
    save_int8: Option<PathBuf>,
    /// Run directory for summary.json.
    #[arg(long, default_value = "runs/sentence_embeddings")]
    out: PathBuf,
}

#[derive(Serialize)]
struct Summary {
    sentences: usize,
    dimensions: usize,
    seconds: f64,
    sentences_per_second: f64,
    int8: bool,
    truncated: Vec<usize>,
    backend: String,
    similarity: Vec<Vec<f32>>,
}

fn read_lines(path: &PathBuf) -> Result<Vec<String>, tinderbox::Error> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| tinderbox::Error::Invalid(format!("reading {}: {e}", path.display())))?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect())
}

fn run(args: Args) -> Result<(), tinderbox::Error> {
    let device = default_device();
    let encoder = match &args.model {
        Some(dir) => SentenceEncoder::from_dir(dir, &device)?,
        None => sentence_embeddings::minilm(&device)?,
    };
    let encoder = if args.int8 {
        encoder.quantize_int8()?
    } else {
        encoder
    };
    if let Some(dir) = &args.save_int8 {
        encoder.save_int8(dir)?;
        eprintln!("saved the int8 encoder in {}", dir.display());
    }
    let mut sentences = args.sentences.clone();
    if let Some(path) = &args.input {
        sentences.extend(read_lines(path)?);
    }
    if let (Some(query), Some(corpus)) = (&args.query, &args.corpus) {
        sentences = vec![query.clone()];
        sentences.extend(read_lines(corpus)?);
        if sentences.len() == 1 {
            return Err(tinderbox::Error::Invalid(format!(
                "{} has no lines",
                corpus.display()
            )));
        }
    }
    if sentences.is_empty() {
        return Err(tinderbox::Error::Invalid(
            "no sentences: pass them as arguments, or use --input FILE or --query TEXT --corpus FILE".into(),
        ));
    }
    let refs: Vec<&str> = sentences.iter().map(String::as_str).collect();
    let start = Instant::now();
    let out = encoder.embed(&refs)?;
    let seconds = start.elapsed().as_secs_f64();
    for &i in &out.truncated {
        eprintln!(
            "warning: sentence {i} is longer than {} tokens and was truncated",
            encoder.max_length()
        );
    }

    let similarity = if args.query.is_some() {
        let hits = top_k(&out.embeddings[0], &out.embeddings[1..], args.top);
        println!("query: {}", sentences[0]);
        for (rank, (index, score)) in hits.iter().enumerate() {
            println!("{:>2}. {score:.4}  {}", rank + 1, sentences[index + 1]);
        }
        vec![hits.iter().map(|h| h.1).collect()]
    } else {
        let matrix = similarity_matrix(&out.embeddings);
        if args.json {
            println!(
                "{}",
                serde_json::to_string(&out)
                    .map_err(|e| tinderbox::Error::Invalid(e.to_string()))?
            );
        } else {
            for (i, s) in sentences.iter().enumerate() {
                println!("[{i}] {s}");
            }
            print!("{:>6}", "");
            (0..sentences.len()).for_each(|j| print!("{:>8}", format!("[{j}]")));
            println!();
            for (i, row) in matrix.iter().enumerate() {
                print!("{:>6}", format!("[{i}]"));
                row.iter().for_each(|v| print!("{v:>8.4}"));
                println!();
            }
        }
        matrix
    };

    let summary = Summary {
        sentences: sentences.len(),
        dimensions: out.embeddings.first().map_or(0, Vec::len),
        seconds,
        sentences_per_second: sentences.len() as f64 / seconds.max(1e-9),
        int8: encoder.model().is_int8(),
        truncated: out.truncated.clone(),
        backend: backend_name(&device),
        similarity,
    };
    tinderbox::train::RunDir::create(&args.out)?.write_json("summary.json", &summary)?;
    Ok(())
}
