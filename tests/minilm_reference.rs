//! all-MiniLM-L6-v2 against Hugging Face `transformers`: the fixture was written by
//! `benches/compare/minilm_reference.py` (float32, CPU). Our token ids must be identical and our
//! last hidden states and sentence embeddings within 1e-5, batched with padding and one by one.

mod common;

use burn::prelude::*;
use safetensors::SafeTensors;
use tinderbox::nn::huggingface::{load_bert, save_bert};
use tinderbox::recipes::sentence_embeddings::{self, SentenceEncoder, cosine};

use common::max_abs_diff;

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/minilm_reference.safetensors"
);
const TOLERANCE: f32 = 1e-5;

struct Reference {
    sentences: Vec<String>,
    ids: Vec<Vec<u32>>,
    /// `[sentence][position][hidden]`, real positions only.
    hidden: Vec<Vec<Vec<f32>>>,
    embeddings: Vec<Vec<f32>>,
}

fn reference() -> Reference {
    let bytes = std::fs::read(FIXTURE).unwrap();
    let (_, metadata) = SafeTensors::read_metadata(&bytes).unwrap();
    let sentences: Vec<String> =
        serde_json::from_str(&metadata.metadata().as_ref().unwrap()["sentences"]).unwrap();
    let file = SafeTensors::deserialize(&bytes).unwrap();
    let ints = |name: &str| common::ints(&file, name);
    let floats = |name: &str| common::floats(&file, name);
    let (n, len) = (
        sentences.len(),
        file.tensor("input_ids").unwrap().shape()[1],
    );
    let (ids, mask, hidden, embeddings) = (
        ints("input_ids"),
        ints("attention_mask"),
        floats("last_hidden_state"),
        floats("embeddings"),
    );
    let h = embeddings.len() / n;
    let real = |row: usize| {
        mask[row * len..(row + 1) * len]
            .iter()
            .filter(|&&m| m == 1)
            .count()
    };
    Reference {
        ids: (0..n)
            .map(|r| {
                ids[r * len..r * len + real(r)]
                    .iter()
                    .map(|&v| v as u32)
                    .collect()
            })
            .collect(),
        hidden: (0..n)
            .map(|r| {
                (0..real(r))
                    .map(|p| hidden[(r * len + p) * h..(r * len + p + 1) * h].to_vec())
                    .collect()
            })
            .collect(),
        embeddings: embeddings.chunks(h).map(<[f32]>::to_vec).collect(),
        sentences,
    }
}

/// Real positions of each row of `[B, L, H]`.
fn rows(hidden: Tensor<3>, lengths: &[usize]) -> Vec<Vec<Vec<f32>>> {
    let [_, l, h] = hidden.dims();
    let flat: Vec<f32> = hidden.into_data().try_to_vec().unwrap();
    lengths
        .iter()
        .enumerate()
        .map(|(r, &n)| {
            (0..n)
                .map(|p| flat[(r * l + p) * h..(r * l + p + 1) * h].to_vec())
                .collect()
        })
        .collect()
}

fn assert_hidden_close(ours: &[Vec<Vec<f32>>], theirs: &[Vec<Vec<f32>>], what: &str) -> f32 {
    let mut overall = 0f32;
    for (row, (a, b)) in ours.iter().zip(theirs).enumerate() {
        assert_eq!(a.len(), b.len(), "{what}: sentence {row} length");
        let worst = a
            .iter()
            .zip(b)
            .map(|(x, y)| max_abs_diff(x, y))
            .fold(0.0, f32::max);
        assert!(
            worst < TOLERANCE,
            "{what}: sentence {row} hidden states differ by {worst}"
        );
        overall = overall.max(worst);
    }
    overall
}

