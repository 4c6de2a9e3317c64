//! A small trained text-classification run for tests that need one: a bag of embeddings on
//! generated reviews whose label rests on a few sentiment words.

use std::path::{Path, PathBuf};

use tinderbox::data::text::TextSource;
use tinderbox::recipes::text_classification::{
    TextEncoderConfig, TextModel, TextRunConfig, train_and_test,
};

pub const POSITIVE: [&str; 5] = ["wonderful", "great", "superb", "moving", "joyful"];
pub const NEGATIVE: [&str; 5] = ["awful", "boring", "dreadful", "tedious", "clumsy"];

/// `n` reviews per class, one file each, in `dir/pos` and `dir/neg`.
pub fn folder(dir: &Path, n: usize) {
    for (class, vocab) in [("pos", POSITIVE), ("neg", NEGATIVE)] {
        std::fs::create_dir_all(dir.join(class)).unwrap();
        for i in 0..n {
            let text = format!(
                "the film was {} and the cast {}",
                vocab[i % 5],
                vocab[(i + 2) % 5]
            );
            std::fs::write(dir.join(class).join(format!("{i:03}.txt")), text).unwrap();
        }
    }
}

/// Trains the bag of embeddings on 60 reviews per class into `dir/run` (test accuracy at least
/// 0.9) and returns the run directory.
pub fn trained(dir: &Path) -> PathBuf {
    folder(&dir.join("data"), 60);
    let mut config = TextRunConfig::for_source(TextSource::Folder {
        path: dir.join("data"),
    });
    config.encoder = TextEncoderConfig::new(TextModel::Bow, 50);
    config.max_len = 12;
    config.train.epochs = 6;
    config.train.batch_size = 8;
    config.train.lr = 1e-2;
    let out = dir.join("run");
    let summary = train_and_test(&config, &out, false).unwrap();
    assert!(summary.test_accuracy >= 0.9, "{summary:?}");
    out
}
