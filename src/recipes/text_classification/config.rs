//! What defines a text-classification run: the model choice, the encoder's settings, the
//! data and training settings, and the presets of each model (`config.json` of a run).

use std::path::{Path, PathBuf};

use burn::prelude::*;
use serde::{Deserialize, Serialize};
use tinderbox_data::fetch::Cache;
use tinderbox_data::model_packages::ModelPackage;
use tinderbox_data::text::TextSource;
use tinderbox_nn::huggingface::load_bert;
use tinderbox_nn::pruning::MagnitudePruningConfig;
use tinderbox_nn::text::{BagEncoderConfig, LstmEncoderConfig};
use tinderbox_nn::transformer::{BertConfig, BertModel};
use tinderbox_tokenize::Side;
use tinderbox_train::{LrGroup, OptimizerConfig, OptimizerKind, TrainConfig};

use super::TOKENIZER_FILE;
use crate::Error;

/// The text models this program trains, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TextModel {
    /// The seed's Embedding + LSTM + dense classifier (the LSTM's final state is classified).
    Lstm,
    /// A bag of word embeddings, averaged, then the dense layer (fastText-style).
    Bow,
    /// The pretrained all-MiniLM-L6-v2 encoder, fine-tuned, mean-pooled.
    Minilm,
    /// A small BERT-style encoder trained from scratch with its own WordPiece vocabulary.
    Transformer,
    /// BERT-mini (4 layers, hidden 256, 4 heads): fine-tuned from a pre-training run of
    /// `examples/mlm.rs` with `init`, or trained from scratch with its own WordPiece.
    Bert,
}

impl TextModel {
    /// The name `--model` takes.
    pub fn name(self) -> &'static str {
        match self {
            TextModel::Lstm => "lstm",
            TextModel::Bow => "bow",
            TextModel::Minilm => "minilm",
            TextModel::Transformer => "transformer",
            TextModel::Bert => "bert",
        }
    }
}

impl std::str::FromStr for TextModel {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "lstm" => Ok(TextModel::Lstm),
            "bow" => Ok(TextModel::Bow),
            "minilm" => Ok(TextModel::Minilm),
            "transformer" => Ok(TextModel::Transformer),
            "bert" => Ok(TextModel::Bert),
            other => Err(format!(
                "unknown model {other:?}: expected lstm, bow, minilm, transformer or bert"
            )),
        }
    }
}

/// The encoder of a run, with its settings.
// A value that exists once per run: boxing BERT's configuration would save nothing that matters.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", tag = "kind")]
pub enum TextEncoderConfig {
    /// Embedding + LSTM.
    Lstm(LstmEncoderConfig),
    /// Bag of embeddings.
    Bow(BagEncoderConfig),
    /// A BERT encoder, pretrained or not.
    Bert(BertEncoderConfig),
}

/// A BERT encoder of a text-classification run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BertEncoderConfig {
    /// The architecture (for a pretrained model, its `config.json`).
    pub bert: BertConfig,
    /// Where the starting weights and tokenizer come from: `minilm` (all-MiniLM-L6-v2, fetched
    /// into the cache) or a Hugging Face model folder; `None` trains from scratch.
    pub pretrained: Option<String>,
    /// Which model this is, when the above does not say (runs saved before `bert` existed
    /// lack it).
    #[serde(default)]
    pub model: Option<TextModel>,
    /// From scratch only: the tokenizer of this pre-training run, model folder or
    /// text-classification run instead of a WordPiece trained on the training texts, so that a
    /// model from scratch and a pre-trained one can share a vocabulary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokenizer: Option<PathBuf>,
}

impl BertEncoderConfig {
    /// The small encoder `--model transformer` trains from scratch: 2 pre-LayerNorm layers of
    /// width 128 with 2 heads, over a WordPiece vocabulary of `vocab_size` trained on the
    /// training texts.
    pub fn from_scratch(vocab_size: usize) -> Self {
        let mut bert = BertConfig::new(vocab_size, 128, 2, 2, 512);
        bert.max_position_embeddings = 512;
        bert.norm_first = true;
        bert.add_pooler = false;
        Self {
            bert,
            pretrained: None,
            model: Some(TextModel::Transformer),
            tokenizer: None,
        }
    }

