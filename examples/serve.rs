//! An OpenAI-compatible HTTP server: MiniLM embeddings by default, a text_classification run's
//! classifier and SmolLM2's chat when asked, with dynamic and continuous batching, streaming,
//! Prometheus metrics and a page at `/` to try it. Ctrl-C or SIGTERM stops it gracefully.
//!
//! ```text
//! cargo run --release --example serve                               # MiniLM embeddings on :8080
//! cargo run --release --example serve -- --embeddings minilm --classifier runs/text_classification --generator smollm2
//! curl localhost:8080/v1/embeddings -H 'content-type: application/json' -d '{"input": "A man is eating food."}'
//! ```

use std::path::PathBuf;

use clap::Parser;
use tinderbox::backend::default_device;
use tinderbox::cli::ServeArgs;
use tinderbox::recipes::serving::build_server;
use tinderbox::train::RunDir;

tinderbox::example_main!(Args, run);

#[derive(Parser, Debug)]
#[command(
    about = "Serve embeddings, a classifier and chat over an OpenAI-compatible API",
    version
)]
struct Args {
    #[command(flatten)]
    serve: ServeArgs,
    /// Run directory for summary.json (the models, limits and address).
    #[arg(long, default_value = "runs/serve")]
    out: PathBuf,
}

fn run(args: Args) -> Result<(), tinderbox::Error> {
    let models = args.serve.models();
    let (server, mut summary) = build_server(&models, args.serve.config(), &default_device())?;
    let run_dir = RunDir::create(&args.out)?;
    let mut written = Ok(());
    tinderbox::serve::run(server, &args.serve.address(), |address| {
        summary.address = Some(address.to_string());
        written = run_dir.write_json("summary.json", &summary);
        for (id, kind) in &summary.models {
            println!("serving {kind} model {id}");
        }
        // Tests and scripts wait for this line.
        println!("listening on http://{address}");
    })?;
    written?;
    println!("stopped");
    Ok(())
}
