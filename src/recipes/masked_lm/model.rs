//! The model a pre-training run trains: BERT or the LSTM toy, as one module type that the
//! loop, fill-mask and the saved weights share.

use burn::prelude::*;
use burn::train::ClassificationOutput;
use tinderbox_data::mlm::MlmBatch;
use tinderbox_heads::{BertForMaskedLm, LstmForMaskedLm, MaskedLm, masked_lm_output};
use tinderbox_train::TrainTask;

use super::config::{MlmModelConfig, MlmRunConfig};
use crate::Error;

/// A masked-language model of either kind. Its saved weights carry the variant's name
/// (`Bert.bert.…`), as burn records enum modules; the Hugging Face folder `model/` of a BERT
/// run holds the bare `BertForMaskedLM`.
// Boxing the larger variant would save a kilobyte on a value that exists once per program.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum MlmModel {
    /// BERT.
    Bert(BertForMaskedLm),
    /// The LSTM toy.
    Lstm(LstmForMaskedLm),
}

impl MlmModel {
    /// The architecture `model` describes with its initialiser's values: to load weights into.
    pub fn blank(model: &MlmModelConfig, device: &Device) -> Result<Self, Error> {
        Ok(match model {
            MlmModelConfig::Bert(c) => Self::Bert(BertForMaskedLm::init(c, device)?),
            MlmModelConfig::Lstm(c) => Self::Lstm(c.init(device)),
        })
    }

    /// A new model to pre-train as `config.model` says: its first layers attending to
    /// neighbours if `config.local_heads` (which brings its own position table), else its
    /// position table started from sinusoids if `config.sinusoidal_positions`.
    pub fn init(config: &MlmRunConfig, device: &Device) -> Result<Self, Error> {
        Ok(match Self::blank(&config.model, device)? {
            Self::Bert(mut model) => {
                if let Some(local) = &config.local_heads {
                    model.bert = model.bert.with_local_heads_init(local)?;
                } else if config.sinusoidal_positions {
                    let rms = model.bert.config().initializer_range;
                    model.bert.embeddings = model.bert.embeddings.with_sinusoidal_positions(rms);
                }
                Self::Bert(model)
            }
            lstm => lstm,
        })
    }
}

impl MaskedLm for MlmModel {
    fn logits_at(
        &self,
        ids: Tensor<2, Int>,
        mask_pad: Tensor<2, Bool>,
        positions: Tensor<1, Int>,
    ) -> Tensor<2> {
        match self {
            Self::Bert(m) => m.logits_at(ids, mask_pad, positions),
            Self::Lstm(m) => m.logits_at(ids, mask_pad, positions),
        }
    }

    fn vocab_size(&self) -> usize {
        match self {
            Self::Bert(m) => m.vocab_size(),
            Self::Lstm(m) => m.vocab_size(),
        }
    }

    fn max_length(&self) -> Option<usize> {
        match self {
            Self::Bert(m) => m.max_length(),
            Self::Lstm(m) => m.max_length(),
        }
    }
}

impl TrainTask for MlmModel {
    type Batch = MlmBatch;

    fn forward_classification(&self, batch: MlmBatch) -> ClassificationOutput {
        masked_lm_output(self, batch)
    }
}
