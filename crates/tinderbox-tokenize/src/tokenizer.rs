//! [`Tokenizer`]: a Hugging Face `tokenizers::Tokenizer` with load, save and batch encoding.

use std::path::Path;

use tokenizers::{PaddingDirection, TruncationDirection};

use crate::encoding::{BatchEncoding, EncodeOptions, Padding, Side};
use crate::error::{Result, TokenizeError};
use crate::special::SpecialTokens;
use crate::text_tokenizer::TextTokenizer;

/// A tokenizer that round-trips through one `tokenizer.json`: normaliser, pre-tokeniser, model,
/// post-processor and decoder, as the `tokenizers` crate runs them.
///
/// Padding and truncation are options of each [`encode_batch`](TextTokenizer::encode_batch)
/// call, never state: a loaded file's own `padding` and `truncation` settings (MiniLM's pads
/// everything to 128) are dropped, so that batches can be padded dynamically.
///
/// ```
/// use tinderbox_tokenize::{EncodeOptions, TextTokenizer, Tokenizer, TrainOptions};
///
/// let corpus = ["the cat sat on the mat", "the dog sat on the log", "a cat and a dog"];
/// let tokenizer = Tokenizer::train_wordpiece(corpus.iter(), &TrainOptions::new(200)).unwrap();
/// let batch = tokenizer
///     .encode_batch(&["the cat", "a dog sat on the mat"], &EncodeOptions::dynamic(16))
///     .unwrap();
/// assert_eq!(batch.ids[0].len(), batch.ids[1].len()); // padded to the longer one
/// assert_eq!(batch.tokens[0][0], "[CLS]");
/// assert_eq!(tokenizer.decode(&batch.ids[0], true).unwrap(), "the cat");
/// ```
#[derive(Debug, Clone)]
pub struct Tokenizer {
    inner: tokenizers::Tokenizer,
    special: SpecialTokens,
}

impl Tokenizer {
    /// Wraps a `tokenizers::Tokenizer`, dropping its padding and truncation settings.
    pub fn from_hf(mut inner: tokenizers::Tokenizer) -> Self {
        inner.with_padding(None);
        // Removing truncation cannot fail: only setting it is validated.
        let _ = inner.with_truncation(None);
        let special = SpecialTokens::find(|t| inner.token_to_id(t));
        Self { inner, special }
    }

    /// The ids of one text, as Hugging Face's `tokenizer.encode(text)`: no padding, no
    /// truncation; `add_special_tokens` adds what the post-processor adds (BOS for Llamas that
    /// ask for it, `[CLS]`/`[SEP]` for BERTs).
    pub fn encode(&self, text: &str, add_special_tokens: bool) -> Result<Vec<u32>> {
        let encoding = self
            .inner
            .encode(text, add_special_tokens)
            .map_err(codec("encoding"))?;
        Ok(encoding.get_ids().to_vec())
    }

    /// Loads a `tokenizer.json`.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| TokenizeError::Load {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        Self::from_bytes(&bytes).map_err(|e| match e {
            TokenizeError::Load { reason, .. } => TokenizeError::Load {
                path: path.to_path_buf(),
                reason,
            },
            other => other,
        })
    }

    /// Parses the contents of a `tokenizer.json`.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let inner = tokenizers::Tokenizer::from_bytes(bytes).map_err(|e| TokenizeError::Load {
            path: "<bytes>".into(),
            reason: format!("not a tokenizer.json this version of `tokenizers` can read: {e}"),
        })?;
        Ok(Self::from_hf(inner))
    }

    /// Saves as `tokenizer.json`, through a temporary file and a rename.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let fail = |reason: String| TokenizeError::Save {
            path: path.to_path_buf(),
            reason,
        };
        let json = self.to_json()?;
        tinderbox_io::write_atomic(path, json.as_bytes()).map_err(|e| fail(e.to_string()))?;
        Ok(())
    }

    /// The `tokenizer.json` text.
    pub fn to_json(&self) -> Result<String> {
        self.inner.to_string(true).map_err(|e| TokenizeError::Save {
            path: "<string>".into(),
            reason: e.to_string(),
        })
    }

    /// The wrapped `tokenizers::Tokenizer`.
    pub fn hf(&self) -> &tokenizers::Tokenizer {
        &self.inner
    }

    /// Splits `text` into words the way this tokenizer's normaliser and pre-tokeniser do.
    pub fn pre_tokenize(&self, text: &str) -> Result<Vec<String>> {
        let encoding = self.inner.encode(text, false).map_err(codec("encoding"))?;
        let mut words: Vec<String> = Vec::new();
        let mut last = None;
        for (i, word) in encoding.get_word_ids().iter().enumerate() {
            if *word != last || word.is_none() {
                let (start, end) = encoding.get_offsets()[i];
                words.push(text.get(start..end).unwrap_or_default().to_string());
                last = *word;
            }
        }
        Ok(words)
    }

    fn pad_id(&self) -> Result<(u32, String)> {
        self.special
            .pad
            .as_ref()
            .map(|p| (p.id, p.token.clone()))
            .ok_or_else(|| {
                TokenizeError::Options(
                    "padding asked for, but the tokenizer has no padding token ([PAD], <pad>)"
                        .into(),
                )
            })
    }
}

