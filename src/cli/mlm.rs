//! The options of `examples/mlm.rs` that describe a pre-training run, and the run configuration
//! they make.

use std::path::PathBuf;

use clap::Args;
use tinderbox_nn::transformer::LocalHeadsInit;

use super::{OptimArgs, StepBudgetArgs, fraction, positive};
use crate::recipes::masked_lm::{
    DomainText, MlmModelConfig, MlmModelKind, MlmRunConfig, PRETRAINING_MASK_PROBABILITY,
    TokenizerChoice,
};
use tinderbox_data::text::TextSource;

/// clap value parser: a packaged classification dataset by name.
fn domain_source(name: &str) -> Result<TextSource, String> {
    match name {
        "rotten-tomatoes" | "bbc-news" | "tweets" => super::text_source(&[name.into()], "", ""),
        other => Err(format!(
            "unknown domain {other:?}: expected rotten-tomatoes, bbc-news or tweets (or --corpus PATH)"
        )),
    }
}

/// A pre-training run's model, data and budget; the optimizer options are [`OptimArgs`].
#[derive(Debug, Clone, Args)]
pub struct MlmArgs {
    /// bert (BertForMaskedLM) or lstm (the seeds' embedding 256 + LSTM 128 toy).
    #[arg(long, default_value = "bert")]
    pub model: MlmModelKind,
    /// Transformer layers [default: 4].
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub layers: Option<u64>,
    /// Hidden size (BERT) or LSTM units [default: 256; 128 for lstm].
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub hidden: Option<u64>,
    /// Attention heads [default: 4].
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub heads: Option<u64>,
    /// Feed-forward size [default: 4 x hidden].
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub ffn: Option<u64>,
    /// Dropout of BERT's hidden states and attention probabilities [default: 0; BERT's is 0.1].
    #[arg(long, value_parser = fraction)]
    pub dropout: Option<f64>,
    /// Standard deviation of BERT's normal initialiser (its `initializer_range`) [default: 0.05;
    /// BERT's is 0.02].
    #[arg(long, value_parser = positive)]
    pub initializer_range: Option<f64>,
    /// Tokens per packed sequence, [CLS] and [SEP] included.
    #[arg(long, default_value_t = 128, value_parser = clap::value_parser!(u64).range(3..))]
    pub max_len: u64,
    /// Steps or minutes, warm-up, evaluation and checkpoint cadence.
    #[command(flatten)]
    pub budget: StepBudgetArgs,
    /// A text file or a folder of .txt files (one document each) instead of the English corpora.
    #[arg(long, value_name = "PATH", conflicts_with = "domain")]
    pub corpus: Option<PathBuf>,
    /// Pre-train on a classification dataset's training texts without their labels (and the
    /// unlabelled texts its package ships: Rotten Tomatoes' synopses), split as
    /// text_classification splits it with --split-seed: rotten-tomatoes, bbc-news or tweets.
    #[arg(long, value_name = "NAME", value_parser = domain_source)]
    pub domain: Option<TextSource>,
    /// With --domain: the seed of the split whose training texts are read.
    #[arg(long, value_name = "SEED", default_value_t = 42, requires = "domain")]
    pub split_seed: u64,
    /// Start from the weights, model, tokenizer and masking of the finished run in DIR and
    /// pre-train on (continued, domain-adaptive pre-training: Gururangan et al. 2020).
    #[arg(long, value_name = "DIR", conflicts_with_all = ["tokenizer", "vocab_size", "layers", "hidden", "heads", "ffn"])]
    pub continue_from: Option<PathBuf>,
    /// Size of the WordPiece trained on the training documents.
    #[arg(long, default_value_t = 8192, value_parser = clap::value_parser!(u64).range(1..))]
    pub vocab_size: u64,
    /// Use this tokenizer.json (for example MiniLM's) instead of training one.
    #[arg(long, value_name = "PATH", conflicts_with = "vocab_size")]
    pub tokenizer: Option<PathBuf>,
    /// Mask whole words (all their ## pieces together).
    #[arg(long)]
    pub whole_word: bool,
    /// Share of the training tokens chosen for prediction (the held-out batches always use
    /// BERT's 0.15).
    #[arg(long, default_value_t = PRETRAINING_MASK_PROBABILITY, value_parser = fraction)]
    pub mask_probability: f64,
    /// Start BERT's position table from random values, as BERT does, instead of sinusoids
    /// (implies --no-local-attention).
    #[arg(long)]
    pub random_positions: bool,
    /// Start every attention head from random values, as BERT does, instead of the first
    /// layer's heads on the neighbouring tokens.
    #[arg(long)]
    pub no_local_attention: bool,
    /// The neighbour each head of the local layers starts on, head h taking the h-th (cycling):
    /// -1 is the token before.
    #[arg(long, value_delimiter = ',', allow_hyphen_values = true, default_values_t = [-1i64, 1, -2, 2])]
    pub local_offsets: Vec<i64>,
    /// How many layers, from the first, start with local heads.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    pub local_layers: u64,
    /// How sharply the local heads start: the score of their offset above the others.
    #[arg(long, default_value_t = 6.0, value_parser = positive)]
    pub local_peak_logit: f64,
    /// Batch size, learning rate (peak, AdamW), seed, accumulation, ...
    #[command(flatten)]
    pub optim: OptimArgs,
}

