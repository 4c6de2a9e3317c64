//! What can go wrong generating.

/// A generation that cannot run.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    /// A setting out of range.
    #[error("{name} = {value}: expected {expected}")]
    Config {
        /// The setting.
        name: &'static str,
        /// Its value.
        value: String,
        /// What it must be.
        expected: &'static str,
    },
    /// An empty prompt (nothing to condition on).
    #[error("prompt {index} is empty; give at least one token (a BOS token, say)")]
    EmptyPrompt {
        /// Which prompt.
        index: usize,
    },
    /// A prompt that leaves no room in the model's context.
    #[error(
        "prompt {index} has {tokens} tokens; with {max_new_tokens} new ones that passes the \
         model's context of {context} (shorten the prompt or lower max_new_tokens)"
    )]
    TooLong {
        /// Which prompt.
        index: usize,
        /// Its tokens.
        tokens: usize,
        /// Tokens asked for.
        max_new_tokens: usize,
        /// The model's context.
        context: usize,
    },
    /// A token id past the model's vocabulary.
    #[error("prompt {index} holds token id {id}, past the model's vocabulary of {vocab}")]
    UnknownToken {
        /// Which prompt.
        index: usize,
        /// The id.
        id: u32,
        /// The vocabulary size.
        vocab: usize,
    },
    /// The model failed (its cache is full, say).
    #[error(transparent)]
    Model(#[from] tinderbox_nn::ModelError),
    /// A running batch's cache could not take or drop sequences.
    #[error("continuous batching cache: {0}")]
    Cache(String),
    /// Logits could not be read back from the device.
    #[error("reading the logits back: {0}")]
    Read(String),
    /// Decoding tokens to text failed.
    #[error(transparent)]
    Tokenize(#[from] tinderbox_tokenize::TokenizeError),
}
