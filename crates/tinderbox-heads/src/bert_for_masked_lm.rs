//! `BertForMaskedLM`: a BERT encoder and its masked-language-model head, with field names that
//! mirror the checkpoint (`bert.*`, `cls.predictions.*`), so that Hugging Face MLM checkpoints
//! load and ours load in `transformers`.
//!
//! Reference: `transformers` 5.24, `modeling_bert.py` `BertForMaskedLM`; loss, logits and the
//! gradients of seven parameters within 1e-5 (`tests/mlm_reference.rs`), the `fill-mask`
//! pipeline's candidates within 1e-5 (this crate's doc test).

use std::path::Path;

use burn::prelude::*;
use tinderbox_nn::ModelError;
use tinderbox_nn::huggingface::{
    BERT_MLM_KEYS, WEIGHTS_FILE, load_safetensors, read_bert_config, save_bert_config,
    save_safetensors,
};
use tinderbox_nn::transformer::{BertConfig, BertModel};

use crate::masked_lm::MaskedLm;
use crate::mlm_head::{MlmHead, MlmHeadConfig};

/// `cls`: Hugging Face's `BertOnlyMLMHead`, a level that only holds the predictions.
#[derive(Module, Debug)]
pub struct BertOnlyMlmHead {
    /// `cls.predictions`.
    pub predictions: MlmHead,
}

/// A BERT encoder (no pooler) with the masked-language-model head tied to its word embeddings.
#[derive(Module, Debug)]
pub struct BertForMaskedLm {
    /// The encoder, `bert.*`.
    pub bert: BertModel,
    /// The head, `cls.predictions.*`.
    pub cls: BertOnlyMlmHead,
}

impl BertForMaskedLm {
    /// A fresh model for `config` (its pooler is dropped: the MLM model has none), initialised as
    /// BERT is.
    pub fn init(config: &BertConfig, device: &Device) -> Result<Self, ModelError> {
        let mut config = config.clone();
        config.add_pooler = false;
        let bert = config.init(device)?;
        let predictions = MlmHeadConfig::new(config.hidden_size, config.vocab_size)
            .with_hidden_act(config.activation()?)
            .with_layer_norm_eps(config.layer_norm_eps)
            .with_initializer_range(config.initializer_range)
            .init(device);
        Ok(Self {
            bert,
            cls: BertOnlyMlmHead { predictions },
        })
    }

    /// Loads a Hugging Face `BertForMaskedLM` folder (`config.json` + `model.safetensors`).
    /// Every missing, unexpected or wrongly shaped tensor is listed in the error.
    pub fn load(dir: impl AsRef<Path>, device: &Device) -> Result<Self, ModelError> {
        let dir = dir.as_ref();
        let (config, config_path) = read_bert_config(dir)?;
        let mut model = Self::init(&config, device).map_err(|e| e.at(&config_path))?;
        load_safetensors(&mut model, dir.join(WEIGHTS_FILE), &BERT_MLM_KEYS)?;
        Ok(model)
    }

    /// Saves the model as a folder that `transformers`' `BertForMaskedLM` loads (the tied decoder
    /// is not stored, as `transformers` does not store it).
    pub fn save(&self, dir: impl AsRef<Path>) -> Result<(), ModelError> {
        save_bert_config(&self.bert, dir.as_ref())?;
        save_safetensors(self, dir.as_ref().join(WEIGHTS_FILE), &BERT_MLM_KEYS)
    }

    /// The word embeddings `[vocab, hidden]` that the head's projection shares.
    pub fn word_embeddings(&self) -> Tensor<2> {
        self.bert.embeddings.word_embeddings.weight.val()
    }

    /// Logits `[B, L, vocab]` at every position (fill-mask).
    pub fn forward(&self, ids: Tensor<2, Int>, mask_pad: Tensor<2, Bool>) -> Tensor<3> {
        let hidden = self.bert.forward(ids, mask_pad, None).last_hidden_state;
        self.cls.predictions.forward(hidden, self.word_embeddings())
    }

    /// The mean cross-entropy at the masked `positions [M]` (flattened `b * L + l`) against the
    /// original tokens `labels [M]`: what `BertForMaskedLM` returns as its loss with -100 labels
    /// elsewhere, with the vocabulary projected at the masked positions only.
    pub fn loss_at(
        &self,
        ids: Tensor<2, Int>,
        mask_pad: Tensor<2, Bool>,
        positions: Tensor<1, Int>,
        labels: Tensor<1, Int>,
    ) -> Tensor<1> {
        let hidden = self.bert.forward(ids, mask_pad, None).last_hidden_state;
        self.cls
            .predictions
            .loss_at(hidden, positions, labels, self.word_embeddings())
    }
}

impl MaskedLm for BertForMaskedLm {
    fn logits_at(
        &self,
        ids: Tensor<2, Int>,
        mask_pad: Tensor<2, Bool>,
        positions: Tensor<1, Int>,
    ) -> Tensor<2> {
        let hidden = self.bert.forward(ids, mask_pad, None).last_hidden_state;
        self.cls
            .predictions
            .forward_at(hidden, positions, self.word_embeddings())
    }

    fn vocab_size(&self) -> usize {
        self.word_embeddings().dims()[0]
    }

    fn max_length(&self) -> Option<usize> {
        Some(self.bert.max_positions())
    }
}
