//! Hugging Face checkpoints: save and load round trips, and each kind of bad folder or file
//! gives an error that names the path and the key or value at fault.

use std::path::Path;

use burn::prelude::*;
use tinderbox_nn::ModelError;
use tinderbox_nn::huggingface::{BERT_KEYS, load_bert, read_tensor_shapes, save_bert};
use tinderbox_nn::transformer::{BertConfig, BertModel};

fn tiny() -> BertConfig {
    BertConfig::new(40, 16, 2, 4, 32)
}

fn saved(dir: &Path) -> BertModel {
    let model = tiny().init(&Device::default()).unwrap();
    save_bert(&model, dir).unwrap();
    model
}

fn hidden(model: &BertModel) -> Vec<f32> {
    let device = Device::default();
    let ids = Tensor::<2, Int>::from_ints([[2, 7, 9, 0], [5, 3, 1, 8]], &device);
    let out = model.forward(ids.clone(), ids.equal_elem(0), None);
    out.last_hidden_state.into_data().try_to_vec().unwrap()
}

#[test]
fn save_then_load_gives_the_same_model_with_hugging_face_names() {
    let dir = tempfile::tempdir().unwrap();
    let model = saved(dir.path());
    let loaded = load_bert(dir.path(), &Device::default()).unwrap();
    assert_eq!(hidden(&model), hidden(&loaded));
    let shapes = read_tensor_shapes(dir.path().join("model.safetensors"), &BERT_KEYS).unwrap();
    // PyTorch's Linear layout [out, in] and Hugging Face's names.
    assert_eq!(
        shapes["encoder.layer.1.intermediate.dense.weight"],
        vec![32, 16]
    );
    assert_eq!(
        shapes["encoder.layer.0.attention.self.query.bias"],
        vec![16]
    );
    assert_eq!(shapes["embeddings.LayerNorm.weight"], vec![16]);
    assert_eq!(shapes["pooler.dense.weight"], vec![16, 16]);
    assert_eq!(shapes.len(), 5 + 2 * 16 + 2);
}

#[test]
fn a_folder_without_config_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let err = load_bert(dir.path(), &Device::default()).unwrap_err();
    assert!(matches!(err, ModelError::MissingConfig { .. }));
    assert!(err.to_string().contains(&dir.path().display().to_string()));
}

#[test]
fn sizes_that_disagree_with_the_tensors_list_every_key() {
    let dir = tempfile::tempdir().unwrap();
    saved(dir.path());
    let mut config = tiny();
    config.intermediate_size = 48;
    config.num_hidden_layers = 3;
    std::fs::write(
        dir.path().join("config.json"),
        serde_json::to_string(&config).unwrap(),
    )
    .unwrap();
    let err = load_bert(dir.path(), &Device::default()).unwrap_err();
    let ModelError::Mismatch { mismatches, .. } = &err else {
        panic!("expected a mismatch, got {err}");
    };
    let text = err.to_string();
    assert!(
        text.contains("wrong shape encoder.layer.0.intermediate.dense.weight: expected [48, 16], found [32, 16]"),
        "{text}"
    );
    assert!(
        text.contains("missing     encoder.layer.2.attention.self.key.weight (expected [16, 16])"),
        "{text}"
    );
    // Per layer the FFN's intermediate weight and bias and output weight are the wrong shape;
    // the third layer's 16 tensors are missing.
    assert_eq!(mismatches.len(), 2 * 3 + 16, "{text}");
}

#[test]
fn unexpected_tensors_are_listed() {
    let dir = tempfile::tempdir().unwrap();
    saved(dir.path());
    let mut config = tiny();
    config.num_hidden_layers = 1;
    std::fs::write(
        dir.path().join("config.json"),
        serde_json::to_string(&config).unwrap(),
    )
    .unwrap();
    let text = load_bert(dir.path(), &Device::default())
        .unwrap_err()
        .to_string();
    assert!(
        text.contains("unexpected  encoder.layer.1.output.dense.weight (found [16, 32])"),
        "{text}"
    );
}

#[test]
fn an_unsupported_activation_names_the_file_and_value() {
    let dir = tempfile::tempdir().unwrap();
    saved(dir.path());
    let path = dir.path().join("config.json");
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("\"gelu\"", "\"quick_gelu\"");
    std::fs::write(&path, text).unwrap();
    let err = load_bert(dir.path(), &Device::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("config.json") && err.contains("hidden_act") && err.contains("quick_gelu"),
        "{err}"
    );
}

#[test]
fn a_truncated_weights_file_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    saved(dir.path());
    let weights = dir.path().join("model.safetensors");
    let bytes = std::fs::read(&weights).unwrap();
    std::fs::write(&weights, &bytes[..bytes.len() / 2]).unwrap();
    let err = load_bert(dir.path(), &Device::default()).unwrap_err();
    assert!(matches!(err, ModelError::Safetensors { .. }), "{err}");
    assert!(err.to_string().contains("model.safetensors"));
}

#[test]
fn a_checkpoint_without_pooler_loads_without_one() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = tiny();
    config.add_pooler = false;
    let model = config.init(&Device::default()).unwrap();
    save_bert(&model, dir.path()).unwrap();
    // A Hugging Face config has no add_pooler key: the file decides.
    let loaded = load_bert(dir.path(), &Device::default()).unwrap();
    assert!(loaded.pooler.is_none());
}
