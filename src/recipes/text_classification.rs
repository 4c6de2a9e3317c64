//! The seed review classifier: Keras' word-level tokenizer (10,000 words), sequences padded and
//! truncated to 100 tokens at the start, `Embedding(10000, 32)`, `LSTM(32, dropout=0.2,
//! recurrent_dropout=0.2)`, `Dense(1, sigmoid)`, Adam 1e-3, batch 32, 10 epochs, on a seeded,
//! stratified 80/10/10 split; the best validation epoch is tested.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use burn::prelude::*;
use serde::{Deserialize, Serialize};
use tinderbox_data::fetch::Cache;
use tinderbox_data::pretrained::Pretrained;
use tinderbox_data::text::{LabeledTexts, Split, TextBatcher, TextDataset, TextSource};
use tinderbox_heads::{ClassificationHead, ClassificationHeadConfig, Pooling, SequenceClassifier};
use tinderbox_nn::SequenceEncoder;
use tinderbox_nn::pretrained::load_bert;
use tinderbox_nn::text::{BagEncoderConfig, LstmEncoderConfig};
use tinderbox_nn::transformer::{BertConfig, BertModel};
use tinderbox_tokenize::{
    EncodeOptions, KerasOptions, Side, TextTokenizer, Tokenizer, TrainOptions,
};
use tinderbox_train::{
    BERT_NO_DECAY, CONFIG_FILE, ConfusionMatrix, LengthBuckets, LrSchedule, OptimizerConfig,
    OptimizerKind, RunDir, TrainConfig, Trainer, evaluate, load_model, plot_confusion,
};

use crate::Error;
use crate::backend::{backend_name, default_device, peak_rss_bytes};

const SPLIT_FILE: &str = "split.json";
const TOKENIZER_FILE: &str = "tokenizer.json";

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
        }
    }

    /// all-MiniLM-L6-v2; its configuration is read from the model folder when the run starts.
    pub fn minilm() -> Self {
        Self {
            bert: BertConfig::new(30_522, 384, 6, 12, 1536),
            pretrained: Some(MINILM.into()),
            model: Some(TextModel::Minilm),
        }
    }

    /// BERT-mini from scratch, the architecture `examples/mlm.rs` pre-trains: 4 post-LayerNorm
    /// layers of width 256 with 4 heads, FFN 1024, 128 positions, over `vocab_size` tokens.
    pub fn bert_mini(vocab_size: usize) -> Self {
        let mut bert = BertConfig::new(vocab_size, 256, 4, 4, 1_024);
        bert.max_position_embeddings = 128;
        bert.add_pooler = false;
        Self {
            bert,
            pretrained: None,
            model: Some(TextModel::Bert),
        }
    }

    /// The encoder of a pre-training run (`examples/mlm.rs --out DIR`) or of any Hugging Face
    /// BERT folder: its `config.json` now, its weights and tokenizer when the run starts.
    pub fn from_run(dir: &Path) -> Result<Self, Error> {
        let folder = crate::recipes::masked_lm::model_folder(dir);
        let (bert, _) = tinderbox_nn::pretrained::read_bert_config(&folder)?;
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
        })
    }

    /// The model folder of the pretrained weights, fetching MiniLM if needed.
    fn pretrained_dir(&self) -> Result<Option<PathBuf>, Error> {
        match self.pretrained.as_deref() {
            None => Ok(None),
            Some(MINILM) => Ok(Some(Pretrained::MiniLmL6V2.prepare(&Cache::from_env()?)?)),
            Some(path) => Ok(Some(PathBuf::from(path))),
        }
    }

    /// The encoder: the pretrained weights if `load_pretrained` and there are any, else BERT's
    /// random initialisation (to be overwritten by a saved model).
    fn init(&self, device: &Device, load_pretrained: bool) -> Result<BertModel, Error> {
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
    /// The training settings; `seed` also draws the split.
    pub train: TrainConfig,
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
        }
    }
}

impl TextRunConfig {
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
    /// 5e-5 for MiniLM, 10 at 5e-4 for the small encoder trained from scratch, 4 at 1e-4 for
    /// BERT-mini (pre-trained or not: the same recipe, so that the two compare).
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
                TextModel::Bert => (1e-4, 4),
                _ => (5e-4, 10),
            };
            config.train = TrainConfig::new(lr)
                .with_epochs(epochs)
                .with_batch_size(32)
                .with_optimizer(
                    OptimizerConfig::new(OptimizerKind::AdamW)
                        .with_weight_decay(0.01)
                        .with_no_decay(&BERT_NO_DECAY),
                )
                .with_schedule(LrSchedule::WarmupLinear {
                    warmup_ratio: 0.1,
                    warmup_steps: None,
                })
                .with_clip_grad_norm(Some(1.0))
                .with_restore_best(true);
        }
        config
    }
}

