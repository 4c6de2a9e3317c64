//! Masked-language-model batches: packed sequences padded to the longest, corrupted by an
//! [`MlmMasker`], with the masked positions listed so that the head projects only those.

use burn::prelude::*;
use burn::tensor::TensorData;
use std::sync::Arc;

use rand::Rng;
use tinderbox_ops::IGNORE_INDEX;
use tinderbox_tokenize::{Side, TextTokenizer, TokenTensors};

use super::masking::MlmMasker;
use crate::DataError;

/// One batch for masked-language modelling.
#[derive(Clone, Debug)]
pub struct MlmBatch {
    /// Corrupted token ids `[B, L]`.
    pub input_ids: Tensor<2, Int>,
    /// `[B, L]`, true at padding.
    pub mask_pad: Tensor<2, Bool>,
    /// The masked positions `[M]`, flattened as `b * L + l`, in increasing order.
    pub masked_positions: Tensor<1, Int>,
    /// The original ids at those positions `[M]`.
    pub masked_labels: Tensor<1, Int>,
}

/// Builds [`MlmBatch`]es: right padding with `pad_id`, then masking.
#[derive(Clone, Debug)]
pub struct MlmCollator {
    /// Chooses and corrupts the tokens.
    pub masker: MlmMasker,
    /// The padding id (never masked: make it one of the masker's special ids).
    pub pad_id: u32,
    /// For whole-word masking: `word_pieces[id]` is true for ids that continue a word
    /// (WordPiece's `##` tokens). See [`word_pieces`].
    pub word_pieces: Option<Arc<[bool]>>,
}

/// Which ids of `tokenizer` continue a word (their token starts with `##`), for
/// [`MlmCollator::word_pieces`].
pub fn word_pieces(tokenizer: &dyn TextTokenizer) -> Arc<[bool]> {
    (0..tokenizer.vocab_size() as u32)
        .map(|id| {
            tokenizer
                .id_to_token(id)
                .is_some_and(|t| t.starts_with("##"))
        })
        .collect()
}

impl MlmCollator {
    /// A collator without whole-word information.
    pub fn new(masker: MlmMasker, pad_id: u32) -> Self {
        Self {
            masker,
            pad_id,
            word_pieces: None,
        }
    }

    /// Pads and masks `sequences`. If the draw chose no token in the whole batch, one real token
    /// is chosen anyway (as Google's BERT data script guarantees a prediction), so that the loss
    /// is always defined.
    ///
    /// Errors on an empty batch, a batch without any token that may be masked, and ids outside
    /// the vocabulary.
    ///
    /// ```
    /// use burn::prelude::*;
    /// use rand::SeedableRng;
    /// use tinderbox_data::mlm::{MlmCollator, MlmMasker, MlmMaskingConfig};
    ///
    /// let masker = MlmMasker::new(MlmMaskingConfig::default(), 100, 3, &[0, 1, 2]).unwrap();
    /// let collator = MlmCollator::new(masker, 0);
    /// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    /// let batch = collator
    ///     .collate(&[vec![1, 10, 11, 12, 2], vec![1, 20, 2]], &mut rng, &Device::default())
    ///     .unwrap();
    /// assert_eq!(batch.input_ids.dims(), [2, 5]);
    /// assert!(batch.masked_positions.dims()[0] >= 1);
    /// ```
    pub fn collate<R: Rng + ?Sized>(
        &self,
        sequences: &[Vec<u32>],
        rng: &mut R,
        device: &Device,
    ) -> Result<MlmBatch, DataError> {
        let len = sequences.iter().map(Vec::len).max().unwrap_or(0);
        if len == 0 {
            return Err(DataError::Mlm {
                reason: format!(
                    "cannot build a batch from {} empty sequences",
                    sequences.len()
                ),
            });
        }
        let mut rows = Vec::with_capacity(sequences.len());
        let mut positions = Vec::new();
        let mut labels = Vec::new();
        for (row, sequence) in sequences.iter().enumerate() {
            let starts: Option<Vec<bool>> = self.word_pieces.as_ref().map(|pieces| {
                sequence
                    .iter()
                    .map(|&id| !pieces.get(id as usize).copied().unwrap_or(false))
                    .collect()
            });
            let masked = self.masker.mask(sequence, starts.as_deref(), rng)?;
            for (col, label) in masked.labels.iter().enumerate() {
                if *label != IGNORE_INDEX {
                    positions.push((row * len + col) as i64);
                    labels.push(*label);
                }
            }
            rows.push(masked.input_ids);
        }
        if positions.is_empty() {
            self.force_one(sequences, len, &mut rows, &mut positions, &mut labels, rng)?;
        }
        let m = positions.len();
        let tensors = TokenTensors::pad(&rows, self.pad_id, Side::Right, None, device);
        Ok(MlmBatch {
            input_ids: tensors.ids,
            mask_pad: tensors.mask_pad,
            masked_positions: Tensor::from_data(TensorData::new(positions, [m]), device),
            masked_labels: Tensor::from_data(TensorData::new(labels, [m]), device),
        })
    }

