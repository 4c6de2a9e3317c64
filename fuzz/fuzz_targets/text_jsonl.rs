//! The JSON-lines text loader, then the labelled set built from what it read.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use tinderbox_data::text::{LabeledTexts, read_jsonl};

fuzz_target!(|data: &[u8]| {
    if let Ok((pairs, lossy)) = read_jsonl(data, "text", "label", Path::new("f.jsonl")) {
        let _ = LabeledTexts::from_pairs("fuzz", pairs, lossy);
    }
});