    /// all-MiniLM-L6-v2; its configuration is read from the model folder when the run starts.
    pub fn minilm() -> Self {
        Self {
            bert: BertConfig::new(30_522, 384, 6, 12, 1536),
            pretrained: Some(MINILM.into()),
            model: Some(TextModel::Minilm),
            tokenizer: None,
        }
    }

    /// BERT-mini from scratch, the architecture `examples/mlm.rs` pre-trains: 4 post-LayerNorm
    /// layers of width 256 with 4 heads, FFN 1024, 128 positions, over `vocab_size` tokens.
    pub fn bert_mini(vocab_size: usize) -> Self {
        Self {
            bert: BertConfig::bert_mini(vocab_size),
            pretrained: None,
            model: Some(TextModel::Bert),
            tokenizer: None,
        }
    }

    /// The encoder of a pre-training run (`examples/mlm.rs --out DIR`) or of any Hugging Face
    /// BERT folder: its `config.json` now, its weights and tokenizer when the run starts.
    pub fn from_run(dir: &Path) -> Result<Self, Error> {
        let folder = crate::recipes::masked_lm::model_folder(dir);
        let (bert, _) = tinderbox_nn::huggingface::read_bert_config(&folder)?;
        if !folder.join(TOKENIZER_FILE).is_file() {
            return Err(Error::Invalid(format!(
                "{} has no {TOKENIZER_FILE}; --init needs a pre-training run directory or a model folder with its tokenizer",
                folder.display()
            )));
        }
        Ok(Self {
            bert,
            pretrained: Some(folder.display().to_string()),
            model: Some(TextModel::Bert),
            tokenizer: None,
        })
    }

    /// The model folder of the pretrained weights, fetching MiniLM if needed.
    pub(super) fn pretrained_dir(&self) -> Result<Option<PathBuf>, Error> {
        match self.pretrained.as_deref() {
            None => Ok(None),
            Some(MINILM) => Ok(Some(ModelPackage::MiniLmL6V2.prepare(&Cache::from_env()?)?)),
            Some(path) => Ok(Some(PathBuf::from(path))),
        }
    }

    /// The encoder: the pretrained weights if `load_pretrained` and there are any, else BERT's
    /// random initialisation (to be overwritten by a saved model).
    pub(super) fn init(&self, device: &Device, load_pretrained: bool) -> Result<BertModel, Error> {
        // A saved model is about to overwrite the weights: no need to fetch the pretrained ones.
        let pretrained = if load_pretrained {
            self.pretrained_dir()?
        } else {
            None
        };
        match pretrained {
            Some(dir) => Ok(load_bert(dir, device)?),
            None => Ok(self.bert.init(device)?),
        }
    }
}

const MINILM: &str = "minilm";

impl TextEncoderConfig {
    /// The default encoder of `model` for `vocab_size` words.
    pub fn new(model: TextModel, vocab_size: usize) -> Self {
        match model {
            TextModel::Lstm => TextEncoderConfig::Lstm(LstmEncoderConfig::new(vocab_size)),
            TextModel::Bow => TextEncoderConfig::Bow(BagEncoderConfig::new(vocab_size)),
            TextModel::Minilm => TextEncoderConfig::Bert(BertEncoderConfig::minilm()),
            TextModel::Transformer => {
                TextEncoderConfig::Bert(BertEncoderConfig::from_scratch(vocab_size))
            }
            TextModel::Bert => TextEncoderConfig::Bert(BertEncoderConfig::bert_mini(vocab_size)),
        }
    }

    /// The vocabulary size, which is also the tokenizer's (Keras' `num_words`).
    pub fn vocab_size(&self) -> usize {
        match self {
            TextEncoderConfig::Lstm(c) => c.vocab_size,
            TextEncoderConfig::Bow(c) => c.vocab_size,
            TextEncoderConfig::Bert(c) => c.bert.vocab_size,
        }
    }

