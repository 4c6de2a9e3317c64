//! What a pre-training run is: the model, the data, the tokenizer, the optimizer and the budget,
//! saved as the run's `config.json` so that `--resume` and `--fill` rebuild the same thing.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tinderbox_data::mlm::{Corpus, HeldOutSplit};
use tinderbox_heads::LstmForMaskedLmConfig;
use tinderbox_nn::transformer::{BertConfig, LocalHeadsInit};
use tinderbox_train::{CONFIG_FILE, StepBudget, TrainConfig};

use super::domain_corpus::DomainText;
use crate::Error;

/// The models `examples/mlm.rs` pre-trains, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MlmModelKind {
    /// `BertForMaskedLM`: a BERT encoder with the prediction head tied to its embeddings.
    Bert,
    /// The seeds' toy: embedding 256, LSTM 128, softmax over the vocabulary.
    Lstm,
}

impl std::str::FromStr for MlmModelKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "bert" => Ok(Self::Bert),
            "lstm" => Ok(Self::Lstm),
            other => Err(format!("unknown model {other:?}: expected bert or lstm")),
        }
    }
}

/// The architecture of a run's model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", tag = "kind")]
pub enum MlmModelConfig {
    /// BERT (its `config.json`; the vocabulary size is the tokenizer's).
    Bert(BertConfig),
    /// The LSTM toy.
    Lstm(LstmForMaskedLmConfig),
}

impl MlmModelConfig {
    /// BERT-mini (4 layers, hidden 256, 4 heads, FFN 1024, 128 positions, no dropout, weights
    /// drawn with standard deviation 0.05) or the LSTM toy.
    pub fn default_for(kind: MlmModelKind) -> Self {
        match kind {
            MlmModelKind::Bert => {
                let mut bert = BertConfig::bert_mini(8_192);
                // A 30-minute run sees each sequence about once: nothing to regularise against
                // (Geiping & Goldstein, 2022, "Cramming"), and dropout slows the first steps.
                bert.hidden_dropout_prob = 0.0;
                bert.attention_probs_dropout_prob = 0.0;
                // Wider than BERT's 0.02 (close to Glorot's 0.04 to 0.06 at these sizes): the
                // attention scores start less uniform and the model leaves the unigram plateau
                // sooner (docs/pretraining.md).
                bert.initializer_range = 0.05;
                Self::Bert(bert)
            }
            MlmModelKind::Lstm => Self::Lstm(LstmForMaskedLmConfig::new(8_192)),
        }
    }

    /// Which model this is.
    pub fn kind(&self) -> MlmModelKind {
        match self {
            Self::Bert(_) => MlmModelKind::Bert,
            Self::Lstm(_) => MlmModelKind::Lstm,
        }
    }

    /// Sets the vocabulary size (the tokenizer's).
    pub fn set_vocab_size(&mut self, vocab_size: usize) {
        match self {
            Self::Bert(c) => c.vocab_size = vocab_size,
            Self::Lstm(c) => c.vocab_size = vocab_size,
        }
    }

    /// The vocabulary size.
    pub fn vocab_size(&self) -> usize {
        match self {
            Self::Bert(c) => c.vocab_size,
            Self::Lstm(c) => c.vocab_size,
        }
    }
}

/// Where the run's tokenizer comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", tag = "kind")]
pub enum TokenizerChoice {
    /// A WordPiece of `vocab_size` tokens trained on the training documents.
    Train {
        /// Tokens, the five special ones included.
        vocab_size: usize,
    },
    /// An existing `tokenizer.json` (for example MiniLM's 30,522-token WordPiece).
    File {
        /// Its path.
        path: PathBuf,
    },
}

/// The share of tokens the default run masks for training: 40 % rather than BERT's 15 %, after
/// Wettig et al. (2023), "Should You Mask 15% in Masked Language Modeling?". A short run on two
/// cores is starved of predictions, not of context (docs/pretraining.md has the measurements).
pub const PRETRAINING_MASK_PROBABILITY: f64 = 0.4;

/// Runs saved before the setting existed trained with BERT's 15 %.
fn bert_mask_probability() -> f64 {
    0.15
}

/// A pre-training run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MlmRunConfig {
    /// The model.
    pub model: MlmModelConfig,
    /// A text file or folder of `.txt` files; `None` for the four packaged English corpora.
    pub corpus: Option<PathBuf>,
    /// The tokenizer.
    pub tokenizer: TokenizerChoice,
    /// Tokens per packed sequence, `[CLS]` and `[SEP]` included.
    pub max_len: usize,
    /// The held-out documents.
    pub heldout: HeldOutSplit,
    /// Held-out sequences scored at each evaluation (the first ones, with fixed masks).
    pub eval_sequences: usize,
    /// Choose all pieces of a word together.
    pub whole_word_masking: bool,
    /// The share of tokens chosen for prediction in the training batches. The held-out batches
    /// always choose BERT's 15 %, so that accuracies compare across runs.
    #[serde(default = "bert_mask_probability")]
    pub train_mask_probability: f64,
    /// Start BERT's learned position table from sine and cosine waves (see
    /// `tinderbox_nn::transformer::sinusoidal_table`) instead of random values, when
    /// `local_heads` (which has its own table) is off.
    #[serde(default)]
    pub sinusoidal_positions: bool,
    /// Start BERT's first layers with each head on a fixed neighbour (see
    /// `tinderbox_nn::transformer::LocalHeadsInit`). Its position table replaces the
    /// sinusoids.
    #[serde(default, alias = "local_attention")]
    pub local_heads: Option<LocalHeadsInit>,
    /// Optimizer, schedule, clipping, accumulation, batch size and seed (epochs do not apply).
    pub train: TrainConfig,
    /// Steps or minutes, and the evaluation and checkpoint cadence.
    pub budget: StepBudget,
    /// A finished pre-training run whose weights this run starts from (continued, domain-
    /// adaptive pre-training); its model and tokenizer are this run's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub continue_from: Option<PathBuf>,
    /// A classification dataset whose training texts (and unlabelled package texts) are the
    /// corpus, written into the run directory; `corpus` then names that folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<DomainText>,
}

