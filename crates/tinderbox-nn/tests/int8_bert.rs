//! A BERT sentence encoder in int8: embeddings within int8 rounding of the f32 ones, saved and
//! loaded (the same embeddings bit for bit, the dense layers in a quarter of the bytes), and
//! what cannot be saved or read is an error that names it.

use std::path::{Path, PathBuf};

use burn::prelude::*;
use safetensors::SafeTensors;
use tinderbox_nn::huggingface::{INT8_WEIGHTS_FILE, load_bert, save_bert_int8};
use tinderbox_nn::sentence_embeddings::{SentenceEncoder, cosine};

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tiny-sentence-bert")
}

const SENTENCES: [&str; 5] = [
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "The girl is carrying a baby.",
    "A man is riding a horse.",
    "Two men pushed carts through the woods.",
];

#[test]
fn int8_embeddings_are_the_f32_ones_within_rounding_and_survive_saving() {
    let device = Device::default();
    let f32_encoder = SentenceEncoder::from_dir(&fixture(), &device).unwrap();
    let int8 = f32_encoder.quantize_int8().unwrap();
    assert!(int8.model().is_int8());
    let a = f32_encoder.embed(&SENTENCES).unwrap();
    let b = int8.embed(&SENTENCES).unwrap();
    assert_eq!(a.input_ids, b.input_ids);
    for (x, y) in a.embeddings.iter().zip(&b.embeddings) {
        let c = cosine(x, y);
        assert!(c > 0.99, "{c}");
    }
    assert_ne!(a.embeddings, b.embeddings, "the int8 path ran");

    let dir = tempfile::tempdir().unwrap();
    int8.save_int8(dir.path()).unwrap();
    let loaded = SentenceEncoder::from_dir(dir.path(), &device).unwrap();
    assert!(loaded.model().is_int8());
    assert_eq!(loaded.max_length(), int8.max_length());
    assert_eq!(loaded.embed(&SENTENCES).unwrap(), b);

    // The dense layers' weights and the word embeddings take one byte per value instead of
    // four, plus a scale per row.
    let (vocab, hidden, inner, layers) = (64usize, 32usize, 64usize, 2usize);
    let dense_values = layers * (4 * hidden * hidden + 2 * hidden * inner) + vocab * hidden;
    let dense_channels = layers * (4 * hidden + hidden + inner) + vocab;
    let saved = std::fs::metadata(dir.path().join(INT8_WEIGHTS_FILE))
        .unwrap()
        .len() as usize;
    let original = std::fs::metadata(fixture().join("model.safetensors"))
        .unwrap()
        .len() as usize;
    let header_slack = 4096;
    assert!(
        saved + 3 * dense_values - 4 * dense_channels <= original + header_slack,
        "{saved} vs {original}"
    );
    let bytes = std::fs::read(dir.path().join(INT8_WEIGHTS_FILE)).unwrap();
    let file = SafeTensors::deserialize(&bytes).unwrap();
    let q = file
        .tensor("encoder.layer.1.intermediate.dense.weight")
        .unwrap();
    assert_eq!(
        (q.dtype(), q.shape()),
        (safetensors::Dtype::I8, &[64, 32][..])
    );
}

#[test]
fn saving_an_f32_model_and_reading_a_damaged_file_are_errors() {
    let device = Device::default();
    let model = load_bert(fixture(), &device).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let err = save_bert_int8(&model, dir.path()).unwrap_err();
    assert!(err.to_string().contains("the model is f32"), "{err}");

    save_bert_int8(&model.quantize_int8().unwrap(), dir.path()).unwrap();
    // Drop one scale: the loader names the weight that lost it.
    let path = dir.path().join(INT8_WEIGHTS_FILE);
    let bytes = std::fs::read(&path).unwrap();
    let file = SafeTensors::deserialize(&bytes).unwrap();
    let kept: Vec<_> = file
        .tensors()
        .into_iter()
        .filter(|(k, _)| k != "encoder.layer.0.attention.self.key.weight_scale")
        .collect();
    std::fs::write(&path, safetensors::serialize(kept, None).unwrap()).unwrap();
    let err = load_bert(dir.path(), &device).unwrap_err();
    assert!(
        err.to_string().contains(
            "encoder.layer.0.attention.self.key.weight is int8 but encoder.layer.0.attention.self.key.weight_scale is missing"
        ),
        "{err}"
    );
}