#[test]
fn minilm_matches_transformers_to_1e5() {
    let reference = reference();
    let device = Device::default();
    let encoder = sentence_embeddings::minilm(&device).unwrap();
    let sentences: Vec<&str> = reference.sentences.iter().map(String::as_str).collect();

    let batched = encoder.embed(&sentences).unwrap();
    assert_eq!(batched.input_ids, reference.ids);
    assert_eq!(
        batched.input_ids[2],
        [
            101, 1996, 4248, 2829, 4419, 14523, 2058, 1996, 13971, 3899, 1012, 102
        ]
    );
    for (row, (a, b)) in batched
        .embeddings
        .iter()
        .zip(&reference.embeddings)
        .enumerate()
    {
        let diff = max_abs_diff(a, b);
        assert!(
            diff < TOLERANCE,
            "batched embedding {row} differs by {diff}"
        );
    }
    let similarity = cosine(&batched.embeddings[0], &batched.embeddings[1]);
    assert!((similarity - 0.7553).abs() < 5e-5, "cosine {similarity}");

    let lengths: Vec<usize> = reference.ids.iter().map(Vec::len).collect();
    let (hidden, _) = encoder.hidden_states(&sentences).unwrap();
    let worst = assert_hidden_close(&rows(hidden, &lengths), &reference.hidden, "batched");
    eprintln!("largest hidden-state difference, batched with padding: {worst:e}");

    for (row, sentence) in sentences.iter().enumerate() {
        let (hidden, _) = encoder.hidden_states(&[sentence]).unwrap();
        assert_hidden_close(
            &rows(hidden, &lengths[row..=row]),
            &reference.hidden[row..=row],
            "alone",
        );
        let alone = encoder.embed(&[sentence]).unwrap();
        let diff = max_abs_diff(&alone.embeddings[0], &reference.embeddings[row]);
        assert!(
            diff < TOLERANCE,
            "embedding of sentence {row} alone differs by {diff}"
        );
    }
}

#[test]
fn saved_minilm_loads_back_identically() {
    let device = Device::default();
    let encoder = sentence_embeddings::minilm(&device).unwrap();
    let dir = tempfile::tempdir().unwrap();
    save_bert(encoder.model(), dir.path()).unwrap();
    let reloaded = load_bert(dir.path(), &device).unwrap();
    let ids = Tensor::<2, Int>::from_ints([[101, 1996, 4248, 2829, 102, 0]], &device);
    let mask = ids.clone().equal_elem(0);
    let before = encoder
        .model()
        .forward(ids.clone(), mask.clone(), None)
        .last_hidden_state;
    let after = reloaded.forward(ids, mask, None).last_hidden_state;
    let diff: f32 = (before - after).abs().max().into_scalar();
    assert_eq!(diff, 0.0);
}

#[test]
fn long_inputs_are_truncated_and_reported() {
    let encoder = sentence_embeddings::minilm(&Device::default()).unwrap();
    let long = "word ".repeat(600);
    let out = encoder.embed(&["short", &long]).unwrap();
    assert_eq!(out.truncated, vec![1]);
    assert_eq!(out.input_ids[1].len(), encoder.max_length());
    assert!(out.embeddings[1].iter().all(|v| v.is_finite()));
    let empty = encoder.embed(&[]).unwrap();
    assert!(empty.embeddings.is_empty());
}

#[test]
fn a_tokenizer_larger_than_the_model_vocabulary_is_refused() {
    let device = Device::default();
    let encoder = sentence_embeddings::minilm(&device).unwrap();
    // A 64-token model folder given MiniLM's 30,522-token tokenizer: ids past 63 would index
    // beyond the embedding table.
    let tiny = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/tiny_bert_mlm");
    let dir = tempfile::tempdir().unwrap();
    for file in ["config.json", "model.safetensors"] {
        std::fs::copy(format!("{tiny}/{file}"), dir.path().join(file)).unwrap();
    }
    encoder
        .tokenizer()
        .save(dir.path().join("tokenizer.json"))
        .unwrap();
    let err = SentenceEncoder::from_dir(dir.path(), &device)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("30522 tokens"), "{err}");
    assert!(err.contains("vocab_size is 64"), "{err}");
    assert!(err.contains(&dir.path().display().to_string()), "{err}");
}