    /// Whether the tokenizer adds `[CLS]` and `[SEP]` (transformer encoders).
    pub fn special_tokens(&self) -> bool {
        matches!(self, TextEncoderConfig::Bert(_))
    }

    /// The model's name.
    pub fn model(&self) -> TextModel {
        match self {
            TextEncoderConfig::Lstm(_) => TextModel::Lstm,
            TextEncoderConfig::Bow(_) => TextModel::Bow,
            TextEncoderConfig::Bert(c) => c.model.unwrap_or(if c.pretrained.is_some() {
                TextModel::Minilm
            } else {
                TextModel::Transformer
            }),
        }
    }
}

/// Everything that defines a run; saved as the run's `config.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TextRunConfig {
    /// Where the texts come from.
    pub source: TextSource,
    /// Tokens kept per text.
    pub max_len: usize,
    /// Where padding goes (Keras' `pad_sequences(padding=...)`, default the start).
    pub padding: Side,
    /// Which end truncation cuts (Keras' `pad_sequences(truncating=...)`, default the start).
    pub truncating: Side,
    /// Fraction of each class held out for validation.
    pub valid_fraction: f64,
    /// Fraction of each class held out for testing.
    pub test_fraction: f64,
    /// The encoder; its `vocab_size` is also the tokenizer's (Keras' `num_words`).
    pub encoder: TextEncoderConfig,
    /// Dropout before the dense layer.
    pub head_dropout: f64,
    /// Pad each batch only to its longest text and group texts of similar length into batches
    /// (the seed pads every text to `max_len`).
    #[serde(default)]
    pub bucket_by_length: bool,
    /// The training settings; `seed` also draws the split unless `split_seed` is set.
    pub train: TrainConfig,
    /// The seed of the train/validation/test split when it should not follow `train.seed`:
    /// runs with several seeds on one split (learning curves) share their test texts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split_seed: Option<u64>,
    /// A saved run to distil from: the student learns from its logits as well as the labels.
    #[serde(default)]
    pub teacher: Option<TeacherConfig>,
    /// How the head pools the encoder's states, if not the encoder's default (the LSTM's final
    /// state, the mean for the others): `first` is BERT's `[CLS]`, `pooler` its dense + tanh
    /// over it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pooling: Option<tinderbox_heads::Pooling>,
    /// Train on only this many of the training split's texts (drawn per class with the
    /// run's seed; validation and test unchanged), for learning curves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub train_examples: Option<usize>,
    /// Repeat the training texts within an epoch until it holds at least this many, so that a
    /// learning curve's small points get as many updates as the large ones while validating
    /// once per epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epoch_examples: Option<usize>,
    /// Gradual magnitude pruning of the encoder's dense layers while training, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pruning: Option<MagnitudePruningConfig>,
}

/// Knowledge distillation from a saved text-classification run (Hinton et al. 2015).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TeacherConfig {
    /// The teacher's run directory (any model: its own tokenizer reads the texts).
    pub dir: std::path::PathBuf,
    /// Temperature and weight of the teacher's soft targets.
    #[serde(flatten)]
    pub distillation: tinderbox_heads::Distillation,
}

impl Default for TextRunConfig {
    /// The seed program on Rotten Tomatoes.
    fn default() -> Self {
        Self {
            source: TextSource::RottenTomatoes,
            max_len: 100,
            padding: Side::Left,
            truncating: Side::Left,
            valid_fraction: 0.1,
            test_fraction: 0.1,
            encoder: TextEncoderConfig::new(TextModel::Lstm, 10_000),
            head_dropout: 0.0,
            bucket_by_length: false,
            train: TrainConfig::new(1e-3)
                .with_epochs(10)
                .with_batch_size(32)
                .with_optimizer(OptimizerConfig::new(OptimizerKind::Adam))
                .with_restore_best(true),
            teacher: None,
            pooling: None,
            split_seed: None,
            train_examples: None,
            epoch_examples: None,
            pruning: None,
        }
    }
}

