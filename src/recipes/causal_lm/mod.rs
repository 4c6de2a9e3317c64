//! Causal-language-model pre-training: a small GPT-2 trained from scratch on the English corpora
//! of `DATA.md` (or your text) with our own byte-level BPE, on the same packed sequence files,
//! resumable batch stream and `StepTrainer` as the masked-LM recipe, held-out loss and perplexity
//! every N steps, and a Hugging Face GPT-2 folder (`model/`) at the end that `transformers`
//! loads and `examples/generate.rs --model runs/...` samples from.

mod config;
mod export;

use std::path::Path;

use burn::prelude::*;
use serde::{Deserialize, Serialize};
use tinderbox_data::causal_lm::{CausalLmBatch, CausalLmCollator, CausalLmStream};
use tinderbox_data::fetch::Cache;
use tinderbox_data::mlm::{Framing, fixed_batches};
use tinderbox_generate::{GenerationConfig, generate};
use tinderbox_heads::Gpt2ForCausalLm;
use tinderbox_nn::huggingface::save_gpt2;
use tinderbox_tokenize::{TextTokenizer, Tokenizer, TrainOptions};
use tinderbox_train::{
    CONFIG_FILE, Meter, RunDir, Score, StepBatch, StepTrainer, TrainTask, read_batch,
};

pub use config::{CausalLmRunConfig, CausalTokenizer, GPT2_NO_DECAY};
pub use export::{export_batches, initial_weights_folder};

use crate::Error;
use crate::backend::{backend_name, default_device, peak_rss_bytes};
use crate::recipes::packed_corpus::{
    Packing, PreparedData, TOKENIZER_FILE, prepare, train_on_documents,
};

/// The Hugging Face model folder inside a run directory.
pub const MODEL_FOLDER: &str = "model";

/// A held-out text's start and what the model made of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// The prompt: the first tokens of a held-out sequence.
    pub prompt: String,
    /// The model's greedy continuation.
    pub continuation: String,
    /// What the text really said next.
    pub truth: String,
}

/// The figures of a finished (or paused) run, written as `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CausalLmRunSummary {
    /// Trainable parameters (the tied projection counted once).
    pub parameters: usize,
    /// Optimizer steps taken.
    pub steps: usize,
    /// The steps the schedule was laid over.
    pub planned_steps: usize,
    /// Training tokens per second of training-step time.
    pub tokens_per_second: f64,
    /// Mean next-token cross-entropy on the held-out sequences at the last evaluation.
    pub heldout_loss: f64,
    /// `exp(heldout_loss)`, per token of the run's tokenizer.
    pub perplexity: f64,
    /// Next-token accuracy on the held-out sequences.
    pub heldout_accuracy: f64,
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
    /// Whether the run reached its budget (false when it paused).
    pub finished: bool,
    /// Greedy continuations of three held-out texts.
    pub samples: Vec<Sample>,
    /// The backend that trained.
    pub backend: String,
    /// Peak resident memory of the process, MiB (Linux).
    pub peak_rss_mib: Option<f64>,
}

/// Reads the configuration saved in a run directory.
pub fn load_run_config(dir: &Path) -> Result<CausalLmRunConfig, Error> {
    Ok(RunDir::open(dir)?.read_json(CONFIG_FILE)?)
}

