//! A small two-class text dataset for the text-classification tests.

use std::path::Path;

/// Two classes with different words, `n` texts each, one file per text.
pub fn folder(dir: &Path, n: usize) {
    let words = [
        ("pos", ["wonderful", "great", "superb", "moving", "joyful"]),
        ("neg", ["awful", "boring", "dreadful", "tedious", "clumsy"]),
    ];
    for (class, vocab) in words {
        std::fs::create_dir_all(dir.join(class)).unwrap();
        for i in 0..n {
            let text = format!(
                "the film was {} and {} , the cast {}",
                vocab[i % 5],
                vocab[(i / 5) % 5],
                vocab[(i + 2) % 5]
            );
            std::fs::write(dir.join(class).join(format!("{i:03}.txt")), text).unwrap();
        }
    }
}
