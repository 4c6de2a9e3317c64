//! Fashion-MNIST from Debian's `dataset-fashion-mnist` (installed, or fetched with
//! `apt-get download` and unpacked by this crate). Needs Debian's package archive.

use tinderbox_data::fetch::Cache;
use tinderbox_data::vision::VisionDataset;

#[test]
fn fashion_mnist_loads_with_balanced_classes() {
    let cache = Cache::from_env().expect("cache");
    let data = VisionDataset::FashionMnist
        .load(&cache, None)
        .expect("Fashion-MNIST (needs apt-get and Debian's archive)");
    assert_eq!((data.train.len(), data.test.len()), (60_000, 10_000));
    assert_eq!((data.train.rows(), data.train.cols()), (28, 28));
    assert_eq!(data.train.label_counts(10), vec![6000; 10]);
    assert_eq!(data.test.label_counts(10), vec![1000; 10]);
    // The first training image of Fashion-MNIST is an ankle boot, the first test image too.
    assert_eq!(data.train.label(0), Some(9));
    assert_eq!(data.test.label(0), Some(9));
}