/// Pre-trains as `config` says, leaving in `out`: `config.json`, `tokenizer.json`, `split.json`,
/// the sequence files, `metrics.csv`, `curves.png`, checkpoints, `model.bpk`, the Hugging Face
/// folder `model/` (GPT-2's `config.json`, `model.safetensors`, `tokenizer.json`) and
/// `summary.json`. With `resume`, continues the run in `out` (whose saved configuration the
/// caller passes). `pause_after` stops after that many steps of this process, checkpointed.
pub fn pretrain(
    config: &CausalLmRunConfig,
    out: &Path,
    resume: bool,
    pause_after: Option<usize>,
) -> Result<CausalLmRunSummary, Error> {
    config.validate()?;
    let mut config = config.clone();
    if resume {
        let saved = load_run_config(out)?;
        let size = |c: &CausalLmRunConfig| {
            let m = &c.model;
            (m.n_layer, m.n_embd, m.n_head, m.n_positions, m.inner())
        };
        if size(&saved) != size(&config) {
            return Err(Error::Invalid(format!(
                "cannot resume {} as another model: the run has (layers, width, heads, positions, \
                 ffn) {:?}, the options ask for {:?}; resume without size options",
                out.display(),
                size(&saved),
                size(&config)
            )));
        }
    }
    let run = RunDir::create(out)?;
    let cache = Cache::from_env()?;
    println!(
        "preparing the tokenizer and the packed sequences in {}",
        out.display()
    );
    let data = prepare_data(&config, &run, &cache, resume)?;
    let vocab_size = data.tokenizer.vocab_size();
    if resume && config.model.vocab_size != vocab_size {
        return Err(Error::Invalid(format!(
            "the run's model has {} tokens but its tokenizer {vocab_size}",
            config.model.vocab_size
        )));
    }
    config.model.vocab_size = vocab_size;
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
    let model = initial_model(&config, &device)?;
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
    let folder = run.file(MODEL_FOLDER);
    save_gpt2(&trained.transformer, &folder)?;
    data.tokenizer.save(folder.join(TOKENIZER_FILE))?;
    write_tokenizer_config(&folder, &data.tokenizer, config.model.n_positions)?;
    let samples = heldout_samples(&trained, &data)?;
    let last = state.history.last();
    let heldout_loss = last.and_then(|m| m.eval_loss).unwrap_or(f64::NAN);
    let summary = CausalLmRunSummary {
        parameters,
        steps: state.step,
        planned_steps: state.planned_steps,
        tokens_per_second: state.tokens as f64 / state.train_seconds.max(1e-9),
        heldout_loss,
        perplexity: heldout_loss.exp(),
        heldout_accuracy: last.and_then(|m| m.eval_accuracy).unwrap_or(f64::NAN),
        train_seconds: state.train_seconds,
        tokens: state.tokens,
        vocab_size,
        train_sequences: data.train.len(),
        heldout_sequences: data.heldout.len(),
        finished,
        samples,
        backend: backend_name(&device),
        peak_rss_mib: peak_rss_bytes().map(|b| b as f64 / (1 << 20) as f64),
    };
    run.write_json("summary.json", &summary)?;
    Ok(summary)
}

/// `tokenizer_config.json` for `transformers`: without it `AutoTokenizer` builds GPT-2's own
/// tokenizer class from `tokenizer.json`, which drops the prefix space and the `<s>` that every
/// training sequence starts with, and prompts encode differently from ours. Named as the fast
/// tokenizer, `tokenizer.json` is read as it is.
fn write_tokenizer_config(
    folder: &Path,
    tokenizer: &Tokenizer,
    positions: usize,
) -> Result<(), Error> {
    let specials = tokenizer.special_tokens();
    let name = |token: Option<tinderbox_tokenize::SpecialToken>| token.map(|t| t.token);
    let config = serde_json::json!({
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": name(specials.cls),
        "eos_token": name(specials.sep),
        "pad_token": name(specials.pad),
        "model_max_length": positions,
    });
    let bytes = serde_json::to_vec_pretty(&config).map_err(|e| Error::Invalid(e.to_string()))?;
    tinderbox_io::write_atomic(&folder.join("tokenizer_config.json"), &bytes)?;
    Ok(())
}

/// The run's starting weights: GPT-2's initialiser drawn from the run's seed, so that
/// [`export_batches`] can hand the same start to `transformers`.
fn initial_model(config: &CausalLmRunConfig, device: &Device) -> Result<Gpt2ForCausalLm, Error> {
    device.seed(config.train.seed);
    Ok(Gpt2ForCausalLm::new(config.model.init(device)?))
}

