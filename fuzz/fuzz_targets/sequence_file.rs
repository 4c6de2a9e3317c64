//! The packed-sequence file of MLM pre-training (TBXSEQ01 header, fixed records): open, then
//! read every record it claims to hold, on a real file patched by the fuzzer or on any bytes.
#![no_main]

#[path = "mutate.rs"]
mod mutate;

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use tinderbox_data::mlm::{SequenceFile, SequenceFileWriter};

fn valid() -> &'static [u8] {
    static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    BYTES.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("seq.bin");
        let mut writer = SequenceFileWriter::create(&path, 6).unwrap_or_else(|e| panic!("{e}"));
        for ids in [&[2u32, 5, 6, 3][..], &[2, 7, 8, 9, 10, 3], &[2, 4, 3]] {
            writer.push(ids).unwrap_or_else(|e| panic!("{e}"));
        }
        writer.finish().unwrap_or_else(|e| panic!("{e}"));
        std::fs::read(&path).unwrap_or_else(|e| panic!("{e}"))
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(mut file) = tempfile::NamedTempFile::new() else {
        return;
    };
    if std::io::Write::write_all(&mut file, &mutate::mutate(valid(), data)).is_err() {
        return;
    }
    if let Ok(sequences) = SequenceFile::open(file.path()) {
        for i in 0..sequences.len().min(64) {
            let _ = sequences.get(i);
        }
        let _ = sequences.get(sequences.len());
    }
});
