//! Tokenized texts as a burn [`Dataset`], and a [`Batcher`] that pads each batch.

use std::sync::Arc;

use burn::data::dataloader::batcher::Batcher;
use burn::data::dataset::{Dataset, DatasetError};
use burn::prelude::*;
use tinderbox_tokenize::{EncodeOptions, Side, TextTokenizer, TokenTensors};

use super::labeled::LabeledTexts;
use crate::error::{DataError, Result};

/// One tokenized text and its class.
#[derive(Debug, Clone, PartialEq)]
pub struct TextItem {
    /// Token ids, already truncated, not padded.
    pub ids: Vec<u32>,
    /// The class id.
    pub label: usize,
    /// A teacher's logits for this text, when a student is distilled from it.
    pub teacher: Option<Arc<[f32]>>,
}

impl TextItem {
    /// A text's ids and label, without a teacher's logits.
    pub fn new(ids: Vec<u32>, label: usize) -> Self {
        Self {
            ids,
            label,
            teacher: None,
        }
    }
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
                    .map(|(ids, &label)| TextItem::new(ids, label)),
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

    /// The dataset with a teacher's logits beside each text, in order (knowledge
    /// distillation). Fails unless there is one row per text, each of `classes` values.
    pub fn with_teacher_logits(self, logits: &[Vec<f32>], classes: usize) -> Result<Self> {
        if logits.len() != self.items.len() || logits.iter().any(|row| row.len() != classes) {
            return Err(DataError::Invalid {
                name: "teacher logits".into(),
                reason: format!(
                    "{} rows for {} texts; every row must hold the {classes} classes' logits",
                    logits.len(),
                    self.items.len()
                ),
            });
        }
        let items = self
            .items
            .iter()
            .zip(logits)
            .map(|(item, row)| TextItem {
                teacher: Some(row.as_slice().into()),
                ..item.clone()
            })
            .collect();
        Ok(Self::new(items))
    }

    /// The items repeated whole, in order, until there are at least `min_len` of them: an epoch
    /// of a small training set as long as a larger one's (the trainer shuffles every epoch).
    /// An empty dataset stays empty.
    pub fn repeated_to(self, min_len: usize) -> Self {
        let n = self.items.len();
        if n == 0 || n >= min_len {
            return self;
        }
        let copies = min_len.div_ceil(n);
        let items = (0..copies)
            .flat_map(|_| self.items.iter().cloned())
            .collect();
        Self::new(items)
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
    /// The teacher's logits `[B, C]`, when every text of the batch has them.
    pub teacher_logits: Option<Tensor<2>>,
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
        let teacher_logits = items
            .iter()
            .map(|item| item.teacher.as_deref())
            .collect::<Option<Vec<&[f32]>>>()
            .filter(|rows| !rows.is_empty() && rows.iter().all(|r| r.len() == rows[0].len()))
            .map(|rows| {
                let classes = rows[0].len();
                let flat: Vec<f32> = rows.concat();
                Tensor::from_data(TensorData::new(flat, [rows.len(), classes]), device)
            });
        TextBatch {
            ids: tensors.ids,
            mask_pad: tensors.mask_pad,
            labels: Tensor::from_data(TensorData::new(labels, [items.len()]), device),
            teacher_logits,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items() -> Vec<TextItem> {
        vec![TextItem::new(vec![5, 6, 7], 1), TextItem::new(vec![9], 0)]
    }

    fn ints(t: Tensor<2, Int>) -> Vec<i64> {
        t.into_data().convert::<i64>().try_to_vec::<i64>().unwrap()
    }

    #[test]
    fn repeats_whole_copies_up_to_the_asked_length() {
        let ids = |d: &TextDataset| d.items().iter().map(|i| i.ids[0]).collect::<Vec<_>>();
        let five = TextDataset::new(items()).repeated_to(5);
        // Three whole copies (6 >= 5), in order, labels kept.
        assert_eq!(ids(&five), vec![5, 9, 5, 9, 5, 9]);
        assert_eq!(five.items()[4].label, 1);
        assert_eq!(ids(&TextDataset::new(items()).repeated_to(2)), vec![5, 9]);
        assert!(
            TextDataset::new(Vec::new())
                .repeated_to(8)
                .items()
                .is_empty()
        );
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
        assert!(left.teacher_logits.is_none());
    }

    #[test]
    fn teacher_logits_travel_with_their_texts() {
        let device = Device::default();
        let set = TextDataset::new(items());
        let err = set
            .clone()
            .with_teacher_logits(&[vec![0.5, 1.0]], 2)
            .unwrap_err();
        assert!(err.to_string().contains("1 rows for 2 texts"), "{err}");
        let set = set
            .with_teacher_logits(&[vec![0.5, 1.0], vec![-2.0, 3.0]], 2)
            .unwrap();
        let mut shuffled = set.items().to_vec();
        shuffled.reverse();
        let batch = TextBatcher::dynamic(0).batch(shuffled, &device);
        let logits: Vec<f32> = batch
            .teacher_logits
            .unwrap()
            .into_data()
            .try_to_vec()
            .unwrap();
        assert_eq!(logits, vec![-2.0, 3.0, 0.5, 1.0]);
    }

    #[test]
    fn empty_texts_still_make_a_batch() {
        let device = Device::default();
        let batch = TextBatcher::dynamic(3).batch(vec![TextItem::new(vec![], 0)], &device);
        assert_eq!(batch.ids.dims(), [1, 1]);
        assert_eq!(ints(batch.ids), vec![3]);
    }
}
