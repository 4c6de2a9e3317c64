//! The options of `examples/text_classification.rs` that describe a new run, and the run
//! configuration they make.

use std::path::PathBuf;

use clap::Args;
use tinderbox_data::text::TextSource;
use tinderbox_heads::{Distillation, Pooling};
use tinderbox_nn::pruning::MagnitudePruningConfig;
use tinderbox_tokenize::Side;

use super::{TrainArgs, fraction, positive, unit_interval};
use crate::Error;
use crate::recipes::text_classification::{
    BertEncoderConfig, TeacherConfig, TextEncoderConfig, TextModel, TextRunConfig,
};

/// What a text-classification run trains on and how; unset options keep the model's preset.
#[derive(Debug, Clone, Args)]
pub struct TextArgs {
    /// rotten-tomatoes, bbc-news, tweets, `csv PATH` (.csv, .tsv or .jsonl) or `folder PATH`.
    #[arg(long, num_args = 1..=2, value_names = ["NAME", "PATH"], default_values = ["rotten-tomatoes"])]
    pub dataset: Vec<String>,
    /// The column (or JSON field) with the text, for `--dataset csv`.
    #[arg(long, default_value = "text")]
    pub text_col: String,
    /// The column (or JSON field) with the label, for `--dataset csv`.
    #[arg(long, default_value = "label")]
    pub label_col: String,
    /// lstm (the seed), bow (averaged word embeddings, fastText-style), minilm (fine-tune the
    /// pretrained all-MiniLM-L6-v2), transformer (a small encoder from scratch) or bert
    /// (BERT-mini: from scratch, or from a pre-training run with --init) [default: lstm; bow
    /// for bbc-news].
    #[arg(long)]
    pub model: Option<TextModel>,
    /// Fine-tune the BERT of a pre-training run (`examples/mlm.rs --out DIR`) or of a Hugging
    /// Face model folder, with its tokenizer (implies --model bert).
    #[arg(long, value_name = "DIR", conflicts_with = "vocab_size")]
    pub init: Option<PathBuf>,
    /// Train a BERT from scratch (`--model bert` or `transformer`) with the tokenizer of DIR (a
    /// pre-training run, a model folder or a text_classification run) instead of a WordPiece
    /// fitted on the training texts: scratch and `--init DIR` then share a vocabulary.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["vocab_size", "init"])]
    pub tokenizer: Option<PathBuf>,
    /// Tokens kept per text [default: 100; 500 for bbc-news; 128 for minilm and transformer].
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_len: Option<u64>,
    /// Vocabulary size (Keras' num_words; the WordPiece size for transformer) [default: 10000;
    /// 8000 for transformer; minilm keeps its own].
    #[arg(long, value_parser = clap::value_parser!(u64).range(3..))]
    pub vocab_size: Option<u64>,
    /// Where padding goes: pre (Keras' default) or post.
    #[arg(long)]
    pub padding: Option<Side>,
    /// Which end truncation cuts: pre (Keras' default, keeps the end) or post [default: pre;
    /// post for bbc-news].
    #[arg(long)]
    pub truncating: Option<Side>,
    /// Pad each batch only to its longest text and batch texts of similar length together.
    #[arg(long)]
    pub bucket: bool,
    /// Distil the run in DIR (a text_classification run with the same classes, e.g. a
    /// fine-tuned MiniLM) into this model: train on its temperature-softened logits as well as
    /// the labels (Hinton et al. 2015). Its logits are computed once and cached in the run.
    #[arg(long, value_name = "DIR")]
    pub teacher: Option<PathBuf>,
    /// With --teacher: the softmax temperature of the soft targets.
    #[arg(long, default_value_t = 2.0, requires = "teacher", value_parser = positive)]
    pub temperature: f64,
    /// With --teacher: the weight of the soft targets in the loss (the labels get 1 - alpha).
    #[arg(long, default_value_t = 0.5, requires = "teacher", value_parser = unit_interval)]
    pub alpha: f64,
    /// How the head pools the encoder's states: mean, max, first (`[CLS]`), pooler (BERT's
    /// dense + tanh over `[CLS]`) or last [default: last for lstm, mean for the others].
    #[arg(long, value_parser = pooling)]
    pub pooling: Option<Pooling>,
    /// BERT encoders: layer-wise learning-rate decay, layer i of L at D^(L - i) of the rate and
    /// the embeddings at D^(L + 1) (Sun et al. 2019 used 0.95).
    #[arg(long, value_name = "D", value_parser = unit_interval)]
    pub layer_lr_decay: Option<f64>,
    /// BERT encoders: keep the embeddings frozen for the first N epochs.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub freeze_embeddings: usize,
    /// Train on only N of the training split's texts (drawn per class with the seed; validation
    /// and test unchanged): a point of a learning curve.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub train_examples: Option<u64>,
    /// Repeat the training texts within an epoch until it holds at least N (with few
    /// --train-examples: as many updates per epoch as a larger training set, one validation).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub epoch_examples: Option<u64>,
    /// Draw the train/validation/test split with SEED instead of --seed, so that runs with
    /// several seeds share their test texts.
    #[arg(long, value_name = "SEED")]
    pub split_seed: Option<u64>,
    /// Prune the encoder's dense layers by magnitude while training, to this fraction of zero
    /// weights (Zhu & Gupta's gradual schedule; the head stays dense).
    #[arg(long, value_parser = fraction)]
    pub sparsity: Option<f64>,
    /// With --sparsity: the fraction of the run by which the target is reached (the rest
    /// recovers at it).
    #[arg(long, default_value_t = 0.75, requires = "sparsity", value_parser = unit_interval)]
    pub prune_end: f64,
    /// Training options.
    #[command(flatten)]
    pub train: TrainArgs,
}

