//! The folder-of-classes loader. The input is split on 0xFF into entries; an entry's first byte
//! picks its class folder (or a file at the top, or a hidden file), the rest is its content.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tinderbox_data::text::{LabeledTexts, read_folder};

fuzz_target!(|data: &[u8]| {
    let Ok(dir) = tempfile::tempdir() else {
        return;
    };
    for (i, entry) in data.split(|&b| b == 0xFF).take(32).enumerate() {
        let (kind, content) = entry.split_first().unwrap_or((&0, &[]));
        let path = match kind % 6 {
            0 => dir.path().join(format!("top-{i}.txt")),
            5 => dir
                .path()
                .join(format!("class-{}", kind % 3))
                .join(format!(".hidden-{i}")),
            k => dir
                .path()
                .join(format!("class-{k}"))
                .join(format!("{i}.txt")),
        };
        if let Some(parent) = path.parent() {
            let _ = std::fs::create_dir_all(parent);
        }
        let _ = std::fs::write(&path, content);
    }
    if let Ok((pairs, lossy)) = read_folder(dir.path()) {
        let _ = LabeledTexts::from_pairs("fuzz", pairs, lossy);
    }
});
