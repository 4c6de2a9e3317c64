//! Labelled grey-scale images held as bytes, the common form of every vision source.

use super::idx::IdxArray;
use crate::error::{DataError, Result};

/// Labelled `rows x cols` grey-scale images, stored as `u8` pixels, one image after another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageSet {
    images: Vec<u8>,
    labels: Vec<u8>,
    rows: usize,
    cols: usize,
}

impl ImageSet {
    /// Builds a set, checking that `images` holds exactly `labels.len()` images of `rows x cols`.
    pub fn new(images: Vec<u8>, labels: Vec<u8>, rows: usize, cols: usize) -> Result<Self> {
        let expected = labels.len().checked_mul(rows * cols);
        if rows == 0 || cols == 0 || expected != Some(images.len()) {
            return Err(DataError::Invalid {
                name: "image set".into(),
                reason: format!(
                    "{} labels of {rows}x{cols} images need {expected:?} pixels, found {}",
                    labels.len(),
                    images.len()
                ),
            });
        }
        Ok(Self {
            images,
            labels,
            rows,
            cols,
        })
    }

    /// Pairs an IDX image array `[N, rows, cols]` with an IDX label array `[N]`.
    pub fn from_idx(images: IdxArray, labels: IdxArray, name: &str) -> Result<Self> {
        let invalid = |reason: String| DataError::Invalid {
            name: name.to_string(),
            reason,
        };
        let [n, rows, cols] = images.dims[..] else {
            return Err(invalid(format!(
                "images must have 3 dimensions [N, rows, cols], found {:?}",
                images.dims
            )));
        };
        if labels.dims.len() != 1 {
            return Err(invalid(format!(
                "labels must have 1 dimension, found {:?}",
                labels.dims
            )));
        }
        if labels.dims[0] != n {
            return Err(invalid(format!(
                "image/label count mismatch: {n} images but {} labels",
                labels.dims[0]
            )));
        }
        Self::new(images.data, labels.data, rows, cols)
    }

    /// The number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether the set holds no image.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Image height in pixels.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Image width in pixels.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// The pixels of image `index`, row-major, or `None` past the end.
    pub fn image(&self, index: usize) -> Option<&[u8]> {
        let size = self.rows * self.cols;
        self.images.get(index * size..(index + 1) * size)
    }

    /// The label of image `index`, or `None` past the end.
    pub fn label(&self, index: usize) -> Option<u8> {
        self.labels.get(index).copied()
    }

    /// All labels, in order.
    pub fn labels(&self) -> &[u8] {
        &self.labels
    }

    /// All pixels, image after image.
    pub fn pixels(&self) -> &[u8] {
        &self.images
    }

    /// How many images carry each label `0..num_classes`; labels at or past `num_classes` are
    /// not counted.
    pub fn label_counts(&self, num_classes: usize) -> Vec<usize> {
        let mut counts = vec![0; num_classes];
        for &l in &self.labels {
            if let Some(c) = counts.get_mut(l as usize) {
                *c += 1;
            }
        }
        counts
    }

    /// Keeps the first `n` images (all of them if there are fewer).
    pub fn truncate(&mut self, n: usize) {
        let n = n.min(self.len());
        self.labels.truncate(n);
        self.images.truncate(n * self.rows * self.cols);
    }

    /// Splits off the last `n` images into a second set, as Keras' `validation_split` does.
    pub fn split_tail(mut self, n: usize) -> Result<(Self, Self)> {
        if n >= self.len() {
            return Err(DataError::Invalid {
                name: "image set".into(),
                reason: format!(
                    "cannot hold out {n} of {} images: nothing would be left",
                    self.len()
                ),
            });
        }
        let keep = self.len() - n;
        let tail = Self {
            images: self.images.split_off(keep * self.rows * self.cols),
            labels: self.labels.split_off(keep),
            rows: self.rows,
            cols: self.cols,
        };
        Ok((self, tail))
    }
}

/// A vision dataset's official training and test sets, with class names.
#[derive(Debug, Clone)]
pub struct ImageSplits {
    /// The training set, in its official order.
    pub train: ImageSet,
    /// The test set.
    pub test: ImageSet,
    /// A name per label.
    pub class_names: Vec<String>,
}

impl ImageSplits {
    /// Checks that every label of both sets names a class.
    pub fn validate(self, name: &str) -> Result<Self> {
        let classes = self.class_names.len();
        for (split, set) in [("train", &self.train), ("test", &self.test)] {
            if let Some(bad) = set.labels().iter().find(|&&l| l as usize >= classes) {
                return Err(DataError::Invalid {
                    name: name.to_string(),
                    reason: format!("{split} label {bad} is out of range for {classes} classes"),
                });
            }
            if (set.rows(), set.cols()) != (self.train.rows(), self.train.cols()) {
                return Err(DataError::Invalid {
                    name: name.to_string(),
                    reason: format!(
                        "{split} images are {}x{}, train images {}x{}",
                        set.rows(),
                        set.cols(),
                        self.train.rows(),
                        self.train.cols()
                    ),
                });
            }
        }
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(n: usize) -> ImageSet {
        ImageSet::new(
            (0..n * 4).map(|i| i as u8).collect(),
            (0..n as u8).collect(),
            2,
            2,
        )
        .unwrap()
    }

    #[test]
    fn accessors_and_split() {
        let s = set(5);
        assert_eq!(s.image(1), Some(&[4u8, 5, 6, 7][..]));
        assert_eq!(s.image(5), None);
        let (head, tail) = s.split_tail(2).unwrap();
        assert_eq!(head.len(), 3);
        assert_eq!(tail.labels(), &[3, 4]);
        assert_eq!(tail.image(0), Some(&[12u8, 13, 14, 15][..]));
        assert!(set(2).split_tail(2).is_err());
    }

    #[test]
    fn mismatched_counts_are_errors() {
        assert!(ImageSet::new(vec![0; 7], vec![0, 1], 2, 2).is_err());
        let images = IdxArray {
            dims: vec![3, 2, 2],
            data: vec![0; 12],
        };
        let labels = IdxArray {
            dims: vec![2],
            data: vec![0; 2],
        };
        let err = ImageSet::from_idx(images, labels, "t")
            .unwrap_err()
            .to_string();
        assert!(err.contains("3 images but 2 labels"), "{err}");
    }

    #[test]
    fn out_of_range_labels_are_rejected() {
        let splits = ImageSplits {
            train: set(3),
            test: set(1),
            class_names: vec!["a".into(), "b".into()],
        };
        let err = splits.validate("toy").unwrap_err().to_string();
        assert!(
            err.contains("train label 2 is out of range for 2 classes"),
            "{err}"
        );
    }
}
