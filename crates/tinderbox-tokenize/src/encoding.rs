//! How a batch is encoded (padding, truncation, special tokens) and what comes out.

use serde::{Deserialize, Serialize};

/// Which end of a sequence padding or truncation acts on. Keras' `pad_sequences` defaults to
/// `Left` ("pre") for both; Hugging Face to `Right`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    /// The start of the sequence ("pre").
    Left,
    /// The end of the sequence ("post").
    #[default]
    Right,
}

impl std::str::FromStr for Side {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "pre" | "left" => Ok(Side::Left),
            "post" | "right" => Ok(Side::Right),
            other => Err(format!("unknown side {other:?}: expected pre or post")),
        }
    }
}

/// How long the sequences of a batch are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case", tag = "to", content = "length")]
pub enum Padding {
    /// No padding: sequences keep their own lengths.
    #[default]
    None,
    /// Pad to the longest sequence of the batch (dynamic padding).
    Longest,
    /// Pad every sequence to this length (truncate too if it should never be exceeded).
    Fixed(usize),
}

/// Options of [`TextTokenizer::encode_batch`](crate::TextTokenizer::encode_batch).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct EncodeOptions {
    /// Add the tokenizer's special tokens (`[CLS] ... [SEP]` for BERT).
    pub add_special_tokens: bool,
    /// Padding strategy.
    pub padding: Padding,
    /// Where padding goes.
    pub padding_side: Side,
    /// Cut sequences longer than this, special tokens included.
    pub max_length: Option<usize>,
    /// Which end truncation removes.
    pub truncation_side: Side,
}

impl Default for EncodeOptions {
    /// Special tokens, no padding, no truncation.
    fn default() -> Self {
        Self {
            add_special_tokens: true,
            padding: Padding::None,
            padding_side: Side::Right,
            max_length: None,
            truncation_side: Side::Right,
        }
    }
}

impl EncodeOptions {
    /// Hugging Face style dynamic padding: pad right to the batch's longest, truncate right at
    /// `max_length`.
    pub fn dynamic(max_length: usize) -> Self {
        Self {
            padding: Padding::Longest,
            max_length: Some(max_length),
            ..Self::default()
        }
    }

    /// Keras' `pad_sequences(maxlen=len)`: every sequence exactly `len` long, padded and
    /// truncated at the start ("pre").
    pub fn keras(len: usize) -> Self {
        Self {
            add_special_tokens: false,
            padding: Padding::Fixed(len),
            padding_side: Side::Left,
            max_length: Some(len),
            truncation_side: Side::Left,
        }
    }
}

/// A batch of encoded texts; every field has one row per text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchEncoding {
    /// Token ids.
    pub ids: Vec<Vec<u32>>,
    /// 1 for real tokens, 0 for padding (Hugging Face's `attention_mask`).
    pub attention_mask: Vec<Vec<u32>>,
    /// Segment ids (`token_type_ids`).
    pub type_ids: Vec<Vec<u32>>,
    /// Byte offsets of each token in its text (`(0, 0)` for special and padding tokens).
    pub offsets: Vec<Vec<(usize, usize)>>,
    /// The tokens as strings.
    pub tokens: Vec<Vec<String>>,
}

impl BatchEncoding {
    /// The number of texts.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether the batch holds no text.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The number of real (non-padding) tokens of each text.
    pub fn lengths(&self) -> Vec<usize> {
        self.attention_mask
            .iter()
            .map(|m| m.iter().filter(|&&v| v == 1).count())
            .collect()
    }
}
