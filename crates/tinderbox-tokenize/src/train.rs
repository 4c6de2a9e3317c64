//! Training WordPiece, byte-level BPE and word-level vocabularies from a corpus, with the
//! pipelines that usually go with them.

use tokenizers::AddedToken;
use tokenizers::decoders::byte_level::ByteLevel as ByteLevelDecoder;
use tokenizers::decoders::wordpiece::WordPiece as WordPieceDecoder;
use tokenizers::models::TrainerWrapper;
use tokenizers::models::bpe::{BPE, BpeTrainer};
use tokenizers::models::wordlevel::{WordLevel, WordLevelTrainer};
use tokenizers::models::wordpiece::{WordPiece, WordPieceTrainer};
use tokenizers::normalizers::{BertNormalizer, Lowercase};
use tokenizers::pre_tokenizers::bert::BertPreTokenizer;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::processors::template::TemplateProcessing;

use crate::error::{Result, TokenizeError};
use crate::tokenizer::Tokenizer;

/// Settings shared by the trainers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrainOptions {
    /// The vocabulary size, special tokens included.
    pub vocab_size: usize,
    /// Words seen fewer times are not learned.
    pub min_frequency: u64,
    /// Lowercase (and, for WordPiece, strip accents) before learning.
    pub lowercase: bool,
    /// Show `tokenizers`' progress bars.
    pub show_progress: bool,
}

impl TrainOptions {
    /// `vocab_size` tokens, every word counted, lowercased, no progress bar.
    pub fn new(vocab_size: usize) -> Self {
        Self {
            vocab_size,
            min_frequency: 0,
            lowercase: true,
            show_progress: false,
        }
    }

    /// Shows progress bars while training.
    pub fn with_progress(mut self, show: bool) -> Self {
        self.show_progress = show;
        self
    }
}

const BERT_SPECIALS: [&str; 5] = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"];
const ROBERTA_SPECIALS: [&str; 5] = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"];
/// A causal LM's: RoBERTa's first three, at RoBERTa's ids.
const CAUSAL_SPECIALS: [&str; 3] = ["<s>", "<pad>", "</s>"];

fn specials(names: &[&str]) -> Vec<AddedToken> {
    names.iter().map(|n| AddedToken::from(*n, true)).collect()
}

fn train_err(kind: &'static str) -> impl Fn(tokenizers::Error) -> TokenizeError {
    move |e| TokenizeError::Train {
        kind,
        reason: e.to_string(),
    }
}

fn check(options: &TrainOptions, kind: &'static str, specials: usize) -> Result<()> {
    if options.vocab_size <= specials {
        return Err(TokenizeError::Train {
            kind,
            reason: format!(
                "vocab_size {} must exceed the {specials} special tokens",
                options.vocab_size
            ),
        });
    }
    Ok(())
}

impl Tokenizer {
    /// Trains a BERT-style WordPiece tokenizer: BERT's normaliser (lowercasing and accent
    /// stripping when `lowercase`) and pre-tokeniser, `##` continuation pieces, the special
    /// tokens `[PAD]`=0, `[UNK]`=1, `[CLS]`=2, `[SEP]`=3, `[MASK]`=4, and `[CLS] text [SEP]`.
    pub fn train_wordpiece<I, S>(texts: I, options: &TrainOptions) -> Result<Self>
    where
        I: Iterator<Item = S> + Send,
        S: AsRef<str> + Send,
    {
        check(options, "WordPiece", BERT_SPECIALS.len())?;
        let model = WordPiece::builder()
            .unk_token("[UNK]".into())
            .build()
            .map_err(train_err("WordPiece"))?;
        let mut tokenizer = tokenizers::Tokenizer::new(model);
        tokenizer
            .with_normalizer(Some(BertNormalizer::new(
                true,
                true,
                None,
                options.lowercase,
            )))
            .with_pre_tokenizer(Some(BertPreTokenizer))
            .with_decoder(Some(WordPieceDecoder::default()));
        let mut trainer: TrainerWrapper = WordPieceTrainer::builder()
            .vocab_size(options.vocab_size)
            .min_frequency(options.min_frequency)
            .special_tokens(specials(&BERT_SPECIALS))
            .show_progress(options.show_progress)
            .build()
            .into();
        tokenizer
            .train(&mut trainer, texts)
            .map_err(train_err("WordPiece"))?;
        with_template(tokenizer, "[CLS]", Some("[SEP]"), "WordPiece")
    }

    /// Trains a byte-level BPE tokenizer (GPT-2 and RoBERTa's): no unknown tokens, the special
    /// tokens `<s>`=0, `<pad>`=1, `</s>`=2, `<unk>`=3, `<mask>`=4, and `<s> text </s>`.
    pub fn train_bpe<I, S>(texts: I, options: &TrainOptions) -> Result<Self>
    where
        I: Iterator<Item = S> + Send,
        S: AsRef<str> + Send,
    {
        let tokenizer = train_byte_level(texts, options, &ROBERTA_SPECIALS)?;
        with_template(tokenizer, "<s>", Some("</s>"), "BPE")
    }

