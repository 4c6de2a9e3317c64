//! From texts to batches for a run: the tokenizer it fits (or a pretrained model's), how texts
//! are encoded, and how items are padded.

use std::path::Path;

use tinderbox_data::text::{LabeledTexts, TextBatcher};
use tinderbox_nn::sentence_embeddings::check_vocabulary;
use tinderbox_nn::transformer::BertConfig;
use tinderbox_tokenize::{EncodeOptions, KerasOptions, TextTokenizer, Tokenizer, TrainOptions};
use tinderbox_train::CONFIG_FILE;

use super::TOKENIZER_FILE;
use super::config::{TextEncoderConfig, TextRunConfig};
use crate::Error;

/// How a run's texts are encoded: special tokens for transformers, cut at `max_len` on the
/// run's side, no padding (the batcher pads).
pub(super) fn encode_options(config: &TextRunConfig) -> EncodeOptions {
    EncodeOptions {
        add_special_tokens: config.encoder.special_tokens(),
        max_length: Some(config.max_len),
        truncation_side: config.truncating,
        ..EncodeOptions::default()
    }
}

/// Pads to `max_len` as Keras does, or each batch to its longest with length buckets.
pub(super) fn batcher(config: &TextRunConfig, tokenizer: &Tokenizer) -> Result<TextBatcher, Error> {
    let pad = tokenizer
        .special_tokens()
        .pad
        .ok_or_else(|| Error::Invalid("the tokenizer has no padding token".into()))?;
    Ok(TextBatcher {
        pad_id: pad.id,
        // Keras pads every sequence to max_len; the LSTM runs over that padding.
        fixed_len: (!config.bucket_by_length).then_some(config.max_len),
        side: config.padding,
    })
}

/// The tokenizer of a pre-training run (its model folder), a model folder, a text-classification
/// run, or a `tokenizer.json` itself.
fn given_tokenizer(source: &Path) -> Result<Tokenizer, Error> {
    let candidates = [
        crate::recipes::masked_lm::model_folder(source).join(TOKENIZER_FILE),
        source.join(TOKENIZER_FILE),
        source.to_path_buf(),
    ];
    match candidates.iter().find(|path| path.is_file()) {
        Some(path) => Ok(Tokenizer::from_file(path)?),
        None => Err(Error::Invalid(format!(
            "{} holds no {TOKENIZER_FILE}: --tokenizer takes a pre-training run, a model folder, a text_classification run or a tokenizer file",
            source.display()
        ))),
    }
}

/// The run's tokenizer: Keras' word-level one fitted on the training texts for the LSTM and
/// bag models, the pretrained model's own (whose `config.json` then replaces the encoder's
/// sizes), a given one for a transformer from scratch (`BertEncoderConfig::tokenizer`), or a
/// WordPiece trained on the training texts.
pub(super) fn fit_tokenizer(
    config: &mut TextRunConfig,
    train: &LabeledTexts,
) -> Result<Tokenizer, Error> {
    let vocab_size = config.encoder.vocab_size();
    match &mut config.encoder {
        TextEncoderConfig::Bert(bert) => match bert.pretrained_dir()? {
            Some(dir) => {
                bert.bert = BertConfig::from_file(dir.join(CONFIG_FILE))?;
                let tokenizer = Tokenizer::from_file(dir.join(TOKENIZER_FILE))?;
                check_vocabulary(&tokenizer, bert.bert.vocab_size, &dir)?;
                Ok(tokenizer)
            }
            None => match &bert.tokenizer {
                Some(source) => {
                    let tokenizer = given_tokenizer(source)?;
                    // The embedding table fits the vocabulary, and padding is the tokenizer's.
                    bert.bert.vocab_size = tokenizer.vocab_size();
                    if let Some(pad) = tokenizer.special_tokens().pad {
                        bert.bert.pad_token_id = pad.id as usize;
                    }
                    bert.bert.validate()?;
                    Ok(tokenizer)
                }
                None => Ok(Tokenizer::train_wordpiece(
                    train.texts.iter(),
                    &TrainOptions::new(vocab_size).with_progress(false),
                )?),
            },
        },
        _ => Ok(Tokenizer::fit_keras(
            train.texts.iter(),
            &KerasOptions::new(vocab_size),
        )?),
    }
}