/// clap value parser: a pooling by name (`cls` is `first`).
fn pooling(s: &str) -> Result<Pooling, String> {
    match s {
        "mean" => Ok(Pooling::Mean),
        "max" => Ok(Pooling::Max),
        "first" | "cls" => Ok(Pooling::First),
        "pooler" => Ok(Pooling::Pooler),
        "last" => Ok(Pooling::Last),
        other => Err(format!(
            "unknown pooling {other:?}: expected mean, max, first (cls), pooler or last"
        )),
    }
}

impl TextArgs {
    /// The dataset `--dataset` names.
    pub fn source(&self) -> Result<TextSource, Error> {
        super::text_source(&self.dataset, &self.text_col, &self.label_col).map_err(Error::Invalid)
    }

    /// The configuration of a new run: the model's preset for the dataset, then every option
    /// given.
    pub fn to_config(&self) -> Result<TextRunConfig, Error> {
        let source = self.source()?;
        let model = match (&self.init, self.model) {
            (Some(_), Some(m)) if m != TextModel::Bert => {
                return Err(Error::Invalid(format!(
                    "--init fine-tunes a pre-trained BERT; it does not go with --model {}",
                    m.name()
                )));
            }
            (Some(_), _) => Some(TextModel::Bert),
            (None, m) => m,
        };
        let mut config = match model {
            Some(model) => TextRunConfig::for_model(source, model),
            None => TextRunConfig::for_source(source),
        };
        if let Some(vocab) = self.vocab_size {
            let model = self.model.unwrap_or(config.encoder.model());
            config.encoder = TextEncoderConfig::new(model, vocab as usize);
        }
        if let Some(dir) = &self.init {
            config.encoder = TextEncoderConfig::Bert(BertEncoderConfig::from_run(dir)?);
        }
        if let Some(dir) = &self.tokenizer {
            match &mut config.encoder {
                TextEncoderConfig::Bert(bert) if bert.pretrained.is_none() => {
                    bert.tokenizer = Some(dir.clone());
                }
                _ => {
                    return Err(Error::Invalid(format!(
                        "--tokenizer trains a BERT from scratch with a given vocabulary (--model bert or transformer); this run's model is {}",
                        config.encoder.model().name()
                    )));
                }
            }
        }
        config.max_len = self.max_len.map_or(config.max_len, |v| v as usize);
        config.padding = self.padding.unwrap_or(config.padding);
        config.truncating = self.truncating.unwrap_or(config.truncating);
        // As the example always did: without --bucket, every text is padded to --max-len, the
        // presets' length buckets included (the figures in the docs were measured so).
        config.bucket_by_length = self.bucket;
        config.teacher = self.teacher.as_ref().map(|dir| TeacherConfig {
            dir: dir.clone(),
            distillation: Distillation {
                temperature: self.temperature,
                alpha: self.alpha,
            },
        });
        config.train_examples = self.train_examples.map(|n| n as usize);
        config.epoch_examples = self.epoch_examples.map(|n| n as usize);
        config.split_seed = self.split_seed;
        config.pooling = self.pooling;
        if self.layer_lr_decay.is_some() || self.freeze_embeddings > 0 {
            config.set_bert_lr_groups(self.layer_lr_decay, self.freeze_embeddings)?;
        }
        config.pruning = self.sparsity.map(|sparsity| MagnitudePruningConfig {
            end: self.prune_end,
            ..MagnitudePruningConfig::new(sparsity)
        });
        if let Some(pruning) = &config.pruning {
            pruning.validate()?;
        }
        self.train.apply(&mut config.train);
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        text: TextArgs,
    }

