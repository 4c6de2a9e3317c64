//! Explanations of text classifiers: any [`SequenceClassifier`] (LSTM, bag of embeddings,
//! BERT) through its token embeddings and its ids.

use burn::prelude::*;
use burn::tensor::activation::softmax;
use tinderbox_heads::{Head, SequenceClassifier};
use tinderbox_nn::SequenceEncoder;

use crate::attribution::Attribution;
use crate::error::{ExplainError, Result};
use crate::gradients::{gradient_attribution, tensor_values};
use crate::method::{ExplainConfig, Method};
use crate::perturbation::{FeatureAttribution, explain_masks};
use crate::rollout::attention_rollout;

/// One tokenized text as the model reads it, and which of its positions are explained.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenizedText {
    /// Token ids, padding included where the model was trained with it.
    pub ids: Vec<u32>,
    /// True at padding.
    pub mask_pad: Vec<bool>,
    /// The positions whose tokens are features (not padding, not `[CLS]`/`[SEP]`).
    pub features: Vec<usize>,
    /// The id a removed feature becomes, and the baseline of integrated gradients (the padding
    /// token: its embedding is the reference point, as in Captum's BERT tutorials).
    pub baseline_id: u32,
}

impl TokenizedText {
    /// Checks that the mask and the feature positions fit the ids.
    pub fn validate(&self) -> Result<()> {
        if self.mask_pad.len() != self.ids.len() {
            return Err(ExplainError::Input(format!(
                "{} padding flags for {} ids",
                self.mask_pad.len(),
                self.ids.len()
            )));
        }
        if let Some(&pos) = self.features.iter().find(|&&p| p >= self.ids.len()) {
            return Err(ExplainError::Input(format!(
                "feature position {pos} is past the {} ids",
                self.ids.len()
            )));
        }
        Ok(())
    }

    /// The ids with every feature whose `keep` is false replaced by the baseline id.
    pub fn masked_ids(&self, keep: &[bool]) -> Vec<u32> {
        let mut ids = self.ids.clone();
        for (&pos, &on) in self.features.iter().zip(keep) {
            if !on {
                ids[pos] = self.baseline_id;
            }
        }
        ids
    }
}

/// The target class's probability for each row of `ids` (one `mask_pad` for all).
pub fn text_scores<E: SequenceEncoder, H: Head>(
    model: &SequenceClassifier<E, H>,
    text: &TokenizedText,
    rows: &[Vec<u32>],
    target: usize,
) -> Result<Vec<f32>> {
    text.validate()?;
    if let Some(row) = rows.iter().find(|r| r.len() != text.ids.len()) {
        return Err(ExplainError::Input(format!(
            "a row of {} ids for a text of {}",
            row.len(),
            text.ids.len()
        )));
    }
    let device = model_device(model)?;
    let (ids, mask) = batch(text, rows, &device);
    let probs = model.predict_proba(ids, mask);
    let classes = probs.dims()[1];
    check_target(target, classes)?;
    tensor_values(probs.narrow(1, target, 1).squeeze_dim::<1>(1))
}

/// The class probabilities of one text.
pub fn text_probabilities<E: SequenceEncoder, H: Head>(
    model: &SequenceClassifier<E, H>,
    text: &TokenizedText,
) -> Result<Vec<f32>> {
    text.validate()?;
    let device = model_device(model)?;
    let (ids, mask) = batch(text, std::slice::from_ref(&text.ids), &device);
    tensor_values(model.predict_proba(ids, mask).squeeze_dim::<1>(0))
}

/// Attributes the probability of class `target` to the text's features.
///
/// Gradient methods differentiate through the token embeddings ([`SequenceEncoder::embed_tokens`]),
/// so the model must sit on an autodiff device and be frozen (`model.freeze()`: no dropout, no
/// parameter gradients); the attribution of a token is its embedding's attribution summed over
/// the embedding's width (Captum's `LayerIntegratedGradients` on the word embeddings, summed
/// over the last dimension). The perturbation methods replace removed tokens by the baseline
/// id and run on any device.
pub fn explain_text<E: SequenceEncoder, H: Head>(
    model: &SequenceClassifier<E, H>,
    text: &TokenizedText,
    target: usize,
    config: &ExplainConfig,
) -> Result<Attribution> {
    text.validate()?;
    let d = text.features.len();
    if d == 0 {
        return Err(ExplainError::NoFeatures(
            "the text has no token once special tokens and padding are left out".into(),
        ));
    }
    let found = if config.method.uses_gradients() {
        gradient_text(model, text, target, config)?
    } else if config.method == Method::Rollout {
        rollout_text(model, text, target)?
    } else {
        let mut scorer = |masks: &[Vec<bool>]| {
            let rows: Vec<Vec<u32>> = masks.iter().map(|m| text.masked_ids(m)).collect();
            text_scores(model, text, &rows, target)
        };
        explain_masks(d, config, &mut scorer)?
    };
    Ok(Attribution {
        method: config.method,
        target,
        values: found.values,
        score: found.score,
        baseline_score: found.baseline_score,
    })
}

