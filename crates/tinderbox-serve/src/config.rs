//! The server's limits: what a request may ask for and how much may wait.

use serde::{Deserialize, Serialize};

use crate::error::ServeError;

/// Limits on requests, batches and queues. The defaults suit a laptop CPU and SmolLM2-sized
/// models.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServeConfig {
    /// Largest request body, bytes (larger: 413).
    pub max_body_bytes: usize,
    /// Most texts in one embeddings or classification request (OpenAI's limit is 2,048).
    pub max_inputs: usize,
    /// Tokens in one embeddings or classification batch (text-embeddings-inference's
    /// `max-batch-tokens`): requests waiting together are run together up to this many.
    pub max_batch_tokens: usize,
    /// Requests that may wait per model; beyond it a request gets 503 with `Retry-After`.
    pub max_queue: usize,
    /// Most new tokens one completion may ask for.
    pub max_tokens: usize,
    /// Sequences decoded together by continuous batching.
    pub max_sequences: usize,
    /// Positions (prompt and new tokens) a sequence may use; also bounds the running batch's
    /// cache (and the model's own context bounds this).
    pub max_context: usize,
    /// Seconds a client is told to wait when the server is overloaded.
    pub retry_after_seconds: u64,
}

impl Default for ServeConfig {
    fn default() -> Self {
        Self {
            max_body_bytes: 2 << 20,
            max_inputs: 2048,
            max_batch_tokens: 16_384,
            max_queue: 64,
            max_tokens: 512,
            max_sequences: 8,
            max_context: 2048,
            retry_after_seconds: 1,
        }
    }
}

impl ServeConfig {
    /// Checks that every limit is at least 1, naming the first that is not.
    pub fn validate(&self) -> Result<(), ServeError> {
        for (name, value) in [
            ("max_body_bytes", self.max_body_bytes),
            ("max_inputs", self.max_inputs),
            ("max_batch_tokens", self.max_batch_tokens),
            ("max_queue", self.max_queue),
            ("max_tokens", self.max_tokens),
            ("max_sequences", self.max_sequences),
            ("max_context", self.max_context),
        ] {
            if value == 0 {
                return Err(ServeError::Config {
                    name,
                    value: "0".into(),
                    expected: "at least 1",
                });
            }
        }
        Ok(())
    }
}
