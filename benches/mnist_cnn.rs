//! Speed of the seed MNIST CNN: one training step (forward, backward, Adam, loss read back) at
//! batch 32 and 128, and inference on 1,000 images. `benches/compare/mnist_cnn_torch.py` times
//! the same steps in PyTorch; see `docs/benchmarks.md`.

use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use burn::tensor::Distribution;
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use tinderbox::data::vision::ImageBatch;
use tinderbox::heads::ImageClassifier;
use tinderbox::nn::cnn::MnistCnnConfig;

#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: tinderbox::backend::Allocator = tinderbox::backend::Allocator;

fn batch(size: usize, device: &Device) -> ImageBatch {
    ImageBatch {
        images: Tensor::random([size, 1, 28, 28], Distribution::Uniform(0.0, 1.0), device),
        targets: Tensor::random([size], Distribution::Uniform(0.0, 10.0), device),
    }
}

fn train_step(c: &mut Criterion) {
    tinderbox::backend::keep_freed_memory();
    tinderbox::backend::flush_denormals();
    let device = tinderbox::backend::default_device().autodiff();
    let mut group = c.benchmark_group("mnist_cnn_train_step");
    for size in [32, 128] {
        device.seed(0);
        let mut model = Some(ImageClassifier::new(MnistCnnConfig::new().init(&device)));
        let mut optim = AdamConfig::new().init();
        let data = batch(size, &device);
        group.bench_with_input(BenchmarkId::new("batch", size), &size, |b, _| {
            b.iter(|| {
                let m = model.take().expect("model");
                let out = m.forward_batch(data.clone());
                let grads = GradientsParams::from_grads(out.loss.backward(), &m);
                model = Some(optim.step(1e-3, m, grads));
                out.loss.into_scalar::<f32>()
            })
        });
    }
    group.finish();
}

fn inference(c: &mut Criterion) {
    tinderbox::backend::keep_freed_memory();
    tinderbox::backend::flush_denormals();
    let device = tinderbox::backend::default_device();
    device.seed(0);
    let model = ImageClassifier::new(MnistCnnConfig::new().init(&device));
    let images: Tensor<4> =
        Tensor::random([1000, 1, 28, 28], Distribution::Uniform(0.0, 1.0), &device);
    let mut group = c.benchmark_group("mnist_cnn_inference");
    group.bench_with_input(BenchmarkId::new("images", 1000), &1000, |b, _| {
        b.iter(|| {
            let probs = model.predict_proba(images.clone());
            probs.argmax(1).into_data()
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(std::time::Duration::from_secs(8));
    targets = train_step, inference
}
criterion_main!(benches);
