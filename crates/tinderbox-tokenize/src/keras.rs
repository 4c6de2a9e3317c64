//! The word-level tokenizer of Keras' `Tokenizer(num_words, oov_token)`, built as a
//! `tokenizers` pipeline so that it saves to `tokenizer.json` like any other.
//!
//! Keras' rules (`keras.preprocessing.text`): lowercase, replace every character of `filters`
//! with a space, split on spaces; rank words by count, ties in order of first appearance; the
//! out-of-vocabulary token gets index 1 and the words 2, 3, ...; index 0 is padding; a word
//! whose index is `num_words` or more becomes the out-of-vocabulary index.

use std::collections::HashMap;

use serde_json::json;

use crate::error::{Result, TokenizeError};
use crate::tokenizer::Tokenizer;

/// Keras' default `filters`: punctuation, tab and newline.
pub const KERAS_FILTERS: &str = "!\"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n";

/// The settings of Keras' `Tokenizer`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KerasOptions {
    /// Keep indices below this: padding, the OOV token and the `num_words - 2` most frequent words.
    pub num_words: usize,
    /// The out-of-vocabulary token, index 1.
    pub oov_token: String,
    /// The padding token, index 0 (Keras has none; `tokenizers` needs a name).
    pub pad_token: String,
    /// Lowercase first.
    pub lower: bool,
    /// Characters replaced by a space.
    pub filters: String,
}

impl KerasOptions {
    /// `Tokenizer(num_words=num_words, oov_token="<OOV>")` with Keras' other defaults.
    pub fn new(num_words: usize) -> Self {
        Self {
            num_words,
            oov_token: "<OOV>".into(),
            pad_token: "<PAD>".into(),
            lower: true,
            filters: KERAS_FILTERS.into(),
        }
    }
}

/// Keras' `text_to_word_sequence`: lowercase, filters to spaces, split on single spaces.
pub fn keras_words(text: &str, options: &KerasOptions) -> Vec<String> {
    let text = if options.lower {
        text.to_lowercase()
    } else {
        text.to_string()
    };
    let spaced: String = text
        .chars()
        .map(|c| if options.filters.contains(c) { ' ' } else { c })
        .collect();
    spaced
        .split(' ')
        .filter(|w| !w.is_empty())
        .map(String::from)
        .collect()
}

fn escape_for_class(c: char) -> String {
    match c {
        '\\' | ']' | '[' | '^' | '-' => format!("\\{c}"),
        '\t' => "\\t".into(),
        '\n' => "\\n".into(),
        '\r' => "\\r".into(),
        c => c.to_string(),
    }
}

impl Tokenizer {
    /// Fits Keras' word-level tokenizer on `texts` (the training set only, as Keras'
    /// `fit_on_texts`).
    ///
    /// ```
    /// use tinderbox_tokenize::{EncodeOptions, KerasOptions, TextTokenizer, Tokenizer};
    ///
    /// let texts = ["The cat sat.", "The dog sat!", "A cat?"];
    /// let tok = Tokenizer::fit_keras(texts.iter(), &KerasOptions::new(5)).unwrap();
    /// // <PAD>=0, <OOV>=1, the=2, cat=3, sat=4; "dog" and "a" fall outside num_words=5.
    /// let batch = tok.encode_batch(&["the dog sat"], &EncodeOptions::keras(5)).unwrap();
    /// assert_eq!(batch.ids[0], vec![0, 0, 2, 1, 4]);
    /// ```
    pub fn fit_keras<I, S>(texts: I, options: &KerasOptions) -> Result<Self>
    where
        I: Iterator<Item = S>,
        S: AsRef<str>,
    {
        if options.num_words < 3 {
            return Err(TokenizeError::Train {
                kind: "Keras word-level",
                reason: format!(
                    "num_words {} leaves no room for words next to padding and <OOV>",
                    options.num_words
                ),
            });
        }
        if options.filters.contains(' ') {
            return Err(TokenizeError::Train {
                kind: "Keras word-level",
                reason: "filters must not contain the space that words are split on".into(),
            });
        }
        // Counts in order of first appearance, as Keras' OrderedDict.
        let mut order: Vec<String> = Vec::new();
        let mut counts: HashMap<String, u64> = HashMap::new();
        for text in texts {
            for word in keras_words(text.as_ref(), options) {
                let count = counts.entry(word.clone()).or_insert(0);
                if *count == 0 {
                    order.push(word);
                }
                *count += 1;
            }
        }
        // Stable sort by count, descending: ties keep their first-appearance order.
        order.sort_by(|a, b| counts[b].cmp(&counts[a]));

        let mut vocab = serde_json::Map::new();
        vocab.insert(options.pad_token.clone(), json!(0));
        vocab.insert(options.oov_token.clone(), json!(1));
        for (i, word) in order.iter().take(options.num_words - 2).enumerate() {
            vocab.insert(word.clone(), json!(i + 2));
        }
        let class: String = options.filters.chars().map(escape_for_class).collect();
        let mut normalizers = Vec::new();
        if options.lower {
            normalizers.push(json!({"type": "Lowercase"}));
        }
        if !class.is_empty() {
            normalizers.push(json!({
                "type": "Replace",
                "pattern": {"Regex": format!("[{class}]")},
                "content": " "
            }));
        }
        let added = |id: u32, content: &str| {
            json!({"id": id, "content": content, "single_word": false, "lstrip": false,
                   "rstrip": false, "normalized": false, "special": true})
        };
        let spec = json!({
            "version": "1.0",
            "truncation": null,
            "padding": null,
            "added_tokens": [added(0, &options.pad_token), added(1, &options.oov_token)],
            "normalizer": {"type": "Sequence", "normalizers": normalizers},
            "pre_tokenizer": {"type": "Split", "pattern": {"String": " "},
                              "behavior": "Removed", "invert": false},
            "post_processor": null,
            "decoder": null,
            "model": {"type": "WordLevel", "vocab": vocab, "unk_token": options.oov_token},
        });
        let bytes = serde_json::to_vec(&spec).map_err(|e| TokenizeError::Train {
            kind: "Keras word-level",
            reason: e.to_string(),
        })?;
        Tokenizer::from_bytes(&bytes)
    }
}
