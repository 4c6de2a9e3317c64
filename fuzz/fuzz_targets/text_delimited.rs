//! The CSV/TSV text loader, then the labelled set built from what it read.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use tinderbox_data::text::{LabeledTexts, read_delimited};

fuzz_target!(|data: &[u8]| {
    let Some((&flag, body)) = data.split_first() else {
        return;
    };
    let delimiter = if flag & 1 == 0 { b',' } else { b'\t' };
    if let Ok((pairs, lossy)) = read_delimited(body, delimiter, "text", "label", Path::new("f.csv"))
    {
        let _ = LabeledTexts::from_pairs("fuzz", pairs, lossy);
    }
});
