//! `SentenceEncoder` on the committed tiny model against `transformers`
//! (`benches/compare/doc_fixtures.py` wrote `reference.json`): the same token ids, every
//! embedding value within 1e-5, and a folder whose tokenizer does not fit the model refused.

use burn::prelude::*;
use tinderbox_nn::ModelError;
use tinderbox_nn::sentence_embeddings::{SentenceEncoder, cosine};

const FOLDER: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/tiny-sentence-bert"
);

#[test]
fn embeddings_match_transformers() {
    let reference: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{FOLDER}/reference.json")).unwrap())
            .unwrap();
    let sentences: Vec<String> = serde_json::from_value(reference["sentences"].clone()).unwrap();
    let ids: Vec<Vec<u32>> = serde_json::from_value(reference["input_ids"].clone()).unwrap();
    let expected: Vec<Vec<f32>> = serde_json::from_value(reference["embeddings"].clone()).unwrap();
    let encoder = SentenceEncoder::from_dir(FOLDER.as_ref(), &Device::default()).unwrap();
    assert_eq!(
        encoder.max_length(),
        16,
        "sentence_bert_config.json's max_seq_length"
    );
    let refs: Vec<&str> = sentences.iter().map(String::as_str).collect();
    let out = encoder.embed(&refs).unwrap();
    assert_eq!(out.input_ids, ids);
    for (ours, theirs) in out.embeddings.iter().zip(&expected) {
        let worst = ours
            .iter()
            .zip(theirs)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max);
        assert!(worst < 1e-5, "embedding differs by {worst}");
    }
    let similarity = cosine(&out.embeddings[0], &out.embeddings[1]);
    assert!((f64::from(similarity) - reference["cosine"].as_f64().unwrap()).abs() < 1e-5);
}

#[test]
fn a_tokenizer_larger_than_the_model_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    for file in ["config.json", "model.safetensors"] {
        std::fs::copy(format!("{FOLDER}/{file}"), dir.path().join(file)).unwrap();
    }
    // Ten more words than the 64-row embedding table: their ids would index past it.
    let mut tokenizer: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{FOLDER}/tokenizer.json")).unwrap())
            .unwrap();
    let vocab = tokenizer["model"]["vocab"].as_object_mut().unwrap();
    for i in 0..10 {
        vocab.insert(format!("extra{i}"), (64 + i).into());
    }
    std::fs::write(dir.path().join("tokenizer.json"), tokenizer.to_string()).unwrap();
    let err = SentenceEncoder::from_dir(dir.path(), &Device::default()).unwrap_err();
    assert!(
        matches!(
            err,
            ModelError::TokenizerTooLarge {
                tokens: 74,
                vocab_size: 64,
                ..
            }
        ),
        "{err}"
    );
}