    fn config(args: &[&str]) -> Result<TextRunConfig, Error> {
        let cli = Cli::try_parse_from(std::iter::once("x").chain(args.iter().copied())).unwrap();
        cli.text.to_config()
    }

    #[test]
    fn presets_then_options() {
        let seed = config(&[]).unwrap();
        assert_eq!(seed, TextRunConfig::default());
        let bbc = config(&["--dataset", "bbc-news", "--max-len", "300", "--lr", "0.01"]).unwrap();
        assert_eq!(bbc.encoder.model(), TextModel::Bow);
        assert_eq!((bbc.max_len, bbc.train.lr), (300, 0.01));
        let small = config(&["--model", "transformer", "--vocab-size", "500"]).unwrap();
        assert_eq!(small.encoder.vocab_size(), 500);
        assert!(!small.bucket_by_length);
        assert!(config(&["--bucket"]).unwrap().bucket_by_length);
        let student = config(&["--teacher", "runs/rt-minilm", "--alpha", "0.7"]).unwrap();
        let teacher = student.teacher.unwrap();
        let Distillation { temperature, alpha } = teacher.distillation;
        assert_eq!((temperature, alpha), (2.0, 0.7));
        assert_eq!(teacher.dir, PathBuf::from("runs/rt-minilm"));
        let pruned = config(&["--model", "minilm", "--sparsity", "0.5"]).unwrap();
        assert_eq!(pruned.pruning, Some(MagnitudePruningConfig::new(0.5)));
        assert_eq!(config(&[]).unwrap().pruning, None);
        let cls = config(&["--model", "bert", "--pooling", "cls"]).unwrap();
        assert_eq!(cls.pooling, Some(Pooling::First));
        assert_eq!(config(&[]).unwrap().pooling, None);
        let decayed = config(&["--model", "minilm", "--layer-lr-decay", "0.9"]).unwrap();
        let groups = &decayed.train.lr_groups;
        assert_eq!(groups.len(), 7);
        assert_eq!(groups[5].fragment, "encoder.layer.5.");
        assert!((groups[5].multiplier - 0.9).abs() < 1e-12);
        assert!((groups[6].multiplier - 0.9f64.powi(7)).abs() < 1e-12);
        let e = config(&["--model", "bow", "--freeze-embeddings", "1"]).unwrap_err();
        assert!(e.to_string().contains("apply to BERT encoders"), "{e}");
        let early = config(&["--sparsity", "0.9", "--prune-end", "0.5"]).unwrap();
        assert_eq!(early.pruning.unwrap().end, 0.5);
        let e = config(&["--sparsity", "0.5", "--prune-end", "0"]).unwrap_err();
        assert!(e.to_string().contains("start < end"), "{e}");
    }

    #[test]
    fn a_sparsity_outside_zero_one_is_refused() {
        for bad in ["1", "1.5", "-0.1", "x"] {
            let flag = format!("--sparsity={bad}");
            let e = Cli::try_parse_from(["x", flag.as_str()]).err().unwrap();
            assert!(e.to_string().contains("not a fraction in [0, 1)"), "{e}");
        }
    }

    #[test]
    fn a_given_tokenizer_is_for_bert_from_scratch() {
        let bert = config(&["--model", "bert", "--tokenizer", "runs/mlm"]).unwrap();
        let TextEncoderConfig::Bert(encoder) = &bert.encoder else {
            panic!("{bert:?}");
        };
        assert_eq!(encoder.tokenizer, Some(PathBuf::from("runs/mlm")));
        for model in ["lstm", "minilm"] {
            let e = config(&["--model", model, "--tokenizer", "runs/mlm"]).unwrap_err();
            assert!(e.to_string().contains(&format!("model is {model}")), "{e}");
        }
    }

    #[test]
    fn init_goes_only_with_bert() {
        let err = config(&["--init", "runs/mlm", "--model", "lstm"]).unwrap_err();
        assert!(
            err.to_string().contains("does not go with --model lstm"),
            "{err}"
        );
    }
}
