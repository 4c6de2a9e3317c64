//! From texts to batches for a run: the tokenizer it fits (or a pretrained model's), how texts
//! are encoded, and how items are padded.

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

/// The run's tokenizer: Keras' word-level one fitted on the training texts for the LSTM and
/// bag models, the pretrained model's own (whose `config.json` then replaces the encoder's
/// sizes), or a WordPiece trained on the training texts for a transformer from scratch.
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
            None => Ok(Tokenizer::train_wordpiece(
                train.texts.iter(),
                &TrainOptions::new(vocab_size).with_progress(false),
            )?),
        },
        _ => Ok(Tokenizer::fit_keras(
            train.texts.iter(),
            &KerasOptions::new(vocab_size),
        )?),
    }
}
