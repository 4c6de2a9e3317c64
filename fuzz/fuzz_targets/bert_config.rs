//! `config.json` of a Hugging Face model folder: parsing and validation (not `init`, whose sizes
//! a fuzzer would turn into allocations of any size).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tinderbox_nn::huggingface::read_bert_config;

fuzz_target!(|data: &[u8]| {
    let Ok(dir) = tempfile::tempdir() else {
        return;
    };
    if std::fs::write(dir.path().join("config.json"), data).is_err() {
        return;
    }
    if let Ok((config, _)) = read_bert_config(dir.path()) {
        let _ = config.activation();
        let _ = serde_json::to_string(&config);
    }
});
