//! A load generator for a running server, on localhost only: at each concurrency, that many
//! clients send requests back to back (bounded by a count and a time), and the throughput,
//! latency percentiles and errors are printed (and written as JSON with `--json`).
//!
//! ```text
//! cargo run --release -p tinderbox-serve --example load -- --endpoint embeddings --concurrency 1,8,32
//! cargo run --release -p tinderbox-serve --example load -- --endpoint chat --max-tokens 32 --concurrency 1,8
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use serde_json::{Value, json};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Endpoint {
    /// One text per request to /v1/embeddings.
    Embeddings,
    /// One text per request to /v1/classify.
    Classify,
    /// A chat question per request to /v1/chat/completions (greedy).
    Chat,
}

#[derive(Parser, Debug)]
#[command(about = "Load-test a tinderbox server on localhost")]
struct Args {
    /// The server.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    #[arg(long, value_enum, default_value = "embeddings")]
    endpoint: Endpoint,
    /// Concurrent clients, one run per value.
    #[arg(long, value_delimiter = ',', default_value = "1,8,32")]
    concurrency: Vec<usize>,
    /// Requests per run at most.
    #[arg(long, default_value_t = 2000)]
    requests: usize,
    /// Seconds per run at most.
    #[arg(long, default_value_t = 30.0)]
    seconds: f64,
    /// Texts to send, one per line (default: built-in review-like sentences).
    #[arg(long)]
    texts: Option<std::path::PathBuf>,
    /// New tokens per chat request.
    #[arg(long, default_value_t = 32)]
    max_tokens: usize,
    /// Write the table as JSON here.
    #[arg(long)]
    json: Option<std::path::PathBuf>,
}

/// Review-like sentences of 5 to 40 words, the same every run.
fn builtin_texts() -> Vec<String> {
    let words = [
        "the",
        "film",
        "is",
        "a",
        "gripping",
        "story",
        "of",
        "love",
        "and",
        "loss",
        "with",
        "beautifully",
        "acted",
        "scenes",
        "but",
        "its",
        "plot",
        "drags",
        "in",
        "middle",
        "dull",
        "characters",
        "never",
        "come",
        "alive",
        "charming",
        "funny",
        "clever",
        "tedious",
        "mess",
        "that",
        "wastes",
        "talented",
        "cast",
    ];
    let mut state = 12345u64;
    let mut next = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) as usize
    };
    (0..500)
        .map(|_| {
            let n = 5 + next() % 36;
            (0..n)
                .map(|_| words[next() % words.len()])
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

fn request(endpoint: Endpoint, text: &str, max_tokens: usize) -> (&'static str, Value) {
    match endpoint {
        Endpoint::Embeddings => ("/v1/embeddings", json!({"input": text})),
        Endpoint::Classify => ("/v1/classify", json!({"input": text})),
        Endpoint::Chat => (
            "/v1/chat/completions",
            json!({"messages": [{"role": "user", "content": format!("Summarise: {text}")}],
                   "max_tokens": max_tokens, "temperature": 0}),
        ),
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    if !args.url.starts_with("http://127.0.0.1") && !args.url.starts_with("http://localhost") {
        return Err("load tests run against localhost only".into());
    }
    let texts = Arc::new(match &args.texts {
        Some(path) => std::fs::read_to_string(path)?
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(str::to_string)
            .collect(),
        None => builtin_texts(),
    });
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()?;
    let mut rows = Vec::new();
    println!(
        "| concurrency | requests | errors | requests/s | {} | p50 ms | p99 ms |",
        if args.endpoint == Endpoint::Chat {
            "tokens/s"
        } else {
            "texts/s"
        }
    );
    println!("|---|---|---|---|---|---|---|");
    for &concurrency in &args.concurrency {
        let next = Arc::new(AtomicUsize::new(0));
        let deadline = Instant::now() + Duration::from_secs_f64(args.seconds);
        let started = Instant::now();
        let mut clients = Vec::new();
        for _ in 0..concurrency {
            let (client, texts, next, url) = (
                client.clone(),
                texts.clone(),
                next.clone(),
                args.url.clone(),
            );
            let (endpoint, max_tokens, limit) = (args.endpoint, args.max_tokens, args.requests);
            clients.push(tokio::spawn(async move {
                let (mut latencies, mut errors, mut units) = (Vec::new(), 0usize, 0usize);
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= limit || Instant::now() >= deadline {
                        break;
                    }
                    let (path, body) = request(endpoint, &texts[i % texts.len()], max_tokens);
                    let sent = Instant::now();
                    let answer = client.post(format!("{url}{path}")).json(&body).send().await;
                    match answer {
                        Ok(response) if response.status().is_success() => {
                            let body: Value = response.json().await.unwrap_or(Value::Null);
                            latencies.push(sent.elapsed().as_secs_f64() * 1e3);
                            units += if endpoint == Endpoint::Chat {
                                body["usage"]["completion_tokens"].as_u64().unwrap_or(0) as usize
                            } else {
                                1
                            };
                        }
                        _ => errors += 1,
                    }
                }
                (latencies, errors, units)
            }));
        }
        let (mut latencies, mut errors, mut units) = (Vec::new(), 0, 0);
        for c in clients {
            let (l, e, u) = c.await?;
            latencies.extend(l);
            errors += e;
            units += u;
        }
        let seconds = started.elapsed().as_secs_f64();
        latencies.sort_by(f64::total_cmp);
        let row = json!({
            "concurrency": concurrency,
            "requests": latencies.len() + errors,
            "errors": errors,
            "seconds": seconds,
            "requests_per_second": latencies.len() as f64 / seconds,
            "units_per_second": units as f64 / seconds,
            "p50_ms": percentile(&latencies, 50.0),
            "p99_ms": percentile(&latencies, 99.0),
        });
        println!(
            "| {concurrency} | {} | {errors} | {:.1} | {:.1} | {:.1} | {:.1} |",
            latencies.len() + errors,
            latencies.len() as f64 / seconds,
            units as f64 / seconds,
            percentile(&latencies, 50.0),
            percentile(&latencies, 99.0)
        );
        rows.push(row);
    }
    if let Some(path) = args.json {
        std::fs::write(
            path,
            serde_json::to_string_pretty(&json!({
                "endpoint": format!("{:?}", args.endpoint).to_lowercase(), "rows": rows
            }))?,
        )?;
    }
    Ok(())
}