fn gradient_text<E: SequenceEncoder, H: Head>(
    model: &SequenceClassifier<E, H>,
    text: &TokenizedText,
    target: usize,
    config: &ExplainConfig,
) -> Result<FeatureAttribution> {
    let device = model_device(model)?;
    if !device.is_autodiff() {
        return Err(ExplainError::NoGradient);
    }
    let classes = text_probabilities(model, text)?.len();
    check_target(target, classes)?;
    let baseline_ids = text.masked_ids(&vec![false; text.features.len()]);
    let (ids, mask) = batch(text, &[text.ids.clone(), baseline_ids], &device);
    let embedded = model.encoder.embed_tokens(ids);
    let [_, len, width] = embedded.dims();
    let input = embedded.clone().narrow(0, 0, 1);
    let baseline = embedded.narrow(0, 1, 1);
    let mask_one = mask.narrow(0, 0, 1);
    let score = |x: Tensor<3>| {
        let n = x.dims()[0];
        let logits = model.logits_embedded(x, mask_one.clone().repeat_dim(0, n));
        softmax(logits, 1).narrow(1, target, 1).squeeze_dim::<1>(1)
    };
    let found = gradient_attribution(score, input, baseline, config)?;
    // [L, E] -> one value per explained position.
    let values = text
        .features
        .iter()
        .map(|&pos| {
            debug_assert!(pos < len);
            found.values[pos * width..(pos + 1) * width].iter().sum()
        })
        .collect();
    Ok(FeatureAttribution {
        values,
        score: found.score,
        baseline_score: found.baseline_score,
    })
}

/// Attention rollout over the encoder's layers, pooled over the unpadded positions (the
/// mean-pooled heads of BERT runs); the scores are reported, nothing adds up to them.
fn rollout_text<E: SequenceEncoder, H: Head>(
    model: &SequenceClassifier<E, H>,
    text: &TokenizedText,
    target: usize,
) -> Result<FeatureAttribution> {
    let device = model_device(model)?;
    let (ids, mask) = batch(text, std::slice::from_ref(&text.ids), &device);
    let maps = model
        .encoder
        .attention_maps(ids, mask)
        .ok_or(ExplainError::Unsupported {
            method: "rollout",
            needs: "an encoder with attention (a transformer: --model minilm, bert-mini or transformer)",
        })?;
    let mut averaged = Vec::with_capacity(maps.len());
    let mut len = 0;
    for map in maps {
        let [_, _, lq, lk] = map.dims();
        len = lq;
        averaged.push(tensor_values(map.mean_dim(1).reshape([lq * lk]))?);
    }
    // BERT reads at most its position table: positions past it get no share.
    let queries: Vec<usize> = (0..len).filter(|&i| !text.mask_pad[i]).collect();
    let flow = attention_rollout(&averaged, len, &queries);
    let baseline = text.masked_ids(&vec![false; text.features.len()]);
    let scores = text_scores(model, text, &[text.ids.clone(), baseline], target)?;
    Ok(FeatureAttribution {
        values: text
            .features
            .iter()
            .map(|&pos| flow.get(pos).copied().unwrap_or(0.0))
            .collect(),
        score: scores[0],
        baseline_score: scores[1],
    })
}

fn batch(
    text: &TokenizedText,
    rows: &[Vec<u32>],
    device: &Device,
) -> (Tensor<2, Int>, Tensor<2, Bool>) {
    let len = text.ids.len();
    let ids: Vec<i64> = rows.iter().flatten().map(|&id| id as i64).collect();
    let mask: Vec<bool> = (0..rows.len())
        .flat_map(|_| text.mask_pad.iter().copied())
        .collect();
    (
        Tensor::from_data(TensorData::new(ids, [rows.len(), len]), device),
        Tensor::from_data(TensorData::new(mask, [rows.len(), len]), device),
    )
}

fn check_target(target: usize, classes: usize) -> Result<()> {
    if target >= classes {
        return Err(ExplainError::NoSuchClass { target, classes });
    }
    Ok(())
}

/// The device a model's parameters live on (text and image explanations build inputs there).
pub(crate) fn model_device<M: burn::module::Module>(model: &M) -> Result<Device> {
    model
        .devices()
        .into_iter()
        .next()
        .ok_or_else(|| ExplainError::Read("the model has no parameters".into()))
}
