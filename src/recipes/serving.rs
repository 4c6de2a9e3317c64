//! Serving tinderbox's models over HTTP: the models a command names (MiniLM embeddings, a
//! text_classification run, SmolLM2 or another decoder) loaded and handed to
//! `tinderbox_serve`, which answers in OpenAI's shapes.

use std::path::{Path, PathBuf};

use burn::prelude::*;
use serde::Serialize;
use tinderbox_nn::sentence_embeddings::SentenceEncoder;
use tinderbox_serve::{ChatModel, ServeConfig, Server, ServerBuilder, TextModel};
use tinderbox_tokenize::{EncodeOptions, TextTokenizer};

use super::generation::{LanguageModel, ModelChoice, Weights};
use super::sentence_embeddings::minilm;
use super::text_classification::SavedClassifier;
use crate::Error;

/// Which embedding model: `minilm` or a sentence-transformers folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EmbeddingsChoice {
    /// all-MiniLM-L6-v2, fetched into the cache.
    MiniLm,
    /// A folder with `config.json`, `model.safetensors` and `tokenizer.json`.
    Dir(PathBuf),
}

impl std::str::FromStr for EmbeddingsChoice {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "minilm" => Self::MiniLm,
            path => Self::Dir(path.into()),
        })
    }
}

/// The models a server loads (each optional).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServeModels {
    /// For `/v1/embeddings`.
    pub embeddings: Option<EmbeddingsChoice>,
    /// A text_classification run directory, for `/v1/classify`.
    pub classifier: Option<PathBuf>,
    /// For `/v1/completions` and `/v1/chat/completions`.
    pub generator: Option<ModelChoice>,
    /// How the generator's GGUF matrices are held.
    pub generator_weights: Weights,
}

/// What a server serves, as `summary.json` records it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServeSummary {
    /// `id: kind` of each model.
    pub models: Vec<(String, String)>,
    /// The limits.
    pub config: ServeConfig,
    /// The address it listens on, once bound.
    pub address: Option<String>,
}

/// A sentence-transformers encoder as the server's embedding model.
pub struct Embedder(pub SentenceEncoder);

impl TextModel for Embedder {
    fn count_tokens(&self, texts: &[&str]) -> Result<Vec<usize>, String> {
        self.0
            .tokenizer()
            .encode_batch(texts, &EncodeOptions::default())
            .map(|e| e.lengths())
            .map_err(|e| e.to_string())
    }

    fn max_tokens(&self) -> usize {
        self.0.max_length()
    }

    fn run(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, String> {
        self.0
            .embed(texts)
            .map(|out| out.embeddings)
            .map_err(|e| e.to_string())
    }
}

/// A saved text_classification run as the server's classifier.
pub struct Classifier(pub SavedClassifier);

impl TextModel for Classifier {
    fn count_tokens(&self, texts: &[&str]) -> Result<Vec<usize>, String> {
        self.0.count_tokens(texts).map_err(|e| e.to_string())
    }

    fn max_tokens(&self) -> usize {
        self.0.max_tokens()
    }

    fn run(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, String> {
        self.0.probabilities(texts).map_err(|e| e.to_string())
    }
}

/// The name a file or folder is served as (its stem).
fn id_of(path: &Path) -> String {
    path.file_stem().or_else(|| path.file_name()).map_or_else(
        || path.display().to_string(),
        |s| s.to_string_lossy().into_owned(),
    )
}

/// Loads `models` onto `device` and builds the server with `config`.
pub fn build_server(
    models: &ServeModels,
    config: ServeConfig,
    device: &Device,
) -> Result<(Server, ServeSummary), Error> {
    let mut builder = ServerBuilder::new(config.clone())?;
    if let Some(choice) = &models.embeddings {
        let (id, encoder) = match choice {
            EmbeddingsChoice::MiniLm => ("all-MiniLM-L6-v2".to_string(), minilm(device)?),
            EmbeddingsChoice::Dir(dir) => (id_of(dir), SentenceEncoder::from_dir(dir, device)?),
        };
        builder = builder.embeddings(id, Embedder(encoder))?;
    }
    if let Some(dir) = &models.classifier {
        let saved = SavedClassifier::open(dir)?;
        let id = id_of(dir);
        let labels = saved.class_names().to_vec();
        builder = builder.classifier(id, labels, Classifier(saved))?;
    }
    if let Some(choice) = &models.generator {
        let lm = LanguageModel::load(choice, models.generator_weights, device)?;
        let id = match choice {
            ModelChoice::SmolLm2 => "SmolLM2-135M-Instruct".to_string(),
            _ => id_of(&lm.path),
        };
        let chat = ChatModel {
            model: lm.model,
            tokenizer: lm.tokenizer,
            chat_template: lm.chat_template,
            eos_token_ids: lm.eos_token_ids,
            pad_id: lm.pad_id,
        };
        builder = builder.generator(id, chat)?;
    }
    let server = builder.build();
    let models = server
        .state()
        .model_ids()
        .into_iter()
        .map(|(id, kind)| (id, kind.to_string()))
        .collect();
    let summary = ServeSummary {
        models,
        config,
        address: None,
    };
    Ok((server, summary))
}