/// The figures of a finished run, written as `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TextRunSummary {
    /// Accuracy on the test split.
    pub test_accuracy: f64,
    /// Unweighted mean of the per-class F1 scores on the test split.
    pub test_macro_f1: f64,
    /// Mean loss on the test split.
    pub test_loss: f64,
    /// The epoch whose weights were tested (best validation loss).
    pub best_epoch: Option<usize>,
    /// Validation accuracy of that epoch.
    pub best_valid_accuracy: Option<f64>,
    /// Epochs trained.
    pub epochs: usize,
    /// The dataset.
    pub dataset: String,
    /// The model.
    pub model: String,
    /// Class names, in id order.
    pub class_names: Vec<String>,
    /// `confusion[true][predicted]` on the test split.
    pub confusion: Vec<Vec<u64>>,
    /// Wall-clock seconds of training in the process that finished the run.
    pub train_seconds: f64,
    /// Wall-clock seconds of each epoch, validation included.
    pub seconds_per_epoch: Vec<f64>,
    /// Training, validation and test texts.
    pub examples: [usize; 3],
    /// Texts that held bytes that were not UTF-8 (read lossily).
    pub lossy_texts: usize,
    /// `flex`, `wgpu` or `cuda`.
    pub backend: String,
    /// Peak resident memory of the process, in MiB (Linux only).
    pub peak_rss_mib: Option<f64>,
}

/// Runs `$body` with `$model` bound to the classifier that `$config` describes, whatever its
/// encoder type (each arm is a separately compiled, fully typed program). With `$pretrained`, a
/// BERT encoder starts from its pretrained weights; otherwise from a random initialisation that
/// a saved model then overwrites.
macro_rules! with_model {
    ($config:expr, $classes:expr, $device:expr, $pretrained:expr, |$model:ident| $body:expr) => {
        match &$config.encoder {
            TextEncoderConfig::Lstm(c) => {
                let $model = classifier(c.init($device), Pooling::Last, $config, $classes, $device);
                $body
            }
            TextEncoderConfig::Bow(c) => {
                let $model = classifier(c.init($device), Pooling::Mean, $config, $classes, $device);
                $body
            }
            TextEncoderConfig::Bert(c) => {
                let encoder = c.init($device, $pretrained)?;
                let $model = classifier(encoder, Pooling::Mean, $config, $classes, $device);
                $body
            }
        }
    };
}

fn classifier<E: SequenceEncoder>(
    encoder: E,
    pooling: Pooling,
    config: &TextRunConfig,
    classes: usize,
    device: &Device,
) -> SequenceClassifier<E, ClassificationHead> {
    let head = ClassificationHeadConfig::new(encoder.hidden_size(), classes)
        .with_pooling(pooling)
        .with_dropout(config.head_dropout)
        .init(device);
    SequenceClassifier::new(encoder, head)
}

fn encode_options(config: &TextRunConfig) -> EncodeOptions {
    EncodeOptions {
        add_special_tokens: config.encoder.special_tokens(),
        max_length: Some(config.max_len),
        truncation_side: config.truncating,
        ..EncodeOptions::default()
    }
}

fn batcher(config: &TextRunConfig, tokenizer: &Tokenizer) -> Result<TextBatcher, Error> {
    let pad = tokenizer
        .special_tokens()
        .pad
        .ok_or_else(|| Error::Invalid("the tokenizer has no padding token".into()))?;
    Ok(TextBatcher {
        pad_id: pad.id,
        // Keras pads every sequence to max_len; the LSTM runs over that padding.
        fixed_len: (!config.bucket_by_length).then_some(config.max_len),
        side: config.padding,
    })
}

/// The run's tokenizer: Keras' word-level one fitted on the training texts for the LSTM and
/// bag models, the pretrained model's own (whose `config.json` then replaces the encoder's
/// sizes), or a WordPiece trained on the training texts for a transformer from scratch.
fn fit_tokenizer(config: &mut TextRunConfig, train: &LabeledTexts) -> Result<Tokenizer, Error> {
    let vocab_size = config.encoder.vocab_size();
    match &mut config.encoder {
        TextEncoderConfig::Bert(bert) => match bert.pretrained_dir()? {
            Some(dir) => {
                bert.bert = BertConfig::from_file(dir.join(CONFIG_FILE))?;
                let tokenizer = Tokenizer::from_file(dir.join(TOKENIZER_FILE))?;
                super::check_vocabulary(&tokenizer, bert.bert.vocab_size, &dir)?;
                Ok(tokenizer)
            }
            None => Ok(Tokenizer::train_wordpiece(
                train.texts.iter(),
                &TrainOptions::new(vocab_size).with_progress(false),
            )?),
        },
        _ => Ok(Tokenizer::fit_keras(
            train.texts.iter(),
            &KerasOptions::new(vocab_size),
        )?),
    }
}