    /// Trains a byte-level BPE tokenizer for a causal language model (GPT-2's pipeline: no
    /// unknown tokens, case kept unless `options.lowercase`): the special tokens `<s>`=0
    /// (start of text), `<pad>`=1 and `</s>`=2 (end of text), and `<s> text` with special
    /// tokens on, so that a prompt starts as the training sequences do and is not closed.
    ///
    /// ```
    /// use tinderbox_tokenize::{TextTokenizer, Tokenizer, TrainOptions};
    ///
    /// let text = ["the whale swam and the ship sailed", "the ship and the whale"];
    /// let mut options = TrainOptions::new(300);
    /// options.lowercase = false;
    /// let tokenizer = Tokenizer::train_causal_bpe(text.iter(), &options).unwrap();
    /// let ids = tokenizer.encode("The whale 🐋", true).unwrap();
    /// assert_eq!(ids[0], 0); // <s>, and no </s> at the end
    /// assert_ne!(*ids.last().unwrap(), 2);
    /// assert_eq!(tokenizer.decode(&ids, true).unwrap(), " The whale 🐋");
    /// ```
    pub fn train_causal_bpe<I, S>(texts: I, options: &TrainOptions) -> Result<Self>
    where
        I: Iterator<Item = S> + Send,
        S: AsRef<str> + Send,
    {
        let tokenizer = train_byte_level(texts, options, &CAUSAL_SPECIALS)?;
        with_template(tokenizer, "<s>", None, "BPE")
    }

    /// Trains a word-level tokenizer: BERT's normaliser and pre-tokeniser (words and
    /// punctuation), the `vocab_size - 2` most frequent words, `[PAD]`=0 and `[UNK]`=1.
    pub fn train_word_level<I, S>(texts: I, options: &TrainOptions) -> Result<Self>
    where
        I: Iterator<Item = S> + Send,
        S: AsRef<str> + Send,
    {
        check(options, "word-level", 2)?;
        let model = WordLevel::builder()
            .unk_token("[UNK]".into())
            .build()
            .map_err(train_err("word-level"))?;
        let mut tokenizer = tokenizers::Tokenizer::new(model);
        tokenizer
            .with_normalizer(Some(BertNormalizer::new(
                true,
                true,
                None,
                options.lowercase,
            )))
            .with_pre_tokenizer(Some(BertPreTokenizer));
        let mut trainer: TrainerWrapper = WordLevelTrainer::builder()
            .vocab_size(options.vocab_size)
            .min_frequency(options.min_frequency)
            .special_tokens(specials(&["[PAD]", "[UNK]"]))
            .show_progress(options.show_progress)
            .build()
            .map_err(|e| TokenizeError::Train {
                kind: "word-level",
                reason: e.to_string(),
            })?
            .into();
        tokenizer
            .train(&mut trainer, texts)
            .map_err(train_err("word-level"))?;
        Ok(Tokenizer::from_hf(tokenizer))
    }
}

/// Adds the `first text last` template with the trained ids of the two special tokens.
/// GPT-2's byte-level BPE pipeline (lowercased when `options.lowercase`), trained with
/// `special_tokens` first in the vocabulary; the post-processor is the caller's.
fn train_byte_level<I, S>(
    texts: I,
    options: &TrainOptions,
    special_tokens: &[&str],
) -> Result<tokenizers::Tokenizer>
where
    I: Iterator<Item = S> + Send,
    S: AsRef<str> + Send,
{
    check(options, "BPE", special_tokens.len())?;
    let mut tokenizer = tokenizers::Tokenizer::new(BPE::default());
    if options.lowercase {
        tokenizer.with_normalizer(Some(Lowercase));
    }
    tokenizer
        .with_pre_tokenizer(Some(ByteLevel::new(true, true, true)))
        .with_decoder(Some(ByteLevelDecoder::default()));
    let mut trainer: TrainerWrapper = BpeTrainer::builder()
        .vocab_size(options.vocab_size)
        .min_frequency(options.min_frequency)
        .special_tokens(specials(special_tokens))
        .initial_alphabet(ByteLevel::alphabet().into_iter().collect())
        .show_progress(options.show_progress)
        .build()
        .into();
    tokenizer
        .train(&mut trainer, texts)
        .map_err(train_err("BPE"))?;
    Ok(tokenizer)
}

fn with_template(
    mut tokenizer: tokenizers::Tokenizer,
    first: &str,
    last: Option<&str>,
    kind: &'static str,
) -> Result<Tokenizer> {
    let id = |t: &str| {
        tokenizer
            .token_to_id(t)
            .ok_or_else(|| TokenizeError::Train {
                kind,
                reason: format!("{t} is missing from the trained vocabulary"),
            })
    };
    let mut special_tokens = vec![(first.to_string(), id(first)?)];
    let (single, pair) = match last {
        Some(last) => {
            special_tokens.push((last.to_string(), id(last)?));
            (
                format!("{first} $A {last}"),
                format!("{first} $A {last} $B:1 {last}:1"),
            )
        }
        None => (format!("{first} $A"), format!("{first} $A $B:1")),
    };
    let template = TemplateProcessing::builder()
        .try_single(single)
        .and_then(|b| b.try_pair(pair))
        .map_err(|e| TokenizeError::Train {
            kind,
            reason: e.to_string(),
        })?
        .special_tokens(special_tokens)
        .build()
        .map_err(|e| TokenizeError::Train {
            kind,
            reason: e.to_string(),
        })?;
    tokenizer.with_post_processor(Some(template));
    Ok(Tokenizer::from_hf(tokenizer))
}
