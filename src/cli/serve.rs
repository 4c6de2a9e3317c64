//! The options of `examples/serve.rs`: which models to serve, where, and the server's limits.

use std::path::PathBuf;

use clap::Args;
use tinderbox_serve::ServeConfig;

use crate::recipes::generation::{ModelChoice, Weights};
use crate::recipes::serving::{EmbeddingsChoice, ServeModels};

/// Models, address and limits of the server.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Serve /v1/embeddings with `minilm` (all-MiniLM-L6-v2, fetched) or a sentence-transformers
    /// folder. With no model option at all, MiniLM embeddings are served.
    #[arg(long)]
    pub embeddings: Option<EmbeddingsChoice>,
    /// Serve /v1/classify with a text_classification run directory.
    #[arg(long, value_name = "RUN_DIR")]
    pub classifier: Option<PathBuf>,
    /// Serve /v1/completions and /v1/chat/completions with `smollm2`, a .gguf file or a GPT-2
    /// folder.
    #[arg(long)]
    pub generator: Option<ModelChoice>,
    /// Expand the generator's quantized GGUF weights to f32 at load.
    #[arg(long = "dequantize")]
    pub dequantize_generator: bool,
    /// The address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// The port (0: any free one).
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// Largest request body, bytes.
    #[arg(long, default_value_t = ServeConfig::default().max_body_bytes)]
    pub max_body_bytes: usize,
    /// Most texts per embeddings or classification request.
    #[arg(long, default_value_t = ServeConfig::default().max_inputs)]
    pub max_inputs: usize,
    /// Tokens per embeddings or classification batch.
    #[arg(long, default_value_t = ServeConfig::default().max_batch_tokens)]
    pub max_batch_tokens: usize,
    /// Requests waiting per model before 503.
    #[arg(long, default_value_t = ServeConfig::default().max_queue)]
    pub max_queue: usize,
    /// Most new tokens a completion may ask for.
    #[arg(long, default_value_t = ServeConfig::default().max_tokens)]
    pub max_tokens: usize,
    /// Sequences decoded together (continuous batching).
    #[arg(long, default_value_t = ServeConfig::default().max_sequences)]
    pub max_sequences: usize,
    /// Positions per sequence, prompt and new tokens.
    #[arg(long, default_value_t = ServeConfig::default().max_context)]
    pub max_context: usize,
}

impl ServeArgs {
    /// The models to load: those named, or MiniLM embeddings when none is.
    pub fn models(&self) -> ServeModels {
        let none =
            self.embeddings.is_none() && self.classifier.is_none() && self.generator.is_none();
        ServeModels {
            embeddings: if none {
                Some(EmbeddingsChoice::MiniLm)
            } else {
                self.embeddings.clone()
            },
            classifier: self.classifier.clone(),
            generator: self.generator.clone(),
            generator_weights: if self.dequantize_generator {
                Weights::Dequantized
            } else {
                Weights::Quantized
            },
        }
    }

    /// The server's limits.
    pub fn config(&self) -> ServeConfig {
        ServeConfig {
            max_body_bytes: self.max_body_bytes,
            max_inputs: self.max_inputs,
            max_batch_tokens: self.max_batch_tokens,
            max_queue: self.max_queue,
            max_tokens: self.max_tokens,
            max_sequences: self.max_sequences,
            max_context: self.max_context,
            ..ServeConfig::default()
        }
    }

    /// `host:port`.
    pub fn address(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}