    /// Masks one uniformly chosen maskable token of the batch with `[MASK]`.
    fn force_one<R: Rng + ?Sized>(
        &self,
        sequences: &[Vec<u32>],
        len: usize,
        rows: &mut [Vec<u32>],
        positions: &mut Vec<i64>,
        labels: &mut Vec<i64>,
        rng: &mut R,
    ) -> Result<(), DataError> {
        let candidates: Vec<(usize, u32)> = sequences
            .iter()
            .enumerate()
            .flat_map(|(row, s)| {
                s.iter()
                    .enumerate()
                    .map(move |(col, id)| (row * len + col, *id))
            })
            .filter(|(_, id)| self.masker.can_mask(*id))
            .collect();
        if candidates.is_empty() {
            return Err(DataError::Mlm {
                reason: format!(
                    "a batch of {} sequences holds no token that may be masked (only special tokens)",
                    sequences.len()
                ),
            });
        }
        let (flat, _) = candidates[rng.random_range(0..candidates.len())];
        // With whole words, the forced token's word is masked whole: back to its first piece,
        // then on through its last.
        let is_piece = |flat: usize| {
            let id = sequences[flat / len].get(flat % len).copied().unwrap_or(0) as usize;
            self.word_pieces
                .as_ref()
                .is_some_and(|p| p.get(id).copied().unwrap_or(false))
        };
        let (row, col) = (flat / len, flat % len);
        let mut start = col;
        while start > 0 && is_piece(row * len + start) && self.masker.can_mask(rows[row][start - 1])
        {
            start -= 1;
        }
        let mut end = col + 1;
        while end < rows[row].len() && is_piece(row * len + end) {
            end += 1;
        }
        for (at, id) in rows[row].iter_mut().enumerate().take(end).skip(start) {
            labels.push(i64::from(*id));
            *id = self.masker.mask_id();
            positions.push((row * len + at) as i64);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mlm::MlmMaskingConfig;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    /// Int tensors may be 32-bit on the device.
    fn ints<const D: usize>(t: Tensor<D, Int>) -> Vec<i64> {
        t.into_data().iter::<i64>().collect()
    }

    fn collator(probability: f64) -> MlmCollator {
        let config = MlmMaskingConfig {
            probability,
            ..MlmMaskingConfig::default()
        };
        MlmCollator::new(MlmMasker::new(config, 50, 3, &[0, 1, 2]).unwrap(), 0)
    }

    #[test]
    fn positions_and_labels_point_at_the_original_tokens() {
        let sequences = vec![vec![1, 10, 11, 12, 13, 2], vec![1, 20, 21, 2]];
        let batch = collator(0.5)
            .collate(
                &sequences,
                &mut StdRng::seed_from_u64(4),
                &Device::default(),
            )
            .unwrap();
        assert_eq!(batch.input_ids.dims(), [2, 6]);
        let pad: Vec<bool> = batch.mask_pad.into_data().try_to_vec().unwrap();
        assert_eq!(pad[6..], [false, false, false, false, true, true]);
        let ids = ints(batch.input_ids);
        assert_eq!(ids[10..], [0, 0], "right padding with pad_id");
        let positions = ints(batch.masked_positions);
        let labels = ints(batch.masked_labels);
        assert!(!positions.is_empty());
        assert!(positions.windows(2).all(|w| w[0] < w[1]));
        for (p, label) in positions.iter().zip(&labels) {
            let (row, col) = (*p as usize / 6, *p as usize % 6);
            assert_eq!(*label, i64::from(sequences[row][col]));
            assert!(![1, 2].contains(label), "a special token was masked");
        }
    }

    #[test]
    fn a_batch_always_has_a_masked_token() {
        // With probability 0 nothing is drawn; one token is forced.
        let batch = collator(0.0)
            .collate(
                &[vec![1, 7, 2]],
                &mut StdRng::seed_from_u64(0),
                &Device::default(),
            )
            .unwrap();
        let positions = ints(batch.masked_positions);
        assert_eq!(positions, [1]);
        let ids = ints(batch.input_ids);
        assert_eq!(ids, [1, 3, 2]);
    }

    #[test]
    fn empty_and_all_special_batches_are_errors() {
        let c = collator(0.15);
        let device = Device::default();
        let mut rng = StdRng::seed_from_u64(0);
        let e = c.collate(&[], &mut rng, &device).unwrap_err().to_string();
        assert!(e.contains("empty"), "{e}");
        let e = c
            .collate(&[vec![], vec![]], &mut rng, &device)
            .unwrap_err()
            .to_string();
        assert!(e.contains("2 empty sequences"), "{e}");
        let e = c
            .collate(&[vec![1, 2, 0]], &mut rng, &device)
            .unwrap_err()
            .to_string();
        assert!(e.contains("only special tokens"), "{e}");
    }

    #[test]
    fn whole_words_are_masked_with_all_their_pieces() {
        let texts = ["unbelievable whales swim", "unbelievable ships sail"];
        let tokenizer = tinderbox_tokenize::Tokenizer::train_wordpiece(
            texts.iter(),
            &tinderbox_tokenize::TrainOptions::new(40),
        )
        .unwrap();
        let pieces = word_pieces(&tokenizer);
        let mask = tokenizer.token_to_id("[MASK]").unwrap();
        let config = MlmMaskingConfig {
            probability: 0.5,
            whole_word: true,
            ..MlmMaskingConfig::default()
        };
        let vocab = tokenizer.vocab_size();
        let masker = MlmMasker::new(config, vocab, mask, &[0, 1, 2, 3]).unwrap();
        let mut collator = MlmCollator::new(masker, 0);
        let ids = tokenizer
            .encode_batch(
                &["unbelievable whales"],
                &tinderbox_tokenize::EncodeOptions::default(),
            )
            .unwrap()
            .ids
            .remove(0);
        assert!(
            ids.iter().any(|&id| pieces[id as usize]),
            "no ## piece in {ids:?}"
        );
        // Without the word pieces, whole-word masking cannot know the words.
        assert!(
            collator
                .collate(
                    std::slice::from_ref(&ids),
                    &mut StdRng::seed_from_u64(0),
                    &Device::default()
                )
                .is_err()
        );
        collator.word_pieces = Some(pieces.clone());
        for seed in 0..20 {
            let batch = collator
                .collate(
                    std::slice::from_ref(&ids),
                    &mut StdRng::seed_from_u64(seed),
                    &Device::default(),
                )
                .unwrap();
            let chosen: Vec<usize> = ints(batch.masked_positions)
                .iter()
                .map(|&p| p as usize)
                .collect();
            // A piece is chosen exactly when the token that starts its word is.
            for (i, id) in ids.iter().enumerate().skip(1) {
                if pieces[*id as usize] {
                    assert_eq!(
                        chosen.contains(&i),
                        chosen.contains(&(i - 1)),
                        "seed {seed}: {chosen:?}"
                    );
                }
            }
        }
    }
}
