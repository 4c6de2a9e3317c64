//! The special tokens a tokenizer knows, found by their usual names.

use serde::{Deserialize, Serialize};

/// A special token and its id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpecialToken {
    /// Its text, such as `[PAD]`.
    pub token: String,
    /// Its id.
    pub id: u32,
}

/// The special tokens of a tokenizer, where it has them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpecialTokens {
    /// Padding (`[PAD]`, `<pad>`, `<PAD>`).
    pub pad: Option<SpecialToken>,
    /// Unknown or out-of-vocabulary (`[UNK]`, `<unk>`, `<OOV>`).
    pub unk: Option<SpecialToken>,
    /// Start of a sequence, classification token (`[CLS]`, `<s>`).
    pub cls: Option<SpecialToken>,
    /// Separator, end of a sequence (`[SEP]`, `</s>`).
    pub sep: Option<SpecialToken>,
    /// Mask for masked-LM (`[MASK]`, `<mask>`).
    pub mask: Option<SpecialToken>,
}

impl SpecialTokens {
    pub(crate) fn find(lookup: impl Fn(&str) -> Option<u32>) -> Self {
        let first = |names: &[&str]| {
            names.iter().find_map(|name| {
                lookup(name).map(|id| SpecialToken {
                    token: name.to_string(),
                    id,
                })
            })
        };
        Self {
            pad: first(&["[PAD]", "<pad>", "<PAD>"]),
            unk: first(&["[UNK]", "<unk>", "<OOV>", "<UNK>"]),
            cls: first(&["[CLS]", "<s>", "<cls>"]),
            sep: first(&["[SEP]", "</s>", "<sep>"]),
            mask: first(&["[MASK]", "<mask>"]),
        }
    }

    /// Every special token's id.
    pub fn ids(&self) -> Vec<u32> {
        [&self.pad, &self.unk, &self.cls, &self.sep, &self.mask]
            .into_iter()
            .flatten()
            .map(|t| t.id)
            .collect()
    }
}