fn codec(action: &'static str) -> impl Fn(tokenizers::Error) -> TokenizeError {
    move |e| TokenizeError::Codec {
        action,
        reason: e.to_string(),
    }
}

fn truncation_direction(side: Side) -> TruncationDirection {
    match side {
        Side::Left => TruncationDirection::Left,
        Side::Right => TruncationDirection::Right,
    }
}

fn padding_direction(side: Side) -> PaddingDirection {
    match side {
        Side::Left => PaddingDirection::Left,
        Side::Right => PaddingDirection::Right,
    }
}

impl TextTokenizer for Tokenizer {
    fn encode_batch(&self, texts: &[&str], options: &EncodeOptions) -> Result<BatchEncoding> {
        let added = if options.add_special_tokens {
            self.inner
                .get_post_processor()
                .map(|p| tokenizers::PostProcessor::added_tokens(p, false))
                .unwrap_or(0)
        } else {
            0
        };
        if let Some(max) = options.max_length
            && max <= added
        {
            return Err(TokenizeError::Options(format!(
                "max_length {max} leaves no room next to the {added} special tokens"
            )));
        }
        let inputs: Vec<&str> = texts.to_vec();
        let raw = self
            .inner
            .encode_batch(inputs, false)
            .map_err(codec("encoding"))?;
        let mut encodings = Vec::with_capacity(raw.len());
        for mut encoding in raw {
            if let Some(max) = options.max_length {
                encoding.truncate(
                    max - added,
                    0,
                    truncation_direction(options.truncation_side),
                );
            }
            let encoding = self
                .inner
                .post_process(encoding, None, options.add_special_tokens)
                .map_err(codec("encoding"))?;
            encodings.push(encoding);
        }
        let target = match options.padding {
            Padding::None => None,
            Padding::Longest => encodings.iter().map(|e| e.len()).max(),
            Padding::Fixed(len) => Some(len),
        };
        if let Some(target) = target {
            let (pad_id, pad_token) = self.pad_id()?;
            for encoding in &mut encodings {
                encoding.pad(
                    target,
                    pad_id,
                    0,
                    &pad_token,
                    padding_direction(options.padding_side),
                );
            }
        }
        let mut batch = BatchEncoding::default();
        for e in encodings {
            batch.ids.push(e.get_ids().to_vec());
            batch.attention_mask.push(e.get_attention_mask().to_vec());
            batch.type_ids.push(e.get_type_ids().to_vec());
            batch.offsets.push(e.get_offsets().to_vec());
            batch.tokens.push(e.get_tokens().to_vec());
        }
        Ok(batch)
    }

    fn decode(&self, ids: &[u32], skip_special_tokens: bool) -> Result<String> {
        self.inner
            .decode(ids, skip_special_tokens)
            .map_err(codec("decoding"))
    }

    fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }

    fn special_tokens(&self) -> SpecialTokens {
        self.special.clone()
    }

    fn token_to_id(&self, token: &str) -> Option<u32> {
        self.inner.token_to_id(token)
    }

    fn id_to_token(&self, id: u32) -> Option<String> {
        self.inner.id_to_token(id)
    }
}