impl TextRunConfig {
    /// Fine-tuning choices for a BERT encoder: layer-wise learning-rate decay (layer `i` of `L`
    /// at `decay^(L - i)` of the rate, the embeddings at `decay^(L + 1)`, the head at the full
    /// rate; Sun et al. 2019) and embeddings frozen for the first `freeze_embeddings` epochs.
    /// Replaces the training config's learning-rate groups; another encoder is an error.
    pub fn set_bert_lr_groups(
        &mut self,
        decay: Option<f64>,
        freeze_embeddings: usize,
    ) -> Result<(), Error> {
        let TextEncoderConfig::Bert(bert) = &self.encoder else {
            return Err(Error::Invalid(format!(
                "layer-wise learning rates and frozen embeddings apply to BERT encoders; this run's model is {}",
                self.encoder.model().name()
            )));
        };
        if let Some(d) = decay
            && !(d > 0.0 && d <= 1.0)
        {
            return Err(Error::Invalid(format!(
                "a layer-wise learning-rate decay of {d} is not in (0, 1]"
            )));
        }
        let layers = bert.bert.num_hidden_layers;
        let d = decay.unwrap_or(1.0);
        let mut groups: Vec<LrGroup> = (0..layers)
            .filter(|_| decay.is_some())
            .map(|i| LrGroup {
                fragment: format!("encoder.layer.{i}."),
                multiplier: d.powi((layers - i) as i32),
                frozen_epochs: 0,
            })
            .collect();
        if decay.is_some() || freeze_embeddings > 0 {
            groups.push(LrGroup {
                fragment: "embeddings.".into(),
                multiplier: d.powi(layers as i32 + 1),
                frozen_epochs: freeze_embeddings,
            });
        }
        self.train.lr_groups = groups;
        Ok(())
    }

    /// The defaults for `source`: the seed program, except for BBC News, whose 1,780 long
    /// training articles suit the bag of embeddings better than a 100-token LSTM (0.99 against
    /// 0.75 test accuracy): `bow`, 500 tokens from the start, 30 epochs at 3e-3.
    pub fn for_source(source: TextSource) -> Self {
        let mut config = Self {
            source,
            ..Self::default()
        };
        if config.source == TextSource::BbcNews {
            config.encoder = TextEncoderConfig::new(TextModel::Bow, 10_000);
            config.max_len = 500;
            config.truncating = Side::Right;
            config.train.epochs = 30;
            config.train.lr = 3e-3;
        }
        config
    }

    /// The defaults for `source` and `model`. The transformer encoders follow the Hugging Face
    /// fine-tuning recipe: `[CLS] text [SEP]` cut at 128 tokens, dynamic padding at the end,
    /// AdamW with weight decay 0.01 (none on biases and LayerNorm), a linear warm-up over 10 % of
    /// the steps then linear decay, gradient clipping at global norm 1.0, batch 32; 2 epochs at
    /// 5e-5 for MiniLM, 10 at 5e-4 for the small encoder trained from scratch, 4 at 3e-4 for
    /// BERT-mini (pre-trained or not: the same recipe, so that the two compare; 3e-4 rather
    /// than 1e-4 because it scored better on validation from our checkpoint, docs/pretraining.md).
    pub fn for_model(source: TextSource, model: TextModel) -> Self {
        let mut config = Self::for_source(source);
        let vocab_size = match model {
            TextModel::Transformer => 8_000,
            TextModel::Bert => 8_192,
            _ => config.encoder.vocab_size(),
        };
        config.encoder = TextEncoderConfig::new(model, vocab_size);
        if matches!(
            model,
            TextModel::Minilm | TextModel::Transformer | TextModel::Bert
        ) {
            config.max_len = 128;
            config.padding = Side::Right;
            config.truncating = Side::Right;
            config.bucket_by_length = true;
            let (lr, epochs) = match model {
                TextModel::Minilm => (5e-5, 2),
                TextModel::Bert => (3e-4, 4),
                _ => (5e-4, 10),
            };
            config.train = TrainConfig::transformer(lr, 0.1)
                .with_epochs(epochs)
                .with_restore_best(true);
        }
        config
    }
}
