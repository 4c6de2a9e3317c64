//! A batch of token ids as burn tensors (feature `burn`): the one place where rows of ids
//! become `[B, L]` id, padding-mask and segment tensors, for models, batchers and pipelines.

use burn::prelude::*;

use crate::encoding::{BatchEncoding, Side};
use crate::error::{Result, TokenizeError};

/// A batch on a device, in burn's conventions.
#[derive(Debug, Clone)]
pub struct TokenTensors {
    /// Token ids `[B, L]`.
    pub ids: Tensor<2, Int>,
    /// `[B, L]`, true at padding (burn's `mask_pad`; Hugging Face's attention mask negated).
    pub mask_pad: Tensor<2, Bool>,
    /// Segment ids `[B, L]` (`token_type_ids`).
    pub type_ids: Tensor<2, Int>,
}

impl TokenTensors {
    /// Pads `rows` of ids into `[B, L]` tensors: to their longest row, or to `min_len` if that
    /// is longer, with `pad_id` on `side`; segment ids 0. What a batcher does with
    /// pre-tokenized items.
    ///
    /// ```
    /// use burn::prelude::*;
    /// use tinderbox_tokenize::{Side, TokenTensors};
    ///
    /// let t = TokenTensors::pad(&[vec![5, 6, 7], vec![9]], 0, Side::Left, None, &Device::default());
    /// let ids: Vec<i64> = t.ids.into_data().convert::<i64>().try_to_vec().unwrap();
    /// assert_eq!(ids, vec![5, 6, 7, 0, 0, 9]);
    /// let pad: Vec<bool> = t.mask_pad.into_data().try_to_vec().unwrap();
    /// assert_eq!(pad, vec![false, false, false, true, true, false]);
    /// ```
    pub fn pad<R: AsRef<[u32]>>(
        rows: &[R],
        pad_id: u32,
        side: Side,
        min_len: Option<usize>,
        device: &Device,
    ) -> Self {
        let longest = rows.iter().map(|r| r.as_ref().len()).max().unwrap_or(0);
        let len = min_len.map_or(longest, |m| m.max(longest));
        let b = rows.len();
        let mut ids = Vec::with_capacity(b * len);
        let mut pad = Vec::with_capacity(b * len);
        for row in rows {
            let row = row.as_ref();
            let fill = len - row.len();
            let real = row.iter().map(|&id| i64::from(id));
            let padding = std::iter::repeat_n(i64::from(pad_id), fill);
            let (is_real, is_pad) = (
                std::iter::repeat_n(false, row.len()),
                std::iter::repeat_n(true, fill),
            );
            match side {
                Side::Left => {
                    ids.extend(padding.chain(real));
                    pad.extend(is_pad.chain(is_real));
                }
                Side::Right => {
                    ids.extend(real.chain(padding));
                    pad.extend(is_real.chain(is_pad));
                }
            }
        }
        Self {
            ids: Tensor::from_data(TensorData::new(ids, [b, len]), device),
            mask_pad: Tensor::from_data(TensorData::new(pad, [b, len]), device),
            type_ids: Tensor::zeros([b, len], device),
        }
    }
}

impl BatchEncoding {
    /// The batch as `[B, L]` tensors on `device`. Every row must have the same length (encode
    /// with padding; rows of ids without it go through [`TokenTensors::pad`]).
    pub fn to_tensors(&self, device: &Device) -> Result<TokenTensors> {
        let b = self.len();
        let l = self.ids.first().map_or(0, Vec::len);
        let uneven = |rows: &[Vec<u32>], what: &str| -> Result<()> {
            match rows.iter().position(|r| r.len() != l) {
                Some(i) => Err(TokenizeError::Options(format!(
                    "{what} row {i} has {} tokens where row 0 has {l}; pad the batch before \
                     turning it into tensors",
                    rows[i].len()
                ))),
                None if rows.len() != b => Err(TokenizeError::Options(format!(
                    "{} {what} rows for {b} rows of ids",
                    rows.len()
                ))),
                None => Ok(()),
            }
        };
        uneven(&self.ids, "id")?;
        uneven(&self.attention_mask, "attention-mask")?;
        let ints = |rows: &[Vec<u32>]| {
            let flat: Vec<i64> = rows.iter().flatten().map(|&v| i64::from(v)).collect();
            Tensor::<2, Int>::from_data(TensorData::new(flat, [b, l]), device)
        };
        let pad: Vec<bool> = self
            .attention_mask
            .iter()
            .flatten()
            .map(|&m| m == 0)
            .collect();
        let type_ids = if self.type_ids.is_empty() {
            Tensor::zeros([b, l], device)
        } else {
            uneven(&self.type_ids, "type-id")?;
            ints(&self.type_ids)
        };
        Ok(TokenTensors {
            ids: ints(&self.ids),
            mask_pad: Tensor::from_data(TensorData::new(pad, [b, l]), device),
            type_ids,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ints(t: Tensor<2, Int>) -> Vec<i64> {
        t.into_data().convert::<i64>().try_to_vec().unwrap()
    }

    #[test]
    fn padded_rows_become_ids_mask_and_segments() {
        let device = Device::default();
        let t = TokenTensors::pad(&[vec![5u32, 6], vec![9]], 1, Side::Right, Some(3), &device);
        assert_eq!(t.ids.dims(), [2, 3]);
        assert_eq!(ints(t.ids), vec![5, 6, 1, 9, 1, 1]);
        let pad: Vec<bool> = t.mask_pad.into_data().try_to_vec().unwrap();
        assert_eq!(pad, vec![false, false, true, false, true, true]);
        assert_eq!(ints(t.type_ids), vec![0; 6]);
    }

    #[test]
    fn an_encoding_turns_into_the_same_tensors() {
        let device = Device::default();
        let encoding = BatchEncoding {
            ids: vec![vec![2, 7, 3], vec![2, 3, 0]],
            attention_mask: vec![vec![1, 1, 1], vec![1, 1, 0]],
            type_ids: vec![vec![0, 0, 1], vec![0, 0, 0]],
            ..Default::default()
        };
        let t = encoding.to_tensors(&device).unwrap();
        assert_eq!(ints(t.ids), vec![2, 7, 3, 2, 3, 0]);
        assert_eq!(ints(t.type_ids), vec![0, 0, 1, 0, 0, 0]);
        let pad: Vec<bool> = t.mask_pad.into_data().try_to_vec().unwrap();
        assert_eq!(pad, vec![false, false, false, false, false, true]);
    }

    #[test]
    fn ragged_rows_are_an_error_naming_the_row() {
        let batch = BatchEncoding {
            ids: vec![vec![1, 2], vec![3]],
            attention_mask: vec![vec![1, 1], vec![1]],
            ..Default::default()
        };
        let err = batch
            .to_tensors(&Device::default())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("row 1 has 1 tokens where row 0 has 2"),
            "{err}"
        );
    }
}