impl MlmArgs {
    /// The configuration of a new run: the recipe's defaults, then every option given.
    pub fn to_config(&self) -> MlmRunConfig {
        let mut config = MlmRunConfig::new(self.model);
        self.apply_sizes(&mut config.model);
        if let MlmModelConfig::Bert(bert) = &mut config.model {
            bert.max_position_embeddings = bert.max_position_embeddings.max(self.max_len as usize);
            if let Some(p) = self.dropout {
                bert.hidden_dropout_prob = p;
                bert.attention_probs_dropout_prob = p;
            }
            if let Some(std) = self.initializer_range {
                bert.initializer_range = std;
            }
        }
        config.corpus = self.corpus.clone();
        config.domain = self.domain.clone().map(|source| DomainText {
            split_seed: self.split_seed,
            ..DomainText::new(source)
        });
        config.tokenizer = match &self.tokenizer {
            Some(path) => TokenizerChoice::File { path: path.clone() },
            None => TokenizerChoice::Train {
                vocab_size: self.vocab_size as usize,
            },
        };
        config.max_len = self.max_len as usize;
        config.whole_word_masking = self.whole_word;
        config.train_mask_probability = self.mask_probability;
        config.sinusoidal_positions = !self.random_positions;
        config.local_heads =
            (!self.random_positions && !self.no_local_attention).then(|| LocalHeadsInit {
                offsets: self.local_offsets.clone(),
                layers: self.local_layers as usize,
                peak_logit: self.local_peak_logit,
            });
        self.optim.apply(&mut config.train, 1);
        self.budget.apply(&mut config.budget, &mut config.train);
        config
    }

    /// A resumed run's configuration with the model asked for: the saved one, unless
    /// `--model` names the other kind; the size options given are applied (the recipe then
    /// refuses sizes that differ from the checkpoint's, naming them).
    pub fn resumed(&self, mut saved: MlmRunConfig) -> MlmRunConfig {
        if self.model != saved.model.kind() {
            saved.model = MlmModelConfig::default_for(self.model);
        }
        self.apply_sizes(&mut saved.model);
        saved
    }

    fn apply_sizes(&self, model: &mut MlmModelConfig) {
        match model {
            MlmModelConfig::Bert(bert) => {
                if let Some(v) = self.layers {
                    bert.num_hidden_layers = v as usize;
                }
                if let Some(v) = self.hidden {
                    bert.hidden_size = v as usize;
                    bert.intermediate_size = 4 * v as usize;
                }
                if let Some(v) = self.heads {
                    bert.num_attention_heads = v as usize;
                }
                if let Some(v) = self.ffn {
                    bert.intermediate_size = v as usize;
                }
            }
            MlmModelConfig::Lstm(lstm) => {
                if let Some(v) = self.hidden {
                    lstm.hidden = v as usize;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use tinderbox_train::LrSchedule;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        mlm: MlmArgs,
    }

    fn parse(args: &[&str]) -> MlmArgs {
        Cli::try_parse_from(std::iter::once("x").chain(args.iter().copied()))
            .unwrap()
            .mlm
    }

    #[test]
    fn no_options_is_the_recipe() {
        assert_eq!(
            parse(&[]).to_config(),
            MlmRunConfig::new(MlmModelKind::Bert)
        );
    }

    #[test]
    fn options_reach_the_config() {
        let config = parse(&[
            "--hidden",
            "64",
            "--heads",
            "2",
            "--lr",
            "0.001",
            "--batch-size",
            "8",
            "--seed",
            "7",
            "--max-steps",
            "50",
            "--warmup-steps",
            "5",
            "--no-local-attention",
        ])
        .to_config();
        let MlmModelConfig::Bert(bert) = &config.model else {
            panic!("not BERT")
        };
        assert_eq!(
            (
                bert.hidden_size,
                bert.intermediate_size,
                bert.num_attention_heads
            ),
            (64, 256, 2)
        );
        assert_eq!(
            (config.train.lr, config.train.batch_size, config.train.seed),
            (0.001, 8, 7)
        );
        assert_eq!(
            (config.budget.max_steps, config.budget.max_minutes),
            (Some(50), None)
        );
        assert!(config.local_heads.is_none());
        assert!(config.domain.is_none() && config.continue_from.is_none());
        assert!(matches!(
            config.train.schedule,
            LrSchedule::WarmupLinear {
                warmup_steps: Some(5),
                ..
            }
        ));
    }

    #[test]
    fn domain_names_a_packaged_dataset_and_its_split() {
        let config = parse(&["--domain", "bbc-news", "--split-seed", "3"]).to_config();
        assert_eq!(
            config.domain,
            Some(DomainText {
                split_seed: 3,
                ..DomainText::new(TextSource::BbcNews)
            })
        );
        let cli = |args: &[&str]| {
            Cli::try_parse_from(std::iter::once("x").chain(args.iter().copied())).map(|c| c.mlm)
        };
        let err = cli(&["--domain", "imdb"]).unwrap_err().to_string();
        assert!(err.contains("unknown domain \"imdb\""), "{err}");
        assert!(cli(&["--domain", "tweets", "--corpus", "x.txt"]).is_err());
        assert!(cli(&["--continue-from", "runs/mlm", "--hidden", "64"]).is_err());
    }
}
