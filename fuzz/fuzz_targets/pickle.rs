//! The pickle-subset reader and the MNIST pair built on it: any bytes give a value or an error.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use tinderbox_data::vision::pickle::{PickleValue, parse};

fn visit(value: &PickleValue<'_>) {
    match value {
        PickleValue::Tuple(items) => items.iter().for_each(visit),
        PickleValue::Array(array) => {
            let _ = array.to_f32();
            let _ = array.to_i64();
        }
        _ => {}
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(value) = parse(data, "fuzz") {
        visit(&value);
    }
    let _ = tinderbox_data::vision::mnist_from_pickle(data, Path::new("fuzz.pkl"));
});