/// Trains and tests as `config` says, leaving `config.json`, `split.json`, `tokenizer.json`,
/// `metrics.csv`, `curves.png`, `confusion.png`, checkpoints, `model.bpk` and `summary.json` in
/// `out`. With `resume`, continues the run in `out` with its saved split and tokenizer.
pub fn train_and_test(
    config: &TextRunConfig,
    out: &Path,
    resume: bool,
) -> Result<TextRunSummary, Error> {
    let mut config = config.clone();
    let config = &mut config;
    if config.max_len == 0 || config.encoder.vocab_size() < 3 {
        return Err(Error::Invalid(format!(
            "max_len {} must be >= 1 and vocab_size {} >= 3",
            config.max_len,
            config.encoder.vocab_size()
        )));
    }
    let run = RunDir::create(out)?;
    let mut trainer =
        Trainer::new(config.train.clone(), run.clone(), default_device())?.with_resume(resume);
    let data = config.source.load(&Cache::from_env()?)?;
    if data.lossy_texts > 0 {
        eprintln!(
            "note: {} texts held bytes that are not UTF-8 and were read lossily",
            data.lossy_texts
        );
    }
    let split = if resume && run.file(SPLIT_FILE).is_file() {
        let split: Split = run.read_json(SPLIT_FILE)?;
        split.check(&data)?;
        split
    } else {
        Split::stratified(
            &data,
            config.valid_fraction,
            config.test_fraction,
            config.train.seed,
        )?
    };
    run.write_json(SPLIT_FILE, &split)?;
    let [train, valid, test] = split.apply(&data)?;

    let tokenizer = if resume && run.file(TOKENIZER_FILE).is_file() {
        Tokenizer::from_file(run.file(TOKENIZER_FILE)).map_err(|e| Error::Invalid(e.to_string()))?
    } else {
        let fitted = fit_tokenizer(config, &train)?;
        fitted
            .save(run.file(TOKENIZER_FILE))
            .map_err(|e| Error::Invalid(e.to_string()))?;
        fitted
    };
    // After the tokenizer: a pretrained model's config.json completes the encoder's.
    run.write_json(CONFIG_FILE, config)?;
    let options = encode_options(config);
    let encode = |part: &LabeledTexts| TextDataset::encode(part, &tokenizer, &options);
    let (train_set, valid_set, test_set) = (encode(&train)?, encode(&valid)?, encode(&test)?);
    let batcher = batcher(config, &tokenizer)?;
    if config.bucket_by_length {
        let lengths = train_set
            .items()
            .iter()
            .map(|item| item.ids.len())
            .collect();
        trainer = trainer.with_epoch_order(Arc::new(LengthBuckets::new(
            lengths,
            config.train.batch_size,
            50,
        )));
    }

    let device = default_device();
    device.seed(config.train.seed);
    let classes = data.class_names.len();
    let (history, best_epoch, train_seconds, eval) =
        with_model!(config, classes, &device, true, |model| {
            let outcome = trainer.fit(model, train_set, Some(valid_set), batcher)?;
            let eval = evaluate(&outcome.model, test_set, batcher, 256, &device)?;
            (
                outcome.history,
                outcome.best_epoch,
                outcome.train_seconds,
                eval,
            )
        });
    let confusion = ConfusionMatrix::new(&eval.predictions, &eval.targets, classes);
    println!(
        "test confusion matrix:\n{}",
        confusion.to_table(&data.class_names)
    );
    plot_confusion(&confusion, &data.class_names, &run.file("confusion.png"))?;

    let best = best_epoch.and_then(|e| history.get(e - 1));
    let summary = TextRunSummary {
        test_accuracy: eval.accuracy,
        test_macro_f1: confusion.macro_f1(),
        test_loss: eval.loss,
        best_epoch,
        best_valid_accuracy: best.and_then(|m| m.valid_accuracy),
        epochs: history.len(),
        dataset: data.name.clone(),
        model: format!("{:?}", config.encoder.model()).to_lowercase(),
        class_names: data.class_names.clone(),
        confusion: confusion.counts,
        train_seconds,
        seconds_per_epoch: history.iter().map(|m| m.seconds).collect(),
        examples: [train.len(), valid.len(), test.len()],
        lossy_texts: data.lossy_texts,
        backend: backend_name(&device),
        peak_rss_mib: peak_rss_bytes().map(|b| b as f64 / (1 << 20) as f64),
    };
    run.write_json("summary.json", &summary)?;
    Ok(summary)
}

