//! A tokenizer from a GGUF file's metadata (`tokenizer.ggml.*`): llama.cpp stores the vocabulary,
//! the merges, each token's type and the special ids, but no pipeline; this builds the
//! `tokenizers` pipeline that the file's `tokenizer.ggml.model` and `tokenizer.ggml.pre` name,
//! as llama.cpp's `llama-vocab.cpp` runs it.
//!
//! Supported: byte-level BPE (`model = "gpt2"`, GPT-2, Llama 3, Qwen 2, SmolLM) with the
//! pre-tokenizers `default`/`gpt2` (GPT-2's split), `smollm` (each digit on its own, then GPT-2's
//! split, as SmolLM's own `tokenizer.json` does), `llama-bpe`/`llama3` and `qwen2`.

use tokenizers::decoders::byte_level::ByteLevel as ByteLevelDecoder;
use tokenizers::models::bpe::BPE;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::digits::Digits;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::pre_tokenizers::split::{Split, SplitPattern};
use tokenizers::processors::template::TemplateProcessing;
use tokenizers::{AddedToken, PreTokenizerWrapper, SplitDelimiterBehavior};

use crate::error::{Result, TokenizeError};
use crate::tokenizer::Tokenizer;

/// llama.cpp's token type of control tokens (`<|im_start|>`): matched whole, special.
const CONTROL: i32 = 3;
/// llama.cpp's token type of user-defined tokens: matched whole, not special.
const USER_DEFINED: i32 = 4;

const LLAMA3_SPLIT: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
const QWEN2_SPLIT: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// What a GGUF file says about its tokenizer, under llama.cpp's key names.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GgufVocab {
    /// `tokenizer.ggml.model`: `gpt2` for byte-level BPE.
    pub model: String,
    /// `tokenizer.ggml.pre`: how text is split before the merges.
    pub pre: Option<String>,
    /// `tokenizer.ggml.tokens`, by id.
    pub tokens: Vec<String>,
    /// `tokenizer.ggml.token_type`, by id (1 normal, 3 control, 4 user-defined, ...).
    pub token_types: Vec<i32>,
    /// `tokenizer.ggml.merges`: `"a b"` pairs, best first.
    pub merges: Vec<String>,
    /// `tokenizer.ggml.bos_token_id`.
    pub bos_id: Option<u32>,
    /// `tokenizer.ggml.eos_token_id`.
    pub eos_id: Option<u32>,
    /// `tokenizer.ggml.add_bos_token`: whether encoding starts with BOS.
    pub add_bos: bool,
}

impl Tokenizer {
    /// The tokenizer a GGUF file's metadata describes. An unsupported model or pre-tokenizer is
    /// an error naming it.
    pub fn from_gguf_vocab(vocab: &GgufVocab) -> Result<Self> {
        let fail = |reason: String| TokenizeError::Load {
            path: "<gguf metadata>".into(),
            reason,
        };
        if vocab.model != "gpt2" {
            return Err(fail(format!(
                "tokenizer.ggml.model {:?} is not supported (only byte-level BPE, \"gpt2\")",
                vocab.model
            )));
        }
        let ids: tokenizers::models::bpe::Vocab = vocab
            .tokens
            .iter()
            .enumerate()
            .map(|(id, t)| (t.clone(), id as u32))
            .collect();
        let merges = vocab
            .merges
            .iter()
            .map(|m| {
                m.split_once(' ')
                    .map(|(a, b)| (a.to_string(), b.to_string()))
                    .ok_or_else(|| fail(format!("merge {m:?} is not two tokens")))
            })
            .collect::<Result<Vec<_>>>()?;
        let bpe = BPE::builder()
            .vocab_and_merges(ids, merges)
            .build()
            .map_err(|e| fail(format!("building the BPE model: {e}")))?;
        let mut inner = tokenizers::Tokenizer::new(bpe);
        inner.with_pre_tokenizer(Some(pre_tokenizer(vocab.pre.as_deref()).map_err(fail)?));
        inner.with_decoder(Some(ByteLevelDecoder::default()));
        let typed = |wanted: i32, special: bool| -> Vec<AddedToken> {
            vocab
                .tokens
                .iter()
                .zip(&vocab.token_types)
                .filter(|(_, ty)| **ty == wanted)
                .map(|(t, _)| AddedToken::from(t.clone(), special).normalized(false))
                .collect()
        };
        inner.add_special_tokens(&typed(CONTROL, true));
        inner.add_tokens(&typed(USER_DEFINED, false));
        if vocab.add_bos {
            let bos = vocab
                .bos_id
                .and_then(|id| vocab.tokens.get(id as usize).map(|t| (t.clone(), id)))
                .ok_or_else(|| fail("add_bos_token is set but there is no BOS token".into()))?;
            let template = TemplateProcessing::builder()
                .try_single(format!("{} $A", bos.0))
                .and_then(|b| b.try_pair(format!("{} $A {} $B:1", bos.0, bos.0)))
                .map_err(fail)?
                .special_tokens(vec![bos])
                .build()
                .map_err(|e| fail(e.to_string()))?;
            inner.with_post_processor(Some(template));
        }
        Ok(Tokenizer::from_hf(inner))
    }
}

