//! Causal-language-model batches: the packed sequences of [`crate::mlm`] (framed by
//! [`Framing::Causal`](crate::mlm::Framing)) padded on the right, with every position that is
//! followed by a real token listed beside that token, so that the model scores the next token
//! wherever there is one and projects nothing else onto the vocabulary. Drawn as the same
//! resumable [`SequenceStream`](crate::mlm::SequenceStream) as masked-LM batches.

use burn::prelude::*;
use burn::tensor::TensorData;
use rand::rngs::StdRng;
use tinderbox_tokenize::{Side, TokenTensors};

use crate::DataError;
use crate::mlm::{Collate, SequenceStream};

/// One batch for next-token prediction.
#[derive(Clone, Debug)]
pub struct CausalLmBatch {
    /// Token ids `[B, L]`, padded on the right.
    pub input_ids: Tensor<2, Int>,
    /// `[B, L]`, true at padding.
    pub mask_pad: Tensor<2, Bool>,
    /// The positions whose next token is scored `[M]`, flattened as `b * L + l`, in increasing
    /// order: every real position but a row's last.
    pub positions: Tensor<1, Int>,
    /// The token after each of them `[M]`.
    pub targets: Tensor<1, Int>,
}

/// Builds [`CausalLmBatch`]es from sequences of at most `max_len` ids.
#[derive(Clone, Debug)]
pub struct CausalLmCollator {
    /// The padding id (never a target).
    pub pad_id: u32,
    /// The longest sequence the model takes (its context).
    pub max_len: usize,
}

/// The stream of causal-LM batches.
pub type CausalLmStream = SequenceStream<CausalLmCollator>;

impl CausalLmCollator {
    /// A collator padding with `pad_id` for a model of `max_len` positions.
    pub fn new(pad_id: u32, max_len: usize) -> Self {
        Self { pad_id, max_len }
    }

    /// Pads `sequences` and lists their next-token targets.
    ///
    /// Errors on a batch without a sequence of two tokens (nothing to predict) and on a
    /// sequence longer than `max_len`.
    ///
    /// ```
    /// use burn::prelude::*;
    /// use tinderbox_data::causal_lm::CausalLmCollator;
    ///
    /// let collator = CausalLmCollator::new(1, 8);
    /// let batch = collator.batch(&[vec![0, 10, 11, 2], vec![0, 20]], &Device::default()).unwrap();
    /// assert_eq!(batch.input_ids.dims(), [2, 4]);
    /// let positions: Vec<i64> = batch.positions.into_data().convert::<i64>().try_to_vec().unwrap();
    /// let targets: Vec<i64> = batch.targets.into_data().convert::<i64>().try_to_vec().unwrap();
    /// assert_eq!(positions, [0, 1, 2, 4]);
    /// assert_eq!(targets, [10, 11, 2, 20]);
    /// ```
    pub fn batch(
        &self,
        sequences: &[Vec<u32>],
        device: &Device,
    ) -> Result<CausalLmBatch, DataError> {
        let len = sequences.iter().map(Vec::len).max().unwrap_or(0);
        if len > self.max_len {
            return Err(DataError::Mlm {
                reason: format!(
                    "a sequence of {len} tokens is longer than the model's {} positions",
                    self.max_len
                ),
            });
        }
        let (mut positions, mut targets) = (Vec::new(), Vec::new());
        for (row, sequence) in sequences.iter().enumerate() {
            for (col, next) in sequence.iter().enumerate().skip(1) {
                positions.push((row * len + col - 1) as i64);
                targets.push(i64::from(*next));
            }
        }
        if positions.is_empty() {
            return Err(DataError::Mlm {
                reason: format!(
                    "no next token to predict in {} sequences of at most {len} tokens (a \
                     sequence needs two)",
                    sequences.len()
                ),
            });
        }
        let m = positions.len();
        let tensors = TokenTensors::pad(sequences, self.pad_id, Side::Right, None, device);
        Ok(CausalLmBatch {
            input_ids: tensors.ids,
            mask_pad: tensors.mask_pad,
            positions: Tensor::from_data(TensorData::new(positions, [m]), device),
            targets: Tensor::from_data(TensorData::new(targets, [m]), device),
        })
    }
}

impl Collate for CausalLmCollator {
    type Batch = CausalLmBatch;

    fn collate(
        &self,
        sequences: &[Vec<u32>],
        _rng: &mut StdRng,
        device: &Device,
    ) -> Result<CausalLmBatch, DataError> {
        self.batch(sequences, device)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mlm::{SequenceFileWriter, fixed_batches};

    fn ids(t: Tensor<1, Int>) -> Vec<i64> {
        t.into_data().convert::<i64>().try_to_vec().unwrap()
    }

    #[test]
    fn every_real_position_but_the_last_predicts_the_token_after_it() {
        let device = Device::default();
        let collator = CausalLmCollator::new(1, 5);
        let rows = vec![vec![0, 7, 8, 9, 2], vec![0, 5, 6], vec![0]];
        let batch = collator.batch(&rows, &device).unwrap();
        let (positions, targets) = (ids(batch.positions), ids(batch.targets));
        let flat: Vec<i64> = batch
            .input_ids
            .into_data()
            .convert::<i64>()
            .try_to_vec()
            .unwrap();
        assert_eq!(positions.len(), 4 + 2);
        for (p, t) in positions.iter().zip(&targets) {
            // The target is the id one column to the right, in the same row.
            assert_eq!(flat[*p as usize + 1], *t);
            assert_ne!(*p as usize % 5, 4, "a row's last column predicts nothing");
        }
        let pad: Vec<bool> = batch.mask_pad.into_data().try_to_vec().unwrap();
        assert_eq!(pad[5..10], [false, false, false, true, true]);
    }

    #[test]
    fn too_long_or_nothing_to_predict_is_an_error() {
        let device = Device::default();
        let long = CausalLmCollator::new(1, 3).batch(&[vec![0, 1, 2, 3]], &device);
        assert!(
            long.unwrap_err()
                .to_string()
                .contains("longer than the model's 3")
        );
        let short = CausalLmCollator::new(1, 3).batch(&[vec![0], vec![]], &device);
        assert!(short.unwrap_err().to_string().contains("needs two"));
    }

    #[test]
    fn streams_and_held_out_batches_are_reproducible() {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = SequenceFileWriter::create(dir.path().join("t.seq"), 4).unwrap();
        for i in 0..9 {
            writer.push(&[0, 10 + i, 11 + i, 2]).unwrap();
        }
        let file = writer.finish().unwrap();
        let device = Device::default();
        let collator = CausalLmCollator::new(1, 4);
        let mut a = CausalLmStream::new(file.clone(), collator.clone(), 2, 5).unwrap();
        let mut b = CausalLmStream::new(file.clone(), collator.clone(), 2, 5).unwrap();
        let (x, y) = (a.batch(6, &device).unwrap(), b.batch(6, &device).unwrap());
        assert_eq!(x.input_ids.into_data(), y.input_ids.into_data());
        let held = fixed_batches(&file, &collator, 4, 9, 0, &device).unwrap();
        assert_eq!(held.len(), 3);
        assert_eq!(held[2].input_ids.dims(), [1, 4]);
    }
}
