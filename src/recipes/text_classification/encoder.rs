//! The encoder of a run, whichever the configuration names: one module type, so that the
//! classifier, the loop and the saved weights have one type too.

use burn::prelude::*;
use tinderbox_heads::{ClassificationHead, ClassificationHeadConfig, Pooling, SequenceClassifier};
use tinderbox_nn::text::{BagEncoder, LstmEncoder};
use tinderbox_nn::transformer::BertModel;
use tinderbox_nn::{Encoded, SequenceEncoder};

use tinderbox_train::{RunDir, load_model};

use super::config::{TextEncoderConfig, TextRunConfig};
use crate::Error;

/// One of the encoders a text-classification run trains. Its saved weights carry the variant's
/// name (`encoder.Lstm.…`), as burn records enum modules.
// Boxing the larger variant would save a kilobyte on a value that exists once per program.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum TextEncoder {
    /// Embedding + LSTM; its final state is classified.
    Lstm(LstmEncoder),
    /// Bag of embeddings, mean-pooled.
    Bow(BagEncoder),
    /// A BERT encoder, pretrained or not, mean-pooled.
    Bert(BertModel),
}

/// The classifier of every text-classification run.
pub type TextClassifier = SequenceClassifier<TextEncoder, ClassificationHead>;

impl TextEncoder {
    /// The encoder `config` describes. With `load_pretrained`, a BERT encoder starts from its
    /// pretrained weights; otherwise from a random initialisation (for a saved model to
    /// overwrite).
    pub fn init(
        config: &TextEncoderConfig,
        device: &Device,
        load_pretrained: bool,
    ) -> Result<Self, Error> {
        Ok(match config {
            TextEncoderConfig::Lstm(c) => Self::Lstm(c.init(device)),
            TextEncoderConfig::Bow(c) => Self::Bow(c.init(device)),
            TextEncoderConfig::Bert(c) => Self::Bert(c.init(device, load_pretrained)?),
        })
    }

    /// This encoder with its dense layers in int8 for inference (PyTorch's `quantize_dynamic`,
    /// [`BertModel::quantize_int8`]). Only BERT encoders have them: another is an error.
    pub fn quantize_int8(&self) -> Result<Self, Error> {
        let other = match self {
            Self::Bert(e) => return Ok(Self::Bert(e.quantize_int8()?)),
            Self::Lstm(_) => "an LSTM",
            Self::Bow(_) => "a bag of embeddings",
        };
        Err(Error::Invalid(format!(
            "int8 quantizes the dense layers of BERT encoders; this run's encoder is {other}"
        )))
    }

    /// How the head summarises the encoder's states: the LSTM's final state, else the mean.
    pub fn pooling(&self) -> Pooling {
        match self {
            Self::Lstm(_) => Pooling::Last,
            Self::Bow(_) | Self::Bert(_) => Pooling::Mean,
        }
    }
}

impl SequenceEncoder for TextEncoder {
    fn encode(&self, ids: Tensor<2, Int>, mask_pad: Tensor<2, Bool>) -> Encoded {
        match self {
            Self::Lstm(e) => e.encode(ids, mask_pad),
            Self::Bow(e) => e.encode(ids, mask_pad),
            Self::Bert(e) => e.encode(ids, mask_pad),
        }
    }

    fn embed_tokens(&self, ids: Tensor<2, Int>) -> Tensor<3> {
        match self {
            Self::Lstm(e) => e.embed_tokens(ids),
            Self::Bow(e) => e.embed_tokens(ids),
            Self::Bert(e) => e.embed_tokens(ids),
        }
    }

    fn encode_embedded(&self, embedded: Tensor<3>, mask_pad: Tensor<2, Bool>) -> Encoded {
        match self {
            Self::Lstm(e) => e.encode_embedded(embedded, mask_pad),
            Self::Bow(e) => e.encode_embedded(embedded, mask_pad),
            Self::Bert(e) => e.encode_embedded(embedded, mask_pad),
        }
    }

    fn attention_maps(
        &self,
        ids: Tensor<2, Int>,
        mask_pad: Tensor<2, Bool>,
    ) -> Option<Vec<Tensor<4>>> {
        match self {
            Self::Bert(e) => SequenceEncoder::attention_maps(e, ids, mask_pad),
            Self::Lstm(_) | Self::Bow(_) => None,
        }
    }

    fn hidden_size(&self) -> usize {
        match self {
            Self::Lstm(e) => e.hidden_size(),
            Self::Bow(e) => e.hidden_size(),
            Self::Bert(e) => e.hidden_size(),
        }
    }
}

/// `model` with its encoder in int8 ([`TextEncoder::quantize_int8`]); the head stays `f32`.
pub fn quantize_classifier(model: TextClassifier) -> Result<TextClassifier, Error> {
    Ok(SequenceClassifier {
        encoder: model.encoder.quantize_int8()?,
        ..model
    })
}

/// The classifier saved in `run` (its `model.bpk`), built as `config` says over `classes`
/// classes on `device`.
pub(super) fn saved_classifier(
    run: &RunDir,
    config: &TextRunConfig,
    classes: usize,
    device: &Device,
) -> Result<TextClassifier, Error> {
    Ok(load_model(
        &run.model_file(),
        classifier(config, classes, device, false)?,
    )?)
}

/// The run's classifier over `classes` classes: its encoder (pretrained weights with
/// `load_pretrained`) and a dense head with the run's dropout.
pub fn classifier(
    config: &TextRunConfig,
    classes: usize,
    device: &Device,
    load_pretrained: bool,
) -> Result<TextClassifier, Error> {
    let encoder = TextEncoder::init(&config.encoder, device, load_pretrained)?;
    let head = ClassificationHeadConfig::new(encoder.hidden_size(), classes)
        .with_pooling(config.pooling.unwrap_or(encoder.pooling()))
        .with_dropout(config.head_dropout)
        .init(device);
    Ok(SequenceClassifier::new(encoder, head))
}
