//! Feeding an [`ImageSet`] to burn: a [`Dataset`] of items and a [`Batcher`] that scales
//! pixels to `0..1` and stacks them into `[B, 1, rows, cols]`.

use std::sync::Arc;

use burn::data::dataloader::batcher::Batcher;
use burn::data::dataset::{Dataset, DatasetError};
use burn::prelude::*;

use super::image_set::ImageSet;
use crate::error::DataError;

/// One labelled image as `u8` pixels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageItem {
    /// Row-major pixels.
    pub pixels: Vec<u8>,
    /// The class label.
    pub label: u8,
}

/// A burn [`Dataset`] over a shared [`ImageSet`].
///
/// Cloning is cheap: the pixels are shared.
#[derive(Debug, Clone)]
pub struct ImageDataset {
    set: Arc<ImageSet>,
}

impl ImageDataset {
    /// Wraps a set.
    pub fn new(set: ImageSet) -> Self {
        Self { set: Arc::new(set) }
    }

    /// The underlying images.
    pub fn set(&self) -> &ImageSet {
        &self.set
    }

    /// A batcher producing tensors of this dataset's image size.
    pub fn batcher(&self) -> ImageBatcher {
        ImageBatcher::new(self.set.rows(), self.set.cols())
    }
}

impl Dataset<ImageItem> for ImageDataset {
    fn get(&self, index: usize) -> Result<ImageItem, DatasetError> {
        match (self.set.image(index), self.set.label(index)) {
            (Some(pixels), Some(label)) => Ok(ImageItem {
                pixels: pixels.to_vec(),
                label,
            }),
            _ => Err(DatasetError::new(DataError::Invalid {
                name: "image dataset".into(),
                reason: format!("index {index} is past the end ({} images)", self.set.len()),
            })),
        }
    }

    fn len(&self) -> usize {
        self.set.len()
    }
}

/// A batch of images `[B, 1, rows, cols]` in `0..1` and their labels `[B]`.
#[derive(Debug, Clone)]
pub struct ImageBatch {
    /// Pixels divided by 255, as the Keras seed does.
    pub images: Tensor<4>,
    /// Class labels.
    pub targets: Tensor<1, Int>,
}

/// Stacks [`ImageItem`]s into an [`ImageBatch`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageBatcher {
    rows: usize,
    cols: usize,
}

impl ImageBatcher {
    /// A batcher for `rows x cols` images.
    pub fn new(rows: usize, cols: usize) -> Self {
        Self { rows, cols }
    }
}

impl Batcher<ImageItem, ImageBatch> for ImageBatcher {
    fn batch(&self, items: Vec<ImageItem>, device: &Device) -> ImageBatch {
        let n = items.len();
        let size = self.rows * self.cols;
        let mut pixels = Vec::with_capacity(n * size);
        let mut labels = Vec::with_capacity(n);
        for item in &items {
            // Items come from an ImageSet of this batcher's size; a foreign item is padded or cut
            // so the batch keeps its shape instead of panicking inside the data loader thread.
            pixels.extend(item.pixels.iter().take(size).map(|&p| p as f32 / 255.0));
            pixels.resize(labels.len() * size + size, 0.0);
            labels.push(item.label as i64);
        }
        ImageBatch {
            images: Tensor::from_data(
                TensorData::new(pixels, [n, 1, self.rows, self.cols]),
                device,
            ),
            targets: Tensor::from_data(TensorData::new(labels, [n]), device),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::data::dataloader::DataLoaderBuilder;

    #[test]
    fn batches_are_scaled_shaped_and_seeded() {
        let n = 10;
        let set = ImageSet::new(
            (0..n * 4).map(|i| (i * 6) as u8).collect(),
            (0..n as u8).collect(),
            2,
            2,
        )
        .unwrap();
        let dataset = ImageDataset::new(set);
        assert!(dataset.get(10).is_err());
        let device = Device::default();
        let batch = dataset.batcher().batch(
            vec![dataset.get(0).unwrap(), dataset.get(9).unwrap()],
            &device,
        );
        assert_eq!(batch.images.dims(), [2, 1, 2, 2]);
        let px = batch.images.into_data().try_to_vec::<f32>().unwrap();
        assert_eq!(px[1], 6.0 / 255.0);
        assert_eq!(px[7], 234.0 / 255.0);
        let labels: Vec<i64> = batch
            .targets
            .into_data()
            .convert::<i64>()
            .try_to_vec()
            .unwrap();
        assert_eq!(labels, vec![0, 9]);

        let order = |seed| -> Vec<i64> {
            let loader = DataLoaderBuilder::new(dataset.batcher())
                .batch_size(4)
                .shuffle(seed)
                .build(dataset.clone());
            loader
                .iter()
                .flat_map(|b| {
                    b.unwrap()
                        .targets
                        .into_data()
                        .convert::<i64>()
                        .try_to_vec::<i64>()
                        .unwrap()
                })
                .collect()
        };
        let a = order(7);
        assert_eq!(a, order(7));
        assert_ne!(a, order(8));
        let mut sorted = a.clone();
        sorted.sort();
        assert_eq!(sorted, (0..10).collect::<Vec<i64>>());
    }
}
