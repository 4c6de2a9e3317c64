//! Loading a safetensors checkpoint (header, tensor table, data) into a tiny BERT: shape reports,
//! name mapping and burn-store's reader, on a real checkpoint patched by the fuzzer or on any
//! bytes.
#![no_main]

#[path = "mutate.rs"]
mod mutate;

use std::sync::OnceLock;

use burn::prelude::*;
use libfuzzer_sys::fuzz_target;
use tinderbox_nn::huggingface::{BERT_KEYS, load_safetensors, read_tensor_shapes, save_safetensors};
use tinderbox_nn::transformer::{BertConfig, BertModel};

fn tiny() -> &'static (BertModel, Vec<u8>) {
    static MODEL: OnceLock<(BertModel, Vec<u8>)> = OnceLock::new();
    MODEL.get_or_init(|| {
        let device = Device::default();
        let config = BertConfig {
            max_position_embeddings: 6,
            ..BertConfig::new(8, 4, 1, 2, 8)
        };
        let model = config
            .init(&device)
            .unwrap_or_else(|e| panic!("tiny BERT: {e}"));
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("model.safetensors");
        save_safetensors(&model, &path, &BERT_KEYS).unwrap_or_else(|e| panic!("{e}"));
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{e}"));
        (model, bytes)
    })
}

fuzz_target!(|data: &[u8]| {
    let (model, valid) = tiny();
    let Ok(mut file) = tempfile::NamedTempFile::new() else {
        return;
    };
    if std::io::Write::write_all(&mut file, &mutate::mutate(valid, data)).is_err() {
        return;
    }
    let _ = read_tensor_shapes(file.path(), &BERT_KEYS);
    let mut model = model.clone();
    let _ = load_safetensors(&mut model, file.path(), &BERT_KEYS);
});
