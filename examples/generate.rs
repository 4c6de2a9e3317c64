//! Text generation with a small LLM: SmolLM2-135M-Instruct (GGUF, fetched from PyPI) answers a
//! question, streaming; then the prompt and generation speed and the peak memory.
//!
//! ```text
//! cargo run --release --example generate                                   # the default question
//! cargo run --release --example generate -- --chat --prompt "Name three rivers."
//! cargo run --release --example generate -- --prompt "Once upon a time" --max-new-tokens 50 --num-return-sequences 2
//! cargo run --release --example generate -- --greedy --json --prompt "The capital of France is"
//! cargo run --release --example generate -- --interactive               # a chat that remembers
//! ```

use std::io::Write;
use std::path::PathBuf;

use clap::Parser;
use tinderbox::backend::default_device;
use tinderbox::cli::GenerateArgs;
use tinderbox::recipes::generation::{self as recipe, LanguageModel};
use tinderbox::tokenize::ChatMessage;

tinderbox::example_main!(Args, run);

#[derive(Parser, Debug)]
#[command(about = "Generate text with SmolLM2 or another Llama GGUF", version)]
struct Args {
    #[command(flatten)]
    generate: GenerateArgs,
    /// Chat in the terminal, keeping the conversation (an empty line ends it).
    #[arg(long, conflicts_with_all = ["prompt", "input", "json"])]
    interactive: bool,
    /// Print one JSON object (prompt_ids, sequences, speeds) instead of streaming.
    #[arg(long)]
    json: bool,
    /// Run directory for summary.json.
    #[arg(long, default_value = "runs/generate")]
    out: PathBuf,
}

fn run(args: Args) -> Result<(), tinderbox::Error> {
    let config = args.generate.config()?;
    // Prompts before the model: a bad one is refused without the wait of loading.
    let prompts = args.generate.prompts()?;
    let lm = LanguageModel::load(
        &args.generate.model,
        args.generate.weights(),
        &default_device(),
    )?;
    if args.interactive {
        return chat(&lm, &config);
    }
    // The default question is a chat turn; given prompts are chat turns only with --chat.
    let chat =
        args.generate.chat || args.generate.prompt.is_empty() && args.generate.input.is_none();
    let ids = prompts
        .iter()
        .map(|p| lm.encode(p, chat))
        .collect::<Result<Vec<_>, _>>()?;
    let single = ids.len() * config.num_return_sequences == 1 && config.num_beams == 1;
    let mut print = |_: usize, text: &str| {
        print!("{text}");
        let _ = std::io::stdout().flush();
    };
    let stream: Option<&mut tinderbox::generate::OnText> =
        (single && !args.json).then_some(&mut print);
    if single && !args.json {
        println!("{}", prompts[0]);
    }
    let summary = recipe::run(&lm, &ids, &config, stream)?;
    tinderbox::train::RunDir::create(&args.out)?.write_json("summary.json", &summary)?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&summary).unwrap_or_default()
        );
        return Ok(());
    }
    if !single {
        for s in &summary.sequences {
            println!("--- prompt {}: {}\n{}", s.prompt, prompts[s.prompt], s.text);
        }
    }
    println!(
        "\n[{:.1} prompt tokens/s, {:.1} tokens/s, peak {:.0} MiB, backend {}]",
        summary.prompt_tokens_per_second,
        summary.tokens_per_second,
        summary.peak_rss_mib.unwrap_or(0.0),
        summary.backend
    );
    Ok(())
}

/// A conversation: each line the user types is a turn, answered with the whole history.
fn chat(
    lm: &LanguageModel,
    config: &tinderbox::generate::GenerationConfig,
) -> Result<(), tinderbox::Error> {
    let mut messages: Vec<ChatMessage> = Vec::new();
    let stdin = std::io::stdin();
    loop {
        print!("> ");
        let _ = std::io::stdout().flush();
        let mut line = String::new();
        if stdin.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
            return Ok(());
        }
        messages.push(ChatMessage::new("user", line.trim()));
        let ids = lm.encode_rendered(&lm.render(&messages)?)?;
        let mut print = |_: usize, text: &str| {
            print!("{text}");
            let _ = std::io::stdout().flush();
        };
        let summary = recipe::run(lm, &[ids], config, Some(&mut print))?;
        println!();
        let answer = summary
            .sequences
            .first()
            .map(|s| s.text.clone())
            .unwrap_or_default();
        messages.push(ChatMessage::new("assistant", answer));
    }
}
