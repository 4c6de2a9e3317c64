//! A tiny `BertForMaskedLM` (2 layers, hidden 32) against Hugging Face `transformers`: the
//! checkpoint and the reference loss, logits and gradients were written by
//! `benches/compare/mlm_reference.py` (float32, CPU). Our sparse loss (the vocabulary projected
//! at the masked positions only) and our gradients must match within 1e-5.

mod common;

use burn::module::Param;
use burn::prelude::*;
use safetensors::SafeTensors;
use tinderbox::heads::BertForMaskedLm;

use common::{floats, ints, max_abs_diff};

const CHECKPOINT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/tiny_bert_mlm");
const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/mlm_reference.safetensors"
);
const TOLERANCE: f32 = 1e-5;

struct Batch {
    ids: Tensor<2, Int>,
    mask_pad: Tensor<2, Bool>,
    positions: Tensor<1, Int>,
    labels: Tensor<1, Int>,
}

fn batch(reference: &SafeTensors, device: &Device) -> Batch {
    let ids = ints(reference, "input_ids");
    let mask = ints(reference, "attention_mask");
    let labels = ints(reference, "labels");
    let shape = reference.tensor("input_ids").unwrap().shape().to_vec();
    let [b, l] = [shape[0], shape[1]];
    let masked: Vec<(i64, i64)> = labels
        .iter()
        .enumerate()
        .filter(|(_, label)| **label != -100)
        .map(|(i, label)| (i as i64, *label))
        .collect();
    let m = masked.len();
    Batch {
        ids: Tensor::from_data(TensorData::new(ids, [b, l]), device),
        mask_pad: Tensor::from_data(
            TensorData::new(mask.iter().map(|m| *m == 0).collect::<Vec<_>>(), [b, l]),
            device,
        ),
        positions: Tensor::from_data(
            TensorData::new(masked.iter().map(|p| p.0).collect::<Vec<_>>(), [m]),
            device,
        ),
        labels: Tensor::from_data(
            TensorData::new(masked.iter().map(|p| p.1).collect::<Vec<_>>(), [m]),
            device,
        ),
    }
}

#[test]
fn loss_logits_and_gradients_match_transformers() {
    let bytes = std::fs::read(FIXTURE).unwrap();
    let reference = SafeTensors::deserialize(&bytes).unwrap();
    let device = Device::default().autodiff();
    let model = BertForMaskedLm::load(CHECKPOINT, &device).unwrap();
    let batch = batch(&reference, &device);

    let logits: Vec<f32> = model
        .forward(batch.ids.clone(), batch.mask_pad.clone())
        .into_data()
        .try_to_vec()
        .unwrap();
    let diff = max_abs_diff(&logits, &floats(&reference, "logits"));
    assert!(diff < TOLERANCE, "logits differ by {diff}");

    let loss = model.loss_at(batch.ids, batch.mask_pad, batch.positions, batch.labels);
    let ours: f32 = loss.clone().into_scalar();
    let theirs = floats(&reference, "loss")[0];
    assert!((ours - theirs).abs() < TOLERANCE, "loss {ours} vs {theirs}");

    let grads = loss.backward();
    // PyTorch's Linear stores [out, in]; burn's [in, out].
    let grad2 = |p: &Param<Tensor<2>>, transposed: bool| -> Vec<f32> {
        let g = p.val().grad(&grads).unwrap();
        let g = if transposed { g.transpose() } else { g };
        g.into_data().try_to_vec().unwrap()
    };
    let grad1 = |p: &Param<Tensor<1>>| -> Vec<f32> {
        p.val()
            .grad(&grads)
            .unwrap()
            .into_data()
            .try_to_vec()
            .unwrap()
    };
    let bert = &model.bert;
    let head = &model.cls.predictions;
    let checks: Vec<(&str, Vec<f32>)> = vec![
        (
            "bert.embeddings.word_embeddings.weight",
            grad2(&bert.embeddings.word_embeddings.weight, false),
        ),
        (
            "bert.embeddings.position_embeddings.weight",
            grad2(&bert.embeddings.position_embeddings.weight, false),
        ),
        (
            "bert.encoder.layer.0.attention.self.query.weight",
            grad2(
                &bert.encoder.layer[0].attention.self_attn.query.weight,
                true,
            ),
        ),
        (
            "bert.encoder.layer.1.output.LayerNorm.weight",
            grad1(&bert.encoder.layer[1].output.layer_norm.gamma),
        ),
        (
            "cls.predictions.transform.dense.weight",
            grad2(&head.dense.weight, true),
        ),
        (
            "cls.predictions.transform.LayerNorm.bias",
            grad1(head.layer_norm.beta.as_ref().unwrap()),
        ),
        ("cls.predictions.bias", grad1(&head.bias)),
    ];
    for (name, ours) in checks {
        let theirs = floats(&reference, &format!("grad.{name}"));
        let diff = max_abs_diff(&ours, &theirs);
        assert!(diff < TOLERANCE, "gradient of {name} differs by {diff}");
    }
}

#[test]
fn saved_checkpoints_keep_hugging_face_names_and_values() {
    let device = Device::default();
    let model = BertForMaskedLm::load(CHECKPOINT, &device).unwrap();
    let dir = tempfile::tempdir().unwrap();
    model.save(dir.path()).unwrap();

    let names = |path: &std::path::Path| {
        let bytes = std::fs::read(path).unwrap();
        let mut names: Vec<String> = SafeTensors::deserialize(&bytes)
            .unwrap()
            .names()
            .into_iter()
            .map(String::from)
            .collect();
        names.sort();
        names
    };
    let original = std::path::Path::new(CHECKPOINT).join("model.safetensors");
    assert_eq!(
        names(&dir.path().join("model.safetensors")),
        names(&original)
    );

    let reloaded = BertForMaskedLm::load(dir.path(), &device).unwrap();
    let bytes = std::fs::read(FIXTURE).unwrap();
    let batch = batch(&SafeTensors::deserialize(&bytes).unwrap(), &device);
    let a = model
        .forward(batch.ids.clone(), batch.mask_pad.clone())
        .into_data();
    let b = reloaded.forward(batch.ids, batch.mask_pad).into_data();
    assert_eq!(a, b);
}

#[test]
fn a_checkpoint_of_another_size_lists_what_disagrees() {
    let dir = tempfile::tempdir().unwrap();
    for file in ["config.json", "model.safetensors"] {
        std::fs::copy(
            std::path::Path::new(CHECKPOINT).join(file),
            dir.path().join(file),
        )
        .unwrap();
    }
    let config = std::fs::read_to_string(dir.path().join("config.json")).unwrap();
    std::fs::write(
        dir.path().join("config.json"),
        config.replace("\"vocab_size\": 64", "\"vocab_size\": 65"),
    )
    .unwrap();
    let e = BertForMaskedLm::load(dir.path(), &Device::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("word_embeddings"), "{e}");
    assert!(e.contains("cls.predictions.bias"), "{e}");
}
