//! The IDX reader, and an image set built from two IDX arrays (the first byte splits the input).
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use tinderbox_data::vision::ImageSet;
use tinderbox_data::vision::idx::parse_idx;

fuzz_target!(|data: &[u8]| {
    let _ = parse_idx(data.to_vec(), Path::new("fuzz-idx"));
    let Some((&cut, rest)) = data.split_first() else {
        return;
    };
    let cut = (cut as usize * rest.len() / 255).min(rest.len());
    let (images, labels) = rest.split_at(cut);
    if let (Ok(images), Ok(labels)) = (
        parse_idx(images.to_vec(), Path::new("images")),
        parse_idx(labels.to_vec(), Path::new("labels")),
    ) {
        let _ = ImageSet::from_idx(images, labels, "fuzz");
    }
});