/// Reads the configuration saved in a run directory.
pub fn load_run_config(dir: &Path) -> Result<TextRunConfig, Error> {
    Ok(RunDir::open(dir)?.read_json(CONFIG_FILE)?)
}

/// The scores of a saved run on another labelled dataset.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evaluation {
    /// The dataset.
    pub dataset: String,
    /// Accuracy.
    pub accuracy: f64,
    /// Unweighted mean of the per-class F1 scores.
    pub macro_f1: f64,
    /// `confusion[true][predicted]`, in the run's class order.
    pub confusion: Vec<Vec<u64>>,
    /// The run's class names.
    pub class_names: Vec<String>,
}

/// Scores the model saved in the run `dir` on every text of `source`. Its labels must be among
/// the run's classes; a label the run never saw is an error naming it.
pub fn evaluate_run(dir: &Path, source: &TextSource) -> Result<Evaluation, Error> {
    let run = RunDir::open(dir)?;
    let config: TextRunConfig = run.read_json(CONFIG_FILE)?;
    let summary: TextRunSummary = tinderbox_train::read_json(&run.file("summary.json"))?;
    let data = source.load(&Cache::from_env()?)?;
    let pairs = data
        .texts
        .iter()
        .zip(&data.labels)
        .map(|(text, &label)| (text.clone(), data.class_names[label].clone()))
        .collect();
    let data = LabeledTexts::with_classes(
        &data.name,
        pairs,
        summary.class_names.clone(),
        data.lossy_texts,
    )?;
    let tokenizer = Tokenizer::from_file(run.file(TOKENIZER_FILE))
        .map_err(|e| Error::Invalid(e.to_string()))?;
    let set = TextDataset::encode(&data, &tokenizer, &encode_options(&config))?;
    let batcher = batcher(&config, &tokenizer)?;
    let device = default_device();
    let classes = summary.class_names.len();
    let eval = with_model!(&config, classes, &device, false, |model| {
        evaluate(
            &load_model(&run.model_file(), model)?,
            set,
            batcher,
            256,
            &device,
        )?
    });
    let confusion = ConfusionMatrix::new(&eval.predictions, &eval.targets, classes);
    Ok(Evaluation {
        dataset: data.name,
        accuracy: eval.accuracy,
        macro_f1: confusion.macro_f1(),
        confusion: confusion.counts,
        class_names: summary.class_names,
    })
}

/// One text's prediction.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TextPrediction {
    /// The text.
    pub text: String,
    /// The most likely class.
    pub label: String,
    /// Every class with its probability, in class order.
    pub probabilities: Vec<(String, f32)>,
}

/// Classifies `texts` with the model, tokenizer and classes saved in the run `dir`.
pub fn predict(dir: &Path, texts: &[String]) -> Result<Vec<TextPrediction>, Error> {
    let run = RunDir::open(dir)?;
    let config: TextRunConfig = run.read_json(CONFIG_FILE)?;
    let summary_path: PathBuf = run.file("summary.json");
    let summary: TextRunSummary = tinderbox_train::read_json(&summary_path)?;
    let tokenizer = Tokenizer::from_file(run.file(TOKENIZER_FILE))
        .map_err(|e| Error::Invalid(e.to_string()))?;
    let device = default_device();
    let classes = summary.class_names.len();
    if texts.is_empty() {
        return Ok(Vec::new());
    }
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let encoded = tokenizer
        .encode_batch(&refs, &encode_options(&config))
        .map_err(|e| Error::Invalid(e.to_string()))?;
    let items = encoded
        .ids
        .into_iter()
        .map(|ids| tinderbox_data::text::TextItem { ids, label: 0 })
        .collect();
    let batch = burn::data::dataloader::batcher::Batcher::batch(
        &batcher(&config, &tokenizer)?,
        items,
        &device,
    );
    let probs = with_model!(&config, classes, &device, false, |model| {
        load_model(&run.model_file(), model)?.predict_proba(batch.ids, batch.mask_pad)
    })
    .into_data()
    .convert::<f32>()
    .try_to_vec::<f32>()
    .map_err(|e| Error::Invalid(format!("reading probabilities: {e:?}")))?;
    Ok(texts
        .iter()
        .zip(probs.chunks(classes))
        .map(|(text, p)| {
            let best = (0..classes)
                .max_by(|&a, &b| p[a].total_cmp(&p[b]))
                .unwrap_or(0);
            TextPrediction {
                text: text.clone(),
                label: summary.class_names[best].clone(),
                probabilities: summary
                    .class_names
                    .iter()
                    .cloned()
                    .zip(p.iter().copied())
                    .collect(),
            }
        })
        .collect())
}
