//! The options of `examples/causal_lm.rs` that describe a causal-LM pre-training run, and the
//! run configuration they make.

use std::path::PathBuf;

use clap::Args;

use super::{OptimArgs, StepBudgetArgs, fraction, positive};
use crate::recipes::causal_lm::{CausalLmRunConfig, CausalTokenizer};

/// A causal-LM run's model, data and budget; the optimizer options are [`OptimArgs`].
#[derive(Debug, Clone, Args)]
pub struct CausalLmArgs {
    /// Transformer layers [default: 4].
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub layers: Option<u64>,
    /// Width of the hidden states [default: 256].
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub hidden: Option<u64>,
    /// Attention heads [default: 4].
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub heads: Option<u64>,
    /// Feed-forward width [default: 4 x hidden].
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub ffn: Option<u64>,
    /// The model's positions (its longest context) [default: --max-len].
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub positions: Option<u64>,
    /// Dropout of the embeddings, attention probabilities and residuals [default: 0; GPT-2's is
    /// 0.1].
    #[arg(long, value_parser = fraction)]
    pub dropout: Option<f64>,
    /// Standard deviation of the normal initialiser [default: GPT-2's 0.02].
    #[arg(long, value_parser = positive)]
    pub initializer_range: Option<f64>,
    /// Tokens per packed sequence, <s> included.
    #[arg(long, default_value_t = 128, value_parser = clap::value_parser!(u64).range(2..))]
    pub max_len: u64,
    /// Steps or minutes, warm-up, evaluation and checkpoint cadence.
    #[command(flatten)]
    pub budget: StepBudgetArgs,
    /// A text file or a folder of .txt files (one document each) instead of the English corpora.
    #[arg(long, value_name = "PATH")]
    pub corpus: Option<PathBuf>,
    /// Size of the byte-level BPE trained on the training documents.
    #[arg(long, default_value_t = 8192, value_parser = clap::value_parser!(u64).range(4..))]
    pub vocab_size: u64,
    /// Use this tokenizer.json (with <s>, </s> and <pad>) instead of training one.
    #[arg(long, value_name = "PATH", conflicts_with = "vocab_size")]
    pub tokenizer: Option<PathBuf>,
    /// Batch size, learning rate (peak, AdamW), seed, accumulation, ...
    #[command(flatten)]
    pub optim: OptimArgs,
}

impl CausalLmArgs {
    /// The configuration of a new run: the recipe's defaults, then every option given.
    pub fn to_config(&self) -> CausalLmRunConfig {
        let mut config = CausalLmRunConfig::new();
        self.apply_sizes(&mut config);
        if let Some(p) = self.dropout {
            config.model.resid_pdrop = p;
        }
        if let Some(std) = self.initializer_range {
            config.model.initializer_range = std;
        }
        config.corpus = self.corpus.clone();
        config.tokenizer = match &self.tokenizer {
            Some(path) => CausalTokenizer::File { path: path.clone() },
            None => CausalTokenizer::Train {
                vocab_size: self.vocab_size as usize,
            },
        };
        config.max_len = self.max_len as usize;
        config.model.n_positions = self.positions.map_or(config.max_len, |p| p as usize);
        self.optim.apply(&mut config.train, 1);
        self.budget.apply(&mut config.budget, &mut config.train);
        config
    }

    /// A resumed run's configuration: the saved one with the size options given applied (the
    /// recipe then refuses sizes that differ from the checkpoint's, naming them).
    pub fn resumed(&self, mut saved: CausalLmRunConfig) -> CausalLmRunConfig {
        self.apply_sizes(&mut saved);
        if let Some(p) = self.positions {
            saved.model.n_positions = p as usize;
        }
        saved
    }

    fn apply_sizes(&self, config: &mut CausalLmRunConfig) {
        let model = &mut config.model;
        if let Some(v) = self.layers {
            model.n_layer = v as usize;
        }
        if let Some(v) = self.hidden {
            model.n_embd = v as usize;
        }
        if let Some(v) = self.heads {
            model.n_head = v as usize;
        }
        if let Some(v) = self.ffn {
            model.n_inner = Some(v as usize);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        causal: CausalLmArgs,
    }

    fn parse(args: &[&str]) -> Result<CausalLmArgs, clap::Error> {
        Cli::try_parse_from(std::iter::once("x").chain(args.iter().copied())).map(|c| c.causal)
    }

    #[test]
    fn options_become_the_run_configuration() {
        let config = parse(&[
            "--layers",
            "2",
            "--hidden",
            "64",
            "--max-len",
            "32",
            "--max-steps",
            "9",
        ])
        .unwrap()
        .to_config();
        assert_eq!((config.model.n_layer, config.model.n_embd), (2, 64));
        assert_eq!((config.max_len, config.model.n_positions), (32, 32));
        assert_eq!(config.budget.max_steps, Some(9));
        assert_eq!(config.budget.max_minutes, None);
        config.validate().unwrap();
        let defaults = parse(&[]).unwrap().to_config();
        assert_eq!(defaults, CausalLmRunConfig::new());
    }

    #[test]
    fn out_of_range_options_are_refused_by_name() {
        for bad in [
            &["--max-len", "1"][..],
            &["--vocab-size", "3"],
            &["--dropout", "1.5"],
        ] {
            let e = parse(bad).err().unwrap().to_string();
            assert!(e.contains(bad[0]), "{bad:?}: {e}");
        }
        let short = parse(&["--positions", "64"]).unwrap().to_config();
        assert!(
            short
                .validate()
                .unwrap_err()
                .to_string()
                .contains("--max-len 128 exceeds")
        );
    }
}
