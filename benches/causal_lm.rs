//! Speed of one causal-language-model training step of the default GPT-2 of `examples/causal_lm`
//! (4 layers, width 256, 4 heads, 128 positions, vocabulary 8,192) at batch 32 x 128: forward,
//! the next token scored at every position (the tied vocabulary projection), backward,
//! global-norm clipping at 1.0, AdamW, the loss read back. `benches/compare/causal_lm_torch.py`
//! reports `transformers`' tokens/s for the same model, batch and threads.

use burn::optim::GradientsParams;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tinderbox::data::causal_lm::CausalLmCollator;
use tinderbox::heads::{Gpt2ForCausalLm, causal_lm_output};
use tinderbox::ops::clip_grad_norm;
use tinderbox::recipes::causal_lm::{CausalLmRunConfig, GPT2_NO_DECAY};
use tinderbox::train::{OptimizerConfig, OptimizerKind};

#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: tinderbox::backend::Allocator = tinderbox::backend::Allocator;

const BATCH: usize = 32;
const LEN: usize = 128;

fn causal_lm_step(c: &mut Criterion) {
    tinderbox::backend::keep_freed_memory();
    tinderbox::backend::flush_denormals();
    let device = tinderbox::backend::default_device().autodiff();
    device.seed(0);
    let config = CausalLmRunConfig::new().model;
    let vocab = config.vocab_size as u32;
    let mut model = Some(Gpt2ForCausalLm::new(config.init(&device).expect("GPT-2")));

    // <s> ids; 0..3 are the special tokens.
    let mut rng = StdRng::seed_from_u64(0);
    let sequences: Vec<Vec<u32>> = (0..BATCH)
        .map(|_| {
            let mut s = vec![0];
            s.extend((1..LEN).map(|_| rng.random_range(3..vocab)));
            s
        })
        .collect();
    let batch = CausalLmCollator::new(1, LEN)
        .batch(&sequences, &device)
        .expect("batch");

    let mut optim = OptimizerConfig::new(OptimizerKind::AdamW)
        .with_weight_decay(0.01)
        .with_no_decay(&GPT2_NO_DECAY)
        .init();
    let mut group = c.benchmark_group("causal_lm_gpt2_4x256_b32_len128");
    group.throughput(Throughput::Elements((BATCH * LEN) as u64));
    group.bench_function("train_step", |b| {
        b.iter(|| {
            let m = model.take().expect("model");
            let loss = causal_lm_output(&m, batch.clone()).loss;
            let grads = GradientsParams::from_grads(loss.backward(), &m);
            let (grads, _) = clip_grad_norm(&m, grads, 1.0);
            model = Some(optim.step(1e-3, m, grads));
            loss.into_scalar::<f32>()
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10).measurement_time(std::time::Duration::from_secs(20));
    targets = causal_lm_step
}
criterion_main!(benches);
