//! Masked-language-model pre-training, the seeds' third program done for real: a WordPiece
//! trained on about 30 M characters of English (the npm corpora of `DATA.md`), documents packed
//! into 128-token sequences, BERT's 15 % / 80-10-10 masking, a BERT-mini (or the seeds' LSTM
//! toy) trained for a step or time budget with held-out masked accuracy every N steps, and
//! fill-mask predictions at the end. The BERT run directory holds a Hugging Face
//! `BertForMaskedLM` folder (`model/`) that `text_classification --model bert --init` fine-tunes.

mod config;
mod corpus_prep;
mod domain_corpus;
mod export;
mod model;

use std::path::{Path, PathBuf};

use burn::prelude::*;
use serde::{Deserialize, Serialize};
use tinderbox_data::fetch::Cache;
use tinderbox_data::mlm::{
    MlmBatch, MlmCollator, MlmMasker, MlmMaskingConfig, MlmStream, fixed_batches, word_pieces,
};
use tinderbox_heads::fill_mask::{fill_heldout, fill_mask};
use tinderbox_heads::{FillMaskError, MaskedLm};
use tinderbox_tokenize::{TextTokenizer, Tokenizer};
use tinderbox_train::{
    CONFIG_FILE, Meter, RunDir, Score, StepBatch, StepTrainer, TrainTask, load_model, read_batch,
};

pub use config::{
    MlmModelConfig, MlmModelKind, MlmRunConfig, PRETRAINING_MASK_PROBABILITY, TokenizerChoice,
};
pub use corpus_prep::{HeldOutDocuments, SPLIT_FILE, TOKENIZER_FILE};
pub use domain_corpus::{DomainCorpusCounts, DomainText, write_domain_corpus};
pub use export::export_batches;
pub use model::MlmModel;
pub use tinderbox_heads::fill_mask::{Candidate, FilledMask};

use crate::Error;
use crate::backend::{backend_name, default_device, peak_rss_bytes};

/// The Hugging Face model folder inside a BERT run directory.
pub const MODEL_FOLDER: &str = "model";

/// The folder inside a run directory that a `domain` corpus is written to.
pub const DOMAIN_CORPUS_FOLDER: &str = "domain-corpus";

/// The figures of a finished (or paused) pre-training run, written as `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MlmRunSummary {
    /// `bert` or `lstm`.
    pub model: String,
    /// Trainable parameters.
    pub parameters: usize,
    /// Optimizer steps taken.
    pub steps: usize,
    /// The steps the schedule was laid over.
    pub planned_steps: usize,
    /// Training tokens per second of training-step time.
    pub tokens_per_second: f64,
    /// Masked-token accuracy on the held-out sequences at the last evaluation.
    pub heldout_masked_accuracy: f64,
    /// Mean cross-entropy of the held-out masked tokens.
    pub heldout_loss: f64,
    /// `exp(heldout_loss)`.
    pub perplexity: f64,
    /// Seconds spent in training steps (evaluations and checkpoints excluded).
    pub train_seconds: f64,
    /// Tokens trained on (padding included).
    pub tokens: u64,
    /// The tokenizer's vocabulary size.
    pub vocab_size: usize,
    /// Sequences in the training file.
    pub train_sequences: usize,
    /// Sequences in the held-out file.
    pub heldout_sequences: usize,
    /// Held-out documents.
    pub heldout_documents: usize,
    /// Whether the run reached its budget (false when it paused).
    pub finished: bool,
    /// Fill-mask predictions for a few held-out sentences.
    pub fill_mask: Vec<FilledMask>,
    /// The backend that trained.
    pub backend: String,
    /// Peak resident memory of the process, MiB (Linux).
    pub peak_rss_mib: Option<f64>,
}

/// Reads the configuration saved in a run directory.
pub fn load_run_config(dir: &Path) -> Result<MlmRunConfig, Error> {
    Ok(RunDir::open(dir)?.read_json(CONFIG_FILE)?)
}

