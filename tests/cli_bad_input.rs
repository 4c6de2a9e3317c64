//! Every example program given bad flags or missing files, as a user would: each case must exit
//! with a message that names the problem, never a panic. The rows of docs/reliability.md that
//! say "tests/cli_bad_input.rs" are these cases.

#[path = "support/example_binary.rs"]
mod example_binary;

use std::process::Command;

use example_binary::example_binary;

/// A bad invocation: the exit code it must end with (2 for flags clap refuses, 1 for errors the
/// program finds) and what its message must say.
struct Case {
    example: &'static str,
    args: &'static [&'static str],
    code: i32,
    says: &'static [&'static str],
}

const MISSING: &str = "/nonexistent/tinderbox-input";
/// Replaced by a fresh temporary directory.
const OUT: &str = "{out}";

#[rustfmt::skip]
const CASES: &[Case] = &[
    // Flags clap refuses before anything runs.
    Case { example: "mnist", args: &["--batch-size", "0"], code: 2, says: &["--batch-size", "0 is not in 1.."] },
    Case { example: "mnist", args: &["--lr=-1"], code: 2, says: &["--lr", "is not a positive number"] },
    Case { example: "mnist", args: &["--lr", "nan"], code: 2, says: &["--lr", "is not a positive number"] },
    Case { example: "mnist", args: &["--epochs", "two"], code: 2, says: &["--epochs", "invalid digit"] },
    Case { example: "mnist", args: &["--warmup-ratio", "1.5"], code: 2, says: &["--warmup-ratio"] },
    Case { example: "mnist", args: &["--dataset", "cifar"], code: 2, says: &["--dataset", "cifar"] },
    Case { example: "mnist", args: &["--bogus"], code: 2, says: &["unexpected argument '--bogus'"] },
    Case { example: "text_classification", args: &["--max-len", "0"], code: 2, says: &["--max-len"] },
    Case { example: "text_classification", args: &["--vocab-size", "2"], code: 2, says: &["--vocab-size"] },
    Case { example: "text_classification", args: &["--model", "gpt"], code: 2, says: &["--model", "gpt"] },
    Case { example: "mlm", args: &["--batch-size", "0"], code: 2, says: &["--batch-size"] },
    Case { example: "mlm", args: &["--lr=-1"], code: 2, says: &["--lr"] },
    Case { example: "mlm", args: &["--max-minutes", "0"], code: 2, says: &["--max-minutes"] },
    Case { example: "mlm", args: &["--model", "gpt"], code: 2, says: &["--model", "gpt"] },
    Case { example: "causal_lm", args: &["--max-len", "1"], code: 2, says: &["--max-len", "1 is not in 2.."] },
    Case { example: "causal_lm", args: &["--vocab-size", "3"], code: 2, says: &["--vocab-size"] },
    Case { example: "causal_lm", args: &["--export-batches", MISSING, "x.safetensors"], code: 2, says: &["--max-steps"] },
    Case { example: "sentence_embeddings", args: &["--corpus", "x.txt"], code: 2, says: &["--query"] },
    Case { example: "sentence_embeddings", args: &["--save-int8", "x", "a"], code: 2, says: &["--save-int8", "--int8"] },
    Case { example: "text_classification", args: &["--test-split"], code: 2, says: &["--test-split", "--evaluate"] },
    Case { example: "text_classification", args: &["--teacher", "x", "--alpha", "1.5"], code: 2, says: &["--alpha", "1.5 is not a number in [0, 1]"] },
    Case { example: "text_classification", args: &["--teacher", "x", "--temperature", "0"], code: 2, says: &["--temperature", "0 is not a positive number"] },
    Case { example: "text_classification", args: &["--alpha", "0.5"], code: 2, says: &["--alpha", "--teacher"] },
    Case { example: "text_classification", args: &["--layer-lr-decay", "1.5"], code: 2, says: &["--layer-lr-decay", "1.5 is not a number in [0, 1]"] },
    Case { example: "text_classification", args: &["--pooling", "avg"], code: 2, says: &["--pooling", "unknown pooling \"avg\"", "cls"] },
    Case { example: "text_classification", args: &["--train-examples", "0"], code: 2, says: &["--train-examples", "0 is not in 1.."] },
    Case { example: "text_classification", args: &["--sparsity", "1"], code: 2, says: &["--sparsity", "1 is not a fraction in [0, 1)"] },
    Case { example: "text_classification", args: &["--prune-end", "0.5"], code: 2, says: &["--prune-end", "--sparsity"] },
    Case { example: "prune", args: &["--run", MISSING, "--heads", "1.2"], code: 2, says: &["--heads", "1.2 is not a fraction in [0, 1)"] },
    Case { example: "prune", args: &["--run", MISSING, "--ffn=-0.5"], code: 2, says: &["--ffn", "-0.5 is not a fraction in [0, 1)"] },
    Case { example: "prune", args: &["--heads", "0.5"], code: 2, says: &["--run"] },
    Case { example: "generate", args: &["--interactive", "--prompt", "hi"], code: 2, says: &["--interactive", "--prompt"] },
    Case { example: "text_classification", args: &["--explain", MISSING, "--method", "shapley", "a text"], code: 2, says: &["--method", "unknown explanation method \"shapley\"", "kernelshap"] },
    Case { example: "text_classification", args: &["--json", "a text"], code: 2, says: &["--explain"] },
    Case { example: "mnist", args: &["--explain", MISSING, "--patch", "0"], code: 2, says: &["--patch", "0 is not in 1.."] },
    Case { example: "serve", args: &["--port", "70000"], code: 2, says: &["--port", "70000"] },
    // Settings out of range, refused before a model loads.
    Case { example: "serve", args: &["--max-sequences", "0", "--out", OUT], code: 1, says: &["max_sequences = 0", "at least 1"] },
    Case { example: "generate", args: &["--top-p", "0"], code: 1, says: &["top_p = 0"] },
    Case { example: "generate", args: &["--temperature", "-1"], code: 1, says: &["temperature = -1"] },
    Case { example: "generate", args: &["--num-beams", "0"], code: 1, says: &["num_beams = 0"] },
    Case { example: "generate", args: &["--prompt", ""], code: 1, says: &["prompt 0 is empty"] },
    Case { example: "causal_lm", args: &["--positions", "64", "--out", OUT], code: 1, says: &["--max-len 128 exceeds the model's 64 positions"] },
    Case { example: "causal_lm", args: &["--hidden", "102", "--out", OUT], code: 1, says: &["n_head", "102"] },
    // Paths that do not exist, found by the program.
    Case { example: "mnist", args: &["--data-dir", MISSING, "--out", OUT], code: 1, says: &["error:", MISSING] },
    Case { example: "mnist", args: &["--resume", MISSING], code: 1, says: &["error:", MISSING] },
    Case { example: "mnist", args: &["--predict", MISSING], code: 1, says: &["error:", MISSING] },
    Case { example: "text_classification", args: &["--dataset", "reviews"], code: 1, says: &["unknown dataset \"reviews\"", "csv PATH"] },
    Case { example: "text_classification", args: &["--dataset", "csv", MISSING], code: 1, says: &["error:", MISSING] },
    Case { example: "text_classification", args: &["--init", MISSING], code: 1, says: &["error:", MISSING] },
    Case { example: "text_classification", args: &["--predict", MISSING, "a text"], code: 1, says: &["error:", MISSING] },
    Case { example: "text_classification", args: &["--int8"], code: 1, says: &["--int8 applies to --predict DIR and --evaluate DIR"] },
    Case { example: "text_classification", args: &["--teacher", MISSING, "--out", OUT], code: 1, says: &["error:", MISSING] },
    Case { example: "text_classification", args: &["--explain", MISSING, "a text"], code: 1, says: &["error:", MISSING] },
    Case { example: "text_classification", args: &["a text"], code: 1, says: &["texts are read only with --predict DIR or --explain DIR"] },
    Case { example: "text_classification", args: &["--freeze-embeddings", "1"], code: 1, says: &["apply to BERT encoders; this run's model is lstm"] },
    Case { example: "text_classification", args: &["--model", "bert", "--layer-lr-decay", "0"], code: 1, says: &["decay of 0 is not in (0, 1]"] },
    Case { example: "prune", args: &["--run", MISSING, "--out", OUT], code: 1, says: &["error:", MISSING] },
    Case { example: "prune", args: &["--run", MISSING, "--heads", "0.1,0.2,0.3", "--ffn", "0.1,0.2", "--out", OUT], code: 1, says: &["--heads gives 3 levels and --ffn 2"] },
    Case { example: "prune", args: &["--run", "tests/fixtures/gpt2-tiny", "--out", OUT], code: 1, says: &["is not a text_classification run directory"] },
    Case { example: "text_classification", args: &["--explain", "tests/fixtures/gpt2-tiny"], code: 1, says: &["is not a text_classification run directory"] },
    Case { example: "mnist", args: &["--explain", MISSING], code: 1, says: &["error:", MISSING] },
    Case { example: "mlm", args: &["--corpus", MISSING, "--out", OUT], code: 1, says: &["error:", MISSING] },
    Case { example: "mlm", args: &["--fill", "no mask here", "--init", MISSING], code: 1, says: &["error:", MISSING] },
    Case { example: "mlm", args: &["--resume", MISSING], code: 1, says: &["error:", MISSING] },
    Case { example: "causal_lm", args: &["--corpus", MISSING, "--out", OUT], code: 1, says: &["error:", MISSING] },
    Case { example: "causal_lm", args: &["--resume", MISSING], code: 1, says: &["error:", MISSING] },
    Case { example: "causal_lm", args: &["--max-steps", "5", "--export-batches", MISSING, "x.safetensors"], code: 1, says: &["error:", MISSING] },
    Case { example: "sentence_embeddings", args: &["--input", MISSING], code: 1, says: &["error:", MISSING] },
    Case { example: "sentence_embeddings", args: &["--model", MISSING, "a", "b"], code: 1, says: &["error:", MISSING] },
    Case { example: "generate", args: &["--model", MISSING], code: 1, says: &["error:", MISSING, "config.json"] },
    Case { example: "generate", args: &["--model", "/nonexistent/model.gguf"], code: 1, says: &["error:", "/nonexistent/model.gguf"] },
    Case { example: "generate", args: &["--input", MISSING], code: 1, says: &["error:", MISSING] },
    Case { example: "serve", args: &["--classifier", MISSING, "--out", OUT], code: 1, says: &["error:", MISSING] },
    Case { example: "serve", args: &["--classifier", "tests/fixtures/gpt2-tiny", "--out", OUT], code: 1, says: &["is not a text_classification run directory"] },
    Case { example: "serve", args: &["--generator", "/nonexistent/model.gguf", "--out", OUT], code: 1, says: &["error:", "/nonexistent/model.gguf"] },
    // Model folders that are not what generation needs.
    Case { example: "generate", args: &["--model", "tests/fixtures/gpt2-tiny"], code: 1, says: &["has no tokenizer files", "vocab.json"] },
    Case { example: "generate", args: &["--model", "tests/fixtures/tiny_bert_mlm"], code: 1, says: &["model_type \"bert\" is not supported"] },
    Case { example: "generate", args: &["--model", "tests/fixtures/not_gguf.gguf"], code: 1, says: &["not_gguf.gguf", "GGUF"] },
    Case { example: "generate", args: &["--quantize", "q4_k"], code: 2, says: &["q4_k is not a type f32 weights are quantized to", "q8_0"] },
    Case { example: "generate", args: &["--quantize", "q8_0", "--dequantize"], code: 2, says: &["--quantize", "--dequantize"] },
    Case { example: "generate", args: &["--quantize", "q8_0"], code: 1, says: &["is a GGUF file, quantized already", "--quantize Q8_0 applies to f32 checkpoints"] },
];

#[test]
fn bad_flags_and_missing_files_are_clear_errors_in_every_example() {
    let mut failures = Vec::new();
    for case in CASES {
        let dir = tempfile::tempdir().unwrap();
        let out_dir = dir.path().join("run");
        let args = case.args.iter().map(|a| {
            if *a == OUT {
                out_dir.to_str().unwrap()
            } else {
                a
            }
        });
        let out = Command::new(example_binary(case.example))
            .args(args)
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        // `--nocapture` prints the table rows of docs/reliability.md.
        let first_line = stderr
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or_default();
        println!(
            "| `{} {}` | {} | `{}` |",
            case.example,
            case.args.join(" "),
            out.status.code().unwrap_or(-1),
            first_line.trim()
        );
        let missing: Vec<&&str> = case.says.iter().filter(|s| !stderr.contains(**s)).collect();
        if out.status.code() != Some(case.code)
            || !missing.is_empty()
            || stderr.contains("panicked")
        {
            failures.push(format!(
                "{} {:?}: exit {:?} (want {}), missing {missing:?}:\n{stderr}",
                case.example,
                case.args,
                out.status.code(),
                case.code
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