impl MlmRunConfig {
    /// The default run for `kind`: the English corpora, a WordPiece of 8,192 tokens, sequences
    /// of 128, 2 % of the documents held out, 40 % of the training tokens masked (15 % of the
    /// held-out ones), the first layer's heads started on the two tokens before and the two
    /// after, batch 32, AdamW at 5e-4 (weight decay 0.01, none on biases and LayerNorm),
    /// warm-up over 5 % of the steps then linear decay, clipping at 1.0, 30 minutes of training,
    /// evaluation every 100 steps on 512 held-out sequences.
    pub fn new(kind: MlmModelKind) -> Self {
        let train = TrainConfig::transformer(5e-4, 0.05);
        Self {
            model: MlmModelConfig::default_for(kind),
            corpus: None,
            tokenizer: TokenizerChoice::Train { vocab_size: 8_192 },
            max_len: 128,
            heldout: HeldOutSplit {
                fraction: 0.02,
                seed: 42,
            },
            eval_sequences: 512,
            whole_word_masking: false,
            train_mask_probability: PRETRAINING_MASK_PROBABILITY,
            sinusoidal_positions: true,
            local_heads: Some(LocalHeadsInit::default()),
            train,
            budget: StepBudget {
                max_steps: None,
                max_minutes: Some(30.0),
                eval_every: 100,
                checkpoint_every: 200,
            },
            continue_from: None,
            domain: None,
        }
    }

    /// Makes this a continuation of the finished run in `dir`: its model, tokenizer, sequence
    /// length and training masking rate, its weights as the start (so no starting recipe);
    /// the corpus, optimizer and budget stay this configuration's.
    pub fn continue_pretraining(&mut self, dir: &Path) -> Result<(), Error> {
        let saved: MlmRunConfig = tinderbox_train::RunDir::open(dir)?.read_json(CONFIG_FILE)?;
        self.model = saved.model;
        self.tokenizer = TokenizerChoice::File {
            path: dir.join(super::TOKENIZER_FILE),
        };
        self.max_len = saved.max_len;
        self.train_mask_probability = saved.train_mask_probability;
        self.whole_word_masking = saved.whole_word_masking;
        self.local_heads = None;
        self.sinusoidal_positions = false;
        self.continue_from = Some(dir.to_path_buf());
        Ok(())
    }

    /// The corpora to read.
    pub fn corpora(&self) -> Vec<Corpus> {
        match &self.corpus {
            Some(path) => vec![Corpus::Path(path.clone())],
            None => Corpus::ENGLISH.to_vec(),
        }
    }

    /// Checks the settings that the crates below would reject late or obscurely.
    pub fn validate(&self) -> Result<(), Error> {
        let invalid = |reason: String| Err(Error::Invalid(reason));
        if let TokenizerChoice::Train { vocab_size } = self.tokenizer
            && vocab_size <= 5
        {
            return invalid(format!(
                "a vocabulary of {vocab_size} tokens leaves no room next to the 5 special tokens \
                 ([PAD], [UNK], [CLS], [SEP], [MASK]); use --vocab-size 6 or more (8192 by default)"
            ));
        }
        if self.max_len < 3 {
            return invalid(format!(
                "--max-len {} leaves no room between [CLS] and [SEP]; use 3 or more",
                self.max_len
            ));
        }
        if let MlmModelConfig::Bert(bert) = &self.model {
            if self.max_len > bert.max_position_embeddings {
                return invalid(format!(
                    "--max-len {} exceeds the model's {} positions",
                    self.max_len, bert.max_position_embeddings
                ));
            }
            if bert.hidden_size % bert.num_attention_heads.max(1) != 0 {
                return invalid(format!(
                    "--hidden {} is not a multiple of --heads {}",
                    bert.hidden_size, bert.num_attention_heads
                ));
            }
            if let Some(local) = &self.local_heads
                && let Err(e) = local.validate_for(bert)
            {
                return invalid(format!(
                    "local attention: {e} (see --local-offsets, --local-layers, \
                     --local-peak-logit, or --no-local-attention)"
                ));
            }
        }
        if !(self.heldout.fraction > 0.0 && self.heldout.fraction < 1.0) {
            return invalid(format!(
                "the held-out fraction {} must be in (0, 1)",
                self.heldout.fraction
            ));
        }
        if !(self.train_mask_probability > 0.0 && self.train_mask_probability <= 1.0) {
            return invalid(format!(
                "--mask-probability {} must be in (0, 1]",
                self.train_mask_probability
            ));
        }
        if self.eval_sequences == 0 {
            return invalid("eval_sequences must be >= 1".into());
        }
        self.train.validate()?;
        self.budget.validate()?;
        Ok(())
    }
}