/// Pre-trains as `config` says, leaving in `out`: `config.json`, `tokenizer.json`, `split.json`,
/// the sequence files, `metrics.csv`, `curves.png`, checkpoints, `model.bpk`, for BERT a Hugging
/// Face folder `model/`, and `summary.json`. With `resume`, continues the run in `out` (whose
/// saved configuration the caller passes) on the same curve. `pause_after` stops after that many
/// steps of this process, checkpointed, to be resumed later.
pub fn pretrain(
    config: &MlmRunConfig,
    out: &Path,
    resume: bool,
    pause_after: Option<usize>,
) -> Result<MlmRunSummary, Error> {
    config.validate()?;
    let mut config = config.clone();
    if resume {
        check_same_model(&load_run_config(out)?.model, &config.model, out)?;
    }
    let run = RunDir::create(out)?;
    let cache = Cache::from_env()?;
    if let Some(domain) = &config.domain {
        let folder = run.file(DOMAIN_CORPUS_FOLDER);
        if !resume {
            let counts = write_domain_corpus(domain, &cache, &folder)?;
            println!(
                "{} corpus: {} training texts and {} unlabelled ones in {} documents",
                domain.source, counts.training_texts, counts.unlabelled_texts, counts.documents
            );
        }
        config.corpus = Some(folder);
    }
    println!(
        "preparing the tokenizer and the packed sequences in {}",
        out.display()
    );
    let data = corpus_prep::prepare(&config, &run, &cache, resume)?;
    let vocab_size = data.tokenizer.vocab_size();
    if resume && config.model.vocab_size() != vocab_size {
        return Err(Error::Invalid(format!(
            "the run's model has {} tokens but its tokenizer {vocab_size}",
            config.model.vocab_size()
        )));
    }
    config.model.set_vocab_size(vocab_size);
    run.write_json(CONFIG_FILE, &config)?;
    println!(
        "{} training sequences ({} tokens, {} documents), {} held-out sequences ({} documents), vocabulary {vocab_size}",
        data.train.len(),
        data.documents.train_tokens,
        data.documents.train_documents,
        data.heldout.len(),
        data.documents.heldout.len(),
    );

    let device = default_device();
    device.seed(config.train.seed);
    let model = match &config.continue_from {
        // The saved weights replace every value: no starting recipe to apply first.
        Some(dir) => load_model(
            &RunDir::open(dir)?.model_file(),
            MlmModel::blank(&config.model, &device)?,
        )?,
        None => MlmModel::init(&config, &device)?,
    };
    let parameters = model.num_params();
    let (mut stream, eval_batches) = run_batches(&config, &data, &device)?;
    let trainer = StepTrainer::new(
        config.train.clone(),
        config.budget.clone(),
        run.clone(),
        device.clone(),
    )?
    .with_resume(resume)
    .with_pause_after(pause_after);
    let next = |n: usize, device: &Device| {
        stream.batch(n, device).map(|batch| {
            let [b, l] = batch.input_ids.dims();
            StepBatch {
                batch,
                tokens: (b * l) as u64,
            }
        })
    };
    let outcome = trainer.fit(model, next, |m| score(m, &eval_batches))?;
    let (state, finished, trained) = (outcome.state, outcome.finished, outcome.model);
    if let MlmModel::Bert(bert) = &trained {
        let folder = run.file(MODEL_FOLDER);
        bert.save(&folder)?;
        data.tokenizer.save(folder.join(TOKENIZER_FILE))?;
    }
    let fill_mask = heldout_examples(&trained, &data)?;
    let last = state.history.last();
    let heldout_loss = last.and_then(|m| m.eval_loss).unwrap_or(f64::NAN);
    let summary = MlmRunSummary {
        model: format!("{:?}", config.model.kind()).to_lowercase(),
        parameters,
        steps: state.step,
        planned_steps: state.planned_steps,
        tokens_per_second: state.tokens as f64 / state.train_seconds.max(1e-9),
        heldout_masked_accuracy: last.and_then(|m| m.eval_accuracy).unwrap_or(f64::NAN),
        heldout_loss,
        perplexity: heldout_loss.exp(),
        train_seconds: state.train_seconds,
        tokens: state.tokens,
        vocab_size,
        train_sequences: data.train.len(),
        heldout_sequences: data.heldout.len(),
        heldout_documents: data.documents.heldout.len(),
        finished,
        fill_mask,
        backend: backend_name(&device),
        peak_rss_mib: peak_rss_bytes().map(|b| b as f64 / (1 << 20) as f64),
    };
    run.write_json("summary.json", &summary)?;
    Ok(summary)
}

/// A resumed run keeps its model: a configuration of another size is an error naming the
/// settings that differ, not a model that the checkpoint would not fit.
fn check_same_model(
    saved: &MlmModelConfig,
    asked: &MlmModelConfig,
    dir: &Path,
) -> Result<(), Error> {
    let fields = |c: &MlmModelConfig| -> Vec<(&'static str, String)> {
        match c {
            MlmModelConfig::Bert(b) => vec![
                ("model", "bert".into()),
                ("layers", b.num_hidden_layers.to_string()),
                ("hidden", b.hidden_size.to_string()),
                ("heads", b.num_attention_heads.to_string()),
                ("ffn", b.intermediate_size.to_string()),
                ("positions", b.max_position_embeddings.to_string()),
            ],
            MlmModelConfig::Lstm(l) => vec![
                ("model", "lstm".into()),
                ("embedding", l.embed_dim.to_string()),
                ("hidden", l.hidden.to_string()),
            ],
        }
    };
    let (saved, asked) = (fields(saved), fields(asked));
    if saved == asked {
        return Ok(());
    }
    let differences: Vec<String> = if saved[0] != asked[0] {
        vec![format!("model {} (the run is {})", asked[0].1, saved[0].1)]
    } else {
        saved
            .iter()
            .zip(&asked)
            .filter(|(s, a)| s != a)
            .map(|((name, s), (_, a))| format!("{name} {a} (the run has {s})"))
            .collect()
    };
    Err(Error::Invalid(format!(
        "cannot resume {} as another model: {}; resume without size options, or start a new run \
         in another directory",
        dir.display(),
        differences.join(", ")
    )))
}

