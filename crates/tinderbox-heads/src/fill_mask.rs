//! Fill-mask: the most likely tokens at each mask token of a text, as Hugging Face's
//! `fill-mask` pipeline gives them, for any [`MaskedLm`].

use burn::prelude::*;
use burn::tensor::activation::softmax;
use serde::{Deserialize, Serialize};
use tinderbox_tokenize::{EncodeOptions, TextTokenizer};

use crate::error::FillMaskError;
use crate::masked_lm::MaskedLm;

/// One candidate for a masked position.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    /// The token as the vocabulary spells it (`##` marks a word piece).
    pub token: String,
    /// Its id.
    #[serde(default)]
    pub id: u32,
    /// Its probability.
    pub probability: f64,
}

/// The predictions for one text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FilledMask {
    /// The text as given (or decoded, for held-out examples).
    pub text: String,
    /// The original token, when known (held-out examples).
    pub truth: Option<String>,
    /// The top candidates of each mask, in order of position.
    pub candidates: Vec<Vec<Candidate>>,
    /// The tokens the text had when it was longer than the model reads (only the first
    /// `max_length` were read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub truncated_from: Option<usize>,
}

/// The `top` most likely tokens at each mask token of `text`, reading at most the model's
/// [`max_length`](MaskedLm::max_length) tokens, on the device the model's weights are on.
///
/// Errors when the tokenizer has no mask token, the text has none, or every mask lies beyond
/// the tokens the model reads.
pub fn fill_mask<M: MaskedLm>(
    model: &M,
    tokenizer: &dyn TextTokenizer,
    text: &str,
    top: usize,
) -> Result<FilledMask, FillMaskError> {
    let mask = tokenizer
        .special_tokens()
        .mask
        .ok_or(FillMaskError::NoMaskToken)?;
    let encoded = tokenizer.encode_batch(&[text], &EncodeOptions::default())?;
    let mut ids = encoded.ids.into_iter().next().unwrap_or_default();
    if !ids.contains(&mask.id) {
        return Err(FillMaskError::NoMask {
            text: text.to_string(),
            mask: mask.token,
        });
    }
    let mut truncated_from = None;
    if let Some(max_len) = model.max_length()
        && ids.len() > max_len
    {
        truncated_from = Some(ids.len());
        ids.truncate(max_len);
        if !ids.contains(&mask.id) {
            return Err(FillMaskError::MaskBeyondLength {
                mask: mask.token,
                max_len,
            });
        }
    }
    let positions: Vec<usize> = (0..ids.len()).filter(|&i| ids[i] == mask.id).collect();
    Ok(FilledMask {
        text: text.to_string(),
        truth: None,
        candidates: top_candidates(model, tokenizer, &ids, &positions, top)?,
        truncated_from,
    })
}

/// The `top` candidates at `positions` of one sequence of `ids` (no padding), best first.
pub fn top_candidates<M: MaskedLm>(
    model: &M,
    tokenizer: &dyn TextTokenizer,
    ids: &[u32],
    positions: &[usize],
    top: usize,
) -> Result<Vec<Vec<Candidate>>, FillMaskError> {
    let device = model_device(model);
    let len = ids.len();
    if let Some(&p) = positions.iter().find(|&&p| p >= len) {
        return Err(FillMaskError::PositionOutOfRange { position: p, len });
    }
    let input = Tensor::<2, Int>::from_data(
        TensorData::new(ids.iter().map(|&i| i as i64).collect(), [1, len]),
        &device,
    );
    let pad = Tensor::<2, Bool>::from_data(TensorData::new(vec![false; len], [1, len]), &device);
    let at = Tensor::<1, Int>::from_data(
        TensorData::new(
            positions.iter().map(|&p| p as i64).collect(),
            [positions.len()],
        ),
        &device,
    );
    let probabilities = softmax(model.logits_at(input, pad, at), 1);
    let vocab = probabilities.dims()[1];
    let values: Vec<f32> = probabilities
        .into_data()
        .convert::<f32>()
        .try_to_vec()
        .map_err(|e| FillMaskError::Read(format!("{e:?}")))?;
    Ok(values
        .chunks(vocab.max(1))
        .map(|row| {
            let mut order: Vec<usize> = (0..row.len()).collect();
            order.sort_unstable_by(|&a, &b| row[b].total_cmp(&row[a]).then(a.cmp(&b)));
            order
                .into_iter()
                .take(top)
                .map(|id| Candidate {
                    token: tokenizer
                        .id_to_token(id as u32)
                        .unwrap_or_else(|| format!("<{id}>")),
                    id: id as u32,
                    probability: f64::from(row[id]),
                })
                .collect()
        })
        .collect())
}

/// Masks one whole word near the middle of a held-out `[CLS] ... [SEP]` sequence (within its
/// first `window` tokens) and predicts it: an honest example of what a model learned, since it
/// never trained on the sequence. `None` when the window has no single-piece word of letters
/// to hide.
pub fn fill_heldout<M: MaskedLm>(
    model: &M,
    tokenizer: &dyn TextTokenizer,
    sequence: &[u32],
    window: usize,
    top: usize,
) -> Result<Option<FilledMask>, FillMaskError> {
    let mask = tokenizer
        .special_tokens()
        .mask
        .ok_or(FillMaskError::NoMaskToken)?;
    let (&cls, &sep) = match (sequence.first(), sequence.last()) {
        (Some(first), Some(last)) if sequence.len() >= 3 => (first, last),
        _ => return Ok(None),
    };
    let specials = tokenizer.special_tokens().ids();
    let inner = &sequence[1..sequence.len() - 1];
    let inner = &inner[..inner.len().min(window)];
    let word = |i: usize| -> bool {
        let token = tokenizer.id_to_token(inner[i]).unwrap_or_default();
        let next_is_piece = inner
            .get(i + 1)
            .and_then(|&n| tokenizer.id_to_token(n))
            .is_some_and(|t| t.starts_with("##"));
        !specials.contains(&inner[i])
            && token.len() >= 3
            && token.chars().all(char::is_alphabetic)
            && !next_is_piece
    };
    // Nearest the middle first: the middle, one after, one before, two after, ...
    let middle = inner.len() / 2;
    let Some(chosen) = (0..inner.len())
        .map(|d| {
            if d % 2 == 0 {
                middle + d / 2
            } else {
                middle.wrapping_sub(d / 2 + 1)
            }
        })
        .filter(|&i| i < inner.len())
        .find(|&i| word(i))
    else {
        return Ok(None);
    };
    let mut ids = Vec::with_capacity(inner.len() + 2);
    ids.push(cls);
    ids.extend_from_slice(inner);
    ids.push(sep);
    let truth = tokenizer.id_to_token(ids[chosen + 1]);
    ids[chosen + 1] = mask.id;
    let text = tokenizer.decode(&ids[1..ids.len() - 1], false)?;
    let candidates = top_candidates(model, tokenizer, &ids, &[chosen + 1], top)?;
    Ok(Some(FilledMask {
        text,
        truth,
        candidates,
        truncated_from: None,
    }))
}

/// The device of a model's first parameter (the default device for a model without any).
fn model_device<M: Module>(model: &M) -> Device {
    model.devices().into_iter().next().unwrap_or_default()
}
