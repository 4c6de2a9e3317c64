//! What can go wrong in the heads' own work (fill-mask); models report `tinderbox_nn::ModelError`.

use tinderbox_tokenize::TokenizeError;

/// A fill-mask request that cannot be answered.
#[derive(Debug, thiserror::Error)]
pub enum FillMaskError {
    /// The tokenizer defines no mask token.
    #[error("the tokenizer has no mask token")]
    NoMaskToken,
    /// The text has no mask token to fill.
    #[error(
        "{text:?} has no {mask} to fill; write it where a word is missing, e.g. \
         \"The president spoke to {mask} about the economy.\""
    )]
    NoMask {
        /// The text.
        text: String,
        /// The tokenizer's mask token.
        mask: String,
    },
    /// Every mask token lies beyond the tokens the model reads.
    #[error("every {mask} of the text lies beyond the model's {max_len} tokens")]
    MaskBeyondLength {
        /// The tokenizer's mask token.
        mask: String,
        /// The tokens the model reads.
        max_len: usize,
    },
    /// A position to predict lies past the end of the sequence.
    #[error("position {position} is past the end of a sequence of {len} tokens")]
    PositionOutOfRange {
        /// The position asked for.
        position: usize,
        /// The sequence's length.
        len: usize,
    },
    /// Tokenizing or decoding failed.
    #[error(transparent)]
    Tokenize(#[from] TokenizeError),
    /// The probabilities could not be read back from the device.
    #[error("reading the probabilities back: {0}")]
    Read(String),
}