/// The tokenizer (trained, or read and checked) and the causal sequence files.
fn prepare_data(
    config: &CausalLmRunConfig,
    run: &RunDir,
    cache: &Cache,
    resume: bool,
) -> Result<PreparedData, Error> {
    let corpora = config.corpora();
    let packing = Packing {
        corpora: &corpora,
        max_len: config.max_len,
        split: &config.heldout,
        framing: Framing::Causal,
    };
    prepare(&packing, run, cache, resume, || {
        let tokenizer = match &config.tokenizer {
            CausalTokenizer::File { path } => Tokenizer::from_file(path)?,
            CausalTokenizer::Train { vocab_size } => {
                let mut options = TrainOptions::new(*vocab_size).with_progress(false);
                options.lowercase = false;
                train_on_documents(&corpora, &config.heldout, cache, |texts| {
                    Tokenizer::train_causal_bpe(texts, &options)
                })?
            }
        };
        let specials = tokenizer.special_tokens();
        if specials.cls.is_none() || specials.sep.is_none() || specials.pad.is_none() {
            return Err(Error::Invalid(
                "the tokenizer needs a start (<s>), an end (</s>) and a padding (<pad>) token \
                 for causal-LM sequences"
                    .into(),
            ));
        }
        Ok(tokenizer)
    })
}

fn collator(config: &CausalLmRunConfig, tokenizer: &Tokenizer) -> Result<CausalLmCollator, Error> {
    let pad = tokenizer
        .special_tokens()
        .pad
        .ok_or_else(|| Error::Invalid("the tokenizer has no padding token".into()))?;
    Ok(CausalLmCollator::new(pad.id, config.model.n_positions))
}

/// The run's training stream and its fixed held-out batches.
fn run_batches(
    config: &CausalLmRunConfig,
    data: &PreparedData,
    device: &Device,
) -> Result<(CausalLmStream, Vec<CausalLmBatch>), Error> {
    let collator = collator(config, &data.tokenizer)?;
    let heldout = fixed_batches(
        &data.heldout,
        &collator,
        config.train.batch_size,
        config.eval_sequences,
        config.train.seed,
        device,
    )?;
    let stream = CausalLmStream::new(
        data.train.clone(),
        collator,
        config.train.batch_size,
        config.train.seed,
    )?;
    Ok((stream, heldout))
}

/// Next-token loss and accuracy over the fixed held-out batches, weighted by predicted tokens.
fn score<M: TrainTask<Batch = CausalLmBatch>>(
    model: &M,
    batches: &[CausalLmBatch],
) -> Result<Score, Error> {
    let mut meter = Meter::default();
    for batch in batches {
        let (loss, correct, count) = read_batch(&model.forward_classification(batch.clone()));
        meter.add(loss, correct, count);
    }
    if meter.count() == 0 {
        return Err(Error::Invalid(
            "the held-out batches predict no token".into(),
        ));
    }
    Ok(Score {
        loss: meter.loss(),
        accuracy: meter.accuracy(),
    })
}

/// Greedy continuations of three held-out sequences (from the start, a third and two thirds
/// in): their first 16 tokens as the prompt, 24 new tokens (fewer when the context is shorter).
fn heldout_samples(model: &Gpt2ForCausalLm, data: &PreparedData) -> Result<Vec<Sample>, Error> {
    let context = model.transformer.config().n_positions;
    let prompt_len = 16.min(context / 2).max(1);
    let new = 24.min(context - prompt_len);
    let n = data.heldout.len();
    let mut samples = Vec::new();
    let pad = data.tokenizer.special_tokens().pad.map_or(0, |t| t.id);
    for index in [0, n / 3, 2 * n / 3] {
        let sequence = data.heldout.get(index)?;
        if sequence.len() <= prompt_len || new == 0 {
            continue;
        }
        let (prompt, rest) = sequence.split_at(prompt_len);
        let config = GenerationConfig::greedy(new);
        let out = generate(
            &model.transformer,
            &data.tokenizer,
            &[prompt.to_vec()],
            &config,
            pad,
            None,
        )?;
        let continuation = out.sequences.first().map(|g| g.text.clone());
        samples.push(Sample {
            prompt: data.tokenizer.decode(prompt, true)?,
            continuation: continuation.unwrap_or_default(),
            truth: data.tokenizer.decode(&rest[..rest.len().min(new)], true)?,
        });
    }
    Ok(samples)
}
