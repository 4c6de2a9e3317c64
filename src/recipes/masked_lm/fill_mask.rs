//! Fill-mask: the most likely tokens at each `[MASK]` of a text, as Hugging Face's
//! `fill-mask` pipeline prints them.

use burn::prelude::*;
use burn::tensor::activation::softmax;
use serde::{Deserialize, Serialize};
use tinderbox_heads::MaskedLm;
use tinderbox_tokenize::{EncodeOptions, TextTokenizer, Tokenizer};

use crate::Error;

/// One candidate for a masked position.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    /// The token as the vocabulary spells it (`##` marks a word piece).
    pub token: String,
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
    /// The top candidates of each `[MASK]`, in order of position.
    pub candidates: Vec<Vec<Candidate>>,
}

/// The `top` most likely tokens at each `[MASK]` of `text`. Errors when the text has no
/// `[MASK]` (or the tokenizer none), and when the masks fall beyond `max_len` tokens.
pub fn fill_text<M: MaskedLm>(
    model: &M,
    tokenizer: &Tokenizer,
    text: &str,
    max_len: usize,
    top: usize,
    device: &Device,
) -> Result<FilledMask, Error> {
    let mask = tokenizer
        .special_tokens()
        .mask
        .ok_or_else(|| Error::Invalid("the run's tokenizer has no mask token".into()))?;
    let encoded = tokenizer.encode_batch(&[text], &EncodeOptions::default())?;
    let mut ids = encoded.ids.into_iter().next().unwrap_or_default();
    if !ids.contains(&mask.id) {
        return Err(Error::Invalid(format!(
            "{text:?} has no {} to fill; write it where a word is missing, e.g. \
             \"The president spoke to {} about the economy.\"",
            mask.token, mask.token
        )));
    }
    if ids.len() > max_len {
        eprintln!(
            "warning: the text has {} tokens; only the first {max_len} are read",
            ids.len()
        );
        ids.truncate(max_len);
        if !ids.contains(&mask.id) {
            return Err(Error::Invalid(format!(
                "every {} of the text lies beyond the model's {max_len} tokens",
                mask.token
            )));
        }
    }
    let positions: Vec<usize> = (0..ids.len()).filter(|&i| ids[i] == mask.id).collect();
    let candidates = predict(model, tokenizer, &ids, &positions, top, device);
    Ok(FilledMask {
        text: text.to_string(),
        truth: None,
        candidates,
    })
}

/// The top candidates at `positions` of one sequence of `ids`.
pub fn predict<M: MaskedLm>(
    model: &M,
    tokenizer: &Tokenizer,
    ids: &[u32],
    positions: &[usize],
    top: usize,
    device: &Device,
) -> Vec<Vec<Candidate>> {
    let len = ids.len();
    let input = Tensor::<2, Int>::from_data(
        TensorData::new(ids.iter().map(|&i| i as i64).collect(), [1, len]),
        device,
    );
    let pad = Tensor::<2, Bool>::from_data(TensorData::new(vec![false; len], [1, len]), device);
    let at = Tensor::<1, Int>::from_data(
        TensorData::new(
            positions.iter().map(|&p| p as i64).collect(),
            [positions.len()],
        ),
        device,
    );
    let probabilities = softmax(model.logits_at(input, pad, at), 1);
    let vocab = probabilities.dims()[1];
    let values: Vec<f32> = probabilities
        .into_data()
        .convert::<f32>()
        .try_to_vec()
        .unwrap_or_default();
    values
        .chunks(vocab.max(1))
        .map(|row| {
            let mut order: Vec<usize> = (0..row.len()).collect();
            order.sort_unstable_by(|&a, &b| row[b].total_cmp(&row[a]));
            order
                .into_iter()
                .take(top)
                .map(|id| Candidate {
                    token: tokenizer
                        .id_to_token(id as u32)
                        .unwrap_or_else(|| format!("<{id}>")),
                    probability: f64::from(row[id]),
                })
                .collect()
        })
        .collect()
}

/// Masks one whole word near the middle of a held-out sequence and predicts it: an honest
/// example of what the model learned (it never trained on the sequence). `None` when the
/// sequence has no single-piece word of letters to hide.
pub fn fill_heldout<M: MaskedLm>(
    model: &M,
    tokenizer: &Tokenizer,
    sequence: &[u32],
    window: usize,
    top: usize,
    device: &Device,
) -> Result<Option<FilledMask>, Error> {
    let mask = tokenizer
        .special_tokens()
        .mask
        .ok_or_else(|| Error::Invalid("the run's tokenizer has no mask token".into()))?;
    let specials = tokenizer.special_tokens().ids();
    let (cls, sep) = (sequence[0], sequence[sequence.len() - 1]);
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
    let candidates = predict(model, tokenizer, &ids, &[chosen + 1], top, device);
    Ok(Some(FilledMask {
        text,
        truth,
        candidates,
    }))
}