impl Tokenizer {
    /// GPT-2's byte-level BPE from its two files: `vocab.json` (token to id) and `merges.txt`
    /// (what OpenAI calls `encoder.json` and `vocab.bpe`), with `<|endoftext|>` as its one
    /// special token, as `transformers`' `GPT2TokenizerFast` builds it.
    pub fn from_gpt2_files(
        vocab: impl AsRef<std::path::Path>,
        merges: impl AsRef<std::path::Path>,
    ) -> Result<Self> {
        let (vocab, merges) = (vocab.as_ref(), merges.as_ref());
        let fail = |reason: String| TokenizeError::Load {
            path: vocab.to_path_buf(),
            reason,
        };
        let path = |p: &std::path::Path| {
            p.to_str()
                .map(str::to_string)
                .ok_or_else(|| fail(format!("{} is not UTF-8", p.display())))
        };
        let bpe = BPE::from_file(&path(vocab)?, &path(merges)?)
            .build()
            .map_err(|e| {
                fail(format!(
                    "reading {} and {}: {e}",
                    vocab.display(),
                    merges.display()
                ))
            })?;
        let mut inner = tokenizers::Tokenizer::new(bpe);
        inner.with_pre_tokenizer(Some(ByteLevel::new(false, true, true)));
        inner.with_decoder(Some(ByteLevelDecoder::default()));
        inner.add_special_tokens(&[AddedToken::from("<|endoftext|>", true)]);
        Ok(Tokenizer::from_hf(inner))
    }
}

fn pre_tokenizer(pre: Option<&str>) -> std::result::Result<PreTokenizerWrapper, String> {
    let gpt2 = ByteLevel::new(false, true, true);
    let split = |regex: &str| -> std::result::Result<PreTokenizerWrapper, String> {
        let split = Split::new(
            SplitPattern::Regex(regex.to_string()),
            SplitDelimiterBehavior::Isolated,
            false,
        )
        .map_err(|e| format!("the split pattern: {e}"))?;
        Ok(Sequence::new(vec![
            split.into(),
            ByteLevel::new(false, true, false).into(),
        ])
        .into())
    };
    match pre {
        None | Some("default") | Some("gpt2") => Ok(gpt2.into()),
        Some("smollm") => Ok(Sequence::new(vec![Digits::new(true).into(), gpt2.into()]).into()),
        Some("llama-bpe") | Some("llama3") | Some("llama-v3") => split(LLAMA3_SPLIT),
        Some("qwen2") => split(QWEN2_SPLIT),
        Some(other) => Err(format!(
            "tokenizer.ggml.pre {other:?} is not supported (gpt2, smollm, llama-bpe, qwen2 are)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{EncodeOptions, TextTokenizer};

    /// A byte-level vocabulary of single bytes for `h e l o Ġ`, with merges to `hello`.
    fn vocab() -> GgufVocab {
        let tokens: Vec<String> = [
            "<|endoftext|>",
            "<|im_start|>",
            "h",
            "e",
            "l",
            "o",
            "Ġ",
            "he",
            "ll",
            "hell",
            "hello",
            "1",
            "2",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let mut token_types = vec![1; tokens.len()];
        token_types[0] = CONTROL;
        token_types[1] = CONTROL;
        GgufVocab {
            model: "gpt2".into(),
            pre: Some("smollm".into()),
            merges: vec!["h e".into(), "l l".into(), "he ll".into(), "hell o".into()],
            tokens,
            token_types,
            bos_id: Some(1),
            eos_id: Some(0),
            add_bos: false,
        }
    }

    fn ids(tokenizer: &Tokenizer, text: &str) -> Vec<u32> {
        let options = EncodeOptions::default();
        tokenizer
            .encode_batch(&[text], &options)
            .unwrap()
            .ids
            .remove(0)
    }

    #[test]
    fn merges_control_tokens_and_digits() {
        let tokenizer = Tokenizer::from_gguf_vocab(&vocab()).unwrap();
        assert_eq!(ids(&tokenizer, "hello"), vec![10]);
        // The control token stays whole; " hello" starts with the space byte.
        assert_eq!(ids(&tokenizer, "<|im_start|>hello"), vec![1, 10]);
        assert_eq!(ids(&tokenizer, "12"), vec![11, 12]);
        assert_eq!(
            tokenizer.decode(&[1, 10], false).unwrap(),
            "<|im_start|>hello"
        );
        assert_eq!(tokenizer.decode(&[1, 10], true).unwrap(), "hello");
    }

    #[test]
    fn bos_is_added_when_the_file_asks() {
        let mut v = vocab();
        v.add_bos = true;
        let tokenizer = Tokenizer::from_gguf_vocab(&v).unwrap();
        assert_eq!(ids(&tokenizer, "hello"), vec![1, 10]);
    }

    #[test]
    fn unsupported_models_and_pre_tokenizers_are_named() {
        let mut v = vocab();
        v.model = "llama".into();
        let err = Tokenizer::from_gguf_vocab(&v).unwrap_err().to_string();
        assert!(
            err.contains("tokenizer.ggml.model \"llama\" is not supported"),
            "{err}"
        );
        let mut v = vocab();
        v.pre = Some("deepseek-coder".into());
        let err = Tokenizer::from_gguf_vocab(&v).unwrap_err().to_string();
        assert!(
            err.contains("tokenizer.ggml.pre \"deepseek-coder\""),
            "{err}"
        );
        let mut v = vocab();
        v.merges.push("nospace".into());
        assert!(Tokenizer::from_gguf_vocab(&v).is_err());
    }
}