/// The run's training stream and its fixed held-out batches, both drawn from the run's seed:
/// what `pretrain` trains and scores on, and what `export_batches` writes out.
fn run_batches(
    config: &MlmRunConfig,
    data: &corpus_prep::PreparedData,
    device: &Device,
) -> Result<(MlmStream, Vec<MlmBatch>), Error> {
    let train_collator = collator(config, &data.tokenizer, config.train_mask_probability)?;
    // BERT's 15 % whatever the training rate, so that held-out accuracies compare across runs.
    let heldout_collator = collator(
        config,
        &data.tokenizer,
        MlmMaskingConfig::default().probability,
    )?;
    let stream = MlmStream::new(
        data.train.clone(),
        train_collator,
        config.train.batch_size,
        config.train.seed,
    )?;
    let heldout = fixed_batches(
        &data.heldout,
        &heldout_collator,
        config.train.batch_size,
        config.eval_sequences,
        config.train.seed,
        device,
    )?;
    Ok((stream, heldout))
}

/// BERT's masking of `probability` of the tokens for the run's tokenizer: its special tokens
/// are never chosen.
fn collator(
    config: &MlmRunConfig,
    tokenizer: &Tokenizer,
    probability: f64,
) -> Result<MlmCollator, Error> {
    let specials = tokenizer.special_tokens();
    let (Some(mask), Some(pad)) = (specials.mask.clone(), specials.pad.clone()) else {
        return Err(Error::Invalid(
            "the tokenizer has no [MASK] or [PAD] token".into(),
        ));
    };
    let masking = MlmMaskingConfig {
        whole_word: config.whole_word_masking,
        probability,
        ..MlmMaskingConfig::default()
    };
    let masker = MlmMasker::new(masking, tokenizer.vocab_size(), mask.id, &specials.ids())?;
    let mut collator = MlmCollator::new(masker, pad.id);
    if config.whole_word_masking {
        collator.word_pieces = Some(word_pieces(tokenizer));
    }
    Ok(collator)
}

/// Masked-token loss and accuracy over the fixed held-out batches, weighted by masked tokens.
fn score<M: TrainTask<Batch = MlmBatch>>(model: &M, batches: &[MlmBatch]) -> Result<Score, Error> {
    let mut meter = Meter::default();
    for batch in batches {
        let (loss, correct, count) = read_batch(&model.forward_classification(batch.clone()));
        meter.add(loss, correct, count);
    }
    if meter.count() == 0 {
        return Err(Error::Invalid(
            "the held-out batches hold no masked token".into(),
        ));
    }
    Ok(Score {
        loss: meter.loss(),
        accuracy: meter.accuracy(),
    })
}

/// Fill-mask on three held-out sequences (from the start, a third and two thirds in).
fn heldout_examples<M: MaskedLm>(
    model: &M,
    data: &corpus_prep::PreparedData,
) -> Result<Vec<FilledMask>, Error> {
    let n = data.heldout.len();
    let mut examples = Vec::new();
    for index in [0, n / 3, 2 * n / 3] {
        let sequence = data.heldout.get(index)?;
        if let Some(filled) = fill_heldout(model, &data.tokenizer, &sequence, 24, 5)? {
            examples.push(filled);
        }
    }
    Ok(examples)
}

/// A saved run, ready for fill-mask.
pub struct SavedMlm {
    /// The run's configuration.
    pub config: MlmRunConfig,
    /// Its tokenizer.
    pub tokenizer: Tokenizer,
    /// The trained model.
    pub model: MlmModel,
}

impl SavedMlm {
    /// Loads the run in `dir`: its configuration, tokenizer and final weights (`model.bpk`).
    pub fn load(dir: &Path) -> Result<Self, Error> {
        let config = load_run_config(dir)?;
        let run = RunDir::open(dir)?;
        let tokenizer = Tokenizer::from_file(run.file(TOKENIZER_FILE))?;
        let device = default_device();
        // The saved weights replace every value: no starting recipe to apply first.
        let model = load_model(&run.model_file(), MlmModel::blank(&config.model, &device)?)?;
        Ok(Self {
            config,
            tokenizer,
            model,
        })
    }

    /// The `top` most likely tokens at each `[MASK]` of `text`.
    pub fn fill(&self, text: &str, top: usize) -> Result<FilledMask, FillMaskError> {
        fill_mask(&self.model, &self.tokenizer, text, top)
    }
}

/// The Hugging Face model folder of a pre-training run directory, or `dir` itself when it is
/// already a model folder.
pub fn model_folder(dir: &Path) -> PathBuf {
    let inner = dir.join(MODEL_FOLDER);
    if inner.join("config.json").is_file() {
        inner
    } else {
        dir.to_path_buf()
    }
}
