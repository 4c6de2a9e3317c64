//! The programs behind the examples, callable from code and tests: each takes a serialisable
//! config, writes a run directory and returns the figures of its `summary.json`.

use std::path::Path;

use tinderbox_tokenize::{TextTokenizer, Tokenizer};

use crate::Error;

pub mod image_classification;
pub mod masked_lm;
pub mod sentence_embeddings;
pub mod text_classification;

/// Refuses a model folder whose tokenizer knows more tokens than the model's embedding table
/// holds: those ids would index past the table in the middle of a forward pass.
pub(crate) fn check_vocabulary(
    tokenizer: &Tokenizer,
    model_vocab: usize,
    dir: &Path,
) -> Result<(), Error> {
    let tokens = tokenizer.vocab_size();
    if tokens > model_vocab {
        return Err(Error::Invalid(format!(
            "{}: tokenizer.json has {tokens} tokens but config.json's vocab_size is {model_vocab}; \
             the tokenizer does not belong to this model",
            dir.display()
        )));
    }
    Ok(())
}
