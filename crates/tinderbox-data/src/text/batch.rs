//! Tokenized texts as a burn [`Dataset`], and a [`Batcher`] that pads each batch.

use std::sync::Arc;

use burn::data::dataloader::batcher::Batcher;
use burn::data::dataset::{Dataset, DatasetError};
use burn::prelude::*;
use tinderbox_tokenize::{EncodeOptions, Side, TextTokenizer, TokenTensors};

use super::labeled::LabeledTexts;
use crate::error::{DataError, Result};

/// One tokenized text and its class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextItem {
    /// Token ids, already truncated, not padded.
    pub ids: Vec<u32>,
    /// The class id.
    pub label: usize,
}

/// A burn dataset of [`TextItem`]s (cheap to clone).
#[derive(Debug, Clone)]
pub struct TextDataset {
    items: Arc<Vec<TextItem>>,
}

impl TextDataset {
    /// Tokenizes every text of `data` with `options` (no padding is applied here: the batcher
    /// pads), 1,000 texts at a time.
    pub fn encode(
        data: &LabeledTexts,
        tokenizer: &dyn TextTokenizer,
        options: &EncodeOptions,
    ) -> Result<Self> {
        let options = EncodeOptions {
            padding: tinderbox_tokenize::Padding::None,
            ..*options
        };
        let mut items = Vec::with_capacity(data.len());
        for (texts, labels) in data.texts.chunks(1000).zip(data.labels.chunks(1000)) {
            let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
            let batch =
                tokenizer
                    .encode_batch(&refs, &options)
                    .map_err(|e| DataError::Invalid {
                        name: data.name.clone(),
                        reason: format!("tokenizing: {e}"),
                    })?;
            items.extend(
                batch
                    .ids
                    .into_iter()
                    .zip(labels)
                    .map(|(ids, &label)| TextItem { ids, label }),
            );
        }
        Ok(Self::new(items))
    }

    /// Wraps already tokenized items.
    pub fn new(items: Vec<TextItem>) -> Self {
        Self {
            items: Arc::new(items),
        }
    }

    /// The items.
    pub fn items(&self) -> &[TextItem] {
        &self.items
    }
}

impl Dataset<TextItem> for TextDataset {
    fn get(&self, index: usize) -> Result<TextItem, DatasetError> {
        self.items.get(index).cloned().ok_or_else(|| {
            DatasetError::new(DataError::Invalid {
                name: "text dataset".into(),
                reason: format!("index {index} is past the end ({} texts)", self.items.len()),
            })
        })
    }

    fn len(&self) -> usize {
        self.items.len()
    }
}

/// A padded batch of token ids and labels.
#[derive(Debug, Clone)]
pub struct TextBatch {
    /// Token ids `[B, L]`.
    pub ids: Tensor<2, Int>,
    /// `[B, L]`, true at padding (burn's `mask_pad` convention; Hugging Face's attention mask is
    /// its negation).
    pub mask_pad: Tensor<2, Bool>,
    /// Class ids `[B]`.
    pub labels: Tensor<1, Int>,
}

/// Pads [`TextItem`]s into a [`TextBatch`]: to the longest item of the batch (dynamic padding)
/// or to a fixed length, on either side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextBatcher {
    /// The padding id.
    pub pad_id: u32,
    /// Pad every batch to this length instead of its longest item. Items are truncated when
    /// tokenized; a longer one makes its batch longer rather than being cut here.
    pub fixed_len: Option<usize>,
    /// Where padding goes (Keras' `pad_sequences` default is `Left`).
    pub side: Side,
}

impl TextBatcher {
    /// Dynamic padding on the right with `pad_id`.
    pub fn dynamic(pad_id: u32) -> Self {
        Self {
            pad_id,
            fixed_len: None,
            side: Side::Right,
        }
    }
}

impl Batcher<TextItem, TextBatch> for TextBatcher {
    fn batch(&self, items: Vec<TextItem>, device: &Device) -> TextBatch {
        let rows: Vec<&[u32]> = items.iter().map(|item| item.ids.as_slice()).collect();
        // A fixed length never cuts an item here: items are truncated when tokenized.
        let min_len = self.fixed_len.unwrap_or(0).max(1);
        let tensors = TokenTensors::pad(&rows, self.pad_id, self.side, Some(min_len), device);
        let labels: Vec<i64> = items.iter().map(|item| item.label as i64).collect();
        TextBatch {
            ids: tensors.ids,
            mask_pad: tensors.mask_pad,
            labels: Tensor::from_data(TensorData::new(labels, [items.len()]), device),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items() -> Vec<TextItem> {
        vec![
            TextItem {
                ids: vec![5, 6, 7],
                label: 1,
            },
            TextItem {
                ids: vec![9],
                label: 0,
            },
        ]
    }

    fn ints(t: Tensor<2, Int>) -> Vec<i64> {
        t.into_data().convert::<i64>().try_to_vec::<i64>().unwrap()
    }

    #[test]
    fn pads_dynamically_on_either_side() {
        let device = Device::default();
        let right = TextBatcher::dynamic(0).batch(items(), &device);
        assert_eq!(right.ids.dims(), [2, 3]);
        assert_eq!(ints(right.ids), vec![5, 6, 7, 9, 0, 0]);
        let pad = right.mask_pad.into_data().try_to_vec::<bool>().unwrap();
        assert_eq!(pad, vec![false, false, false, false, true, true]);
        let left = TextBatcher {
            pad_id: 0,
            fixed_len: Some(4),
            side: Side::Left,
        }
        .batch(items(), &device);
        assert_eq!(ints(left.ids), vec![0, 5, 6, 7, 0, 0, 0, 9]);
        let labels: Vec<i64> = left
            .labels
            .into_data()
            .convert::<i64>()
            .try_to_vec()
            .unwrap();
        assert_eq!(labels, vec![1, 0]);
    }

    #[test]
    fn empty_texts_still_make_a_batch() {
        let device = Device::default();
        let batch = TextBatcher::dynamic(3).batch(
            vec![TextItem {
                ids: vec![],
                label: 0,
            }],
            &device,
        );
        assert_eq!(batch.ids.dims(), [1, 1]);
        assert_eq!(ints(batch.ids), vec![3]);
    }
}
