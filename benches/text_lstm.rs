//! Speed of the seed text classifier: one training step (forward, backward, Adam, loss read
//! back) of Embedding(10000, 32) + LSTM(32, dropout 0.2, recurrent dropout 0.2) + Dense(1) at
//! batch 32 and 100 tokens. `benches/compare/text_lstm_torch.py --bench` times PyTorch's.

use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use burn::tensor::Distribution;
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use tinderbox::data::text::TextBatch;
use tinderbox::heads::{ClassificationHeadConfig, SequenceClassifier};
use tinderbox::nn::text::LstmEncoderConfig;

#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: tinderbox::backend::Allocator = tinderbox::backend::Allocator;

fn train_step(c: &mut Criterion) {
    tinderbox::backend::keep_freed_memory();
    tinderbox::backend::flush_denormals();
    let device = tinderbox::backend::default_device().autodiff();
    device.seed(0);
    let (batch, len, vocab) = (32, 100, 10_000);
    let mut model = Some(SequenceClassifier::new(
        LstmEncoderConfig::new(vocab).init(&device),
        ClassificationHeadConfig::new(32, 2).init(&device),
    ));
    let mut optim = AdamConfig::new().init();
    let ids: Tensor<2, Int> = Tensor::random(
        [batch, len],
        Distribution::Uniform(1.0, vocab as f64),
        &device,
    );
    let data = TextBatch {
        mask_pad: ids.clone().equal_elem(0),
        ids,
        labels: Tensor::random([batch], Distribution::Uniform(0.0, 2.0), &device),
        teacher_logits: None,
    };
    let mut group = c.benchmark_group("lstm_classifier_train_step");
    group.bench_with_input(BenchmarkId::new("batch32_len", len), &len, |b, _| {
        b.iter(|| {
            let m = model.take().expect("model");
            let out = m.forward_batch(data.clone());
            let grads = GradientsParams::from_grads(out.loss.backward(), &m);
            model = Some(optim.step(1e-3, m, grads));
            out.loss.into_scalar::<f32>()
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(std::time::Duration::from_secs(8));
    targets = train_step
}
criterion_main!(benches);
