//! The small trait that models and datasets depend on, so that any tokenizer can feed them.

use crate::encoding::{BatchEncoding, EncodeOptions};
use crate::error::Result;
use crate::special::SpecialTokens;

/// A tokenizer as models and datasets see it: batch encoding with padding, truncation and
/// special tokens, decoding, and the vocabulary's size and special tokens.
pub trait TextTokenizer: Send + Sync {
    /// Encodes `texts` as one batch.
    fn encode_batch(&self, texts: &[&str], options: &EncodeOptions) -> Result<BatchEncoding>;

    /// Turns ids back into text.
    fn decode(&self, ids: &[u32], skip_special_tokens: bool) -> Result<String>;

    /// The number of ids, added tokens included (the embedding size a model needs).
    fn vocab_size(&self) -> usize;

    /// The special tokens it knows.
    fn special_tokens(&self) -> SpecialTokens;

    /// The id of a token, if it is in the vocabulary.
    fn token_to_id(&self, token: &str) -> Option<u32>;

    /// The token of an id, if the id exists.
    fn id_to_token(&self, id: u32) -> Option<String>;
}
