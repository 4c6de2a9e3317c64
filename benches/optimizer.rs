//! One AdamW update of all-MiniLM-L6-v2's parameter count (22.7 M: a 30,522 x 384 embedding and
//! six layers of 384 -> 1152, 384 -> 384, 384 -> 1536 and 1536 -> 384 dense layers): burn's
//! `AdamW` (a dozen tensor operations per parameter) against tinderbox's `FusedAdamW` (one pass
//! that writes in place), the same arithmetic.

use burn::module::Module;
use burn::nn::{Embedding, EmbeddingConfig, Linear, LinearConfig};
use burn::optim::{AdamWConfig, GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use std::cell::RefCell;
use tinderbox::train::FusedAdamW;

#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: tinderbox::backend::Allocator = tinderbox::backend::Allocator;

#[derive(Module, Debug)]
struct MiniLmSized {
    embedding: Embedding,
    dense: Vec<Linear>,
}

fn model(device: &Device) -> MiniLmSized {
    let shapes = [(384, 1152), (384, 384), (384, 1536), (1536, 384)];
    MiniLmSized {
        embedding: EmbeddingConfig::new(30_522, 384).init(device),
        dense: (0..6)
            .flat_map(|_| shapes)
            .map(|(d_in, d_out)| LinearConfig::new(d_in, d_out).init(device))
            .collect(),
    }
}

/// Gradients of every parameter: the parameters themselves, scaled (from `sum(p^2) / 2 * 1e-3`).
fn gradients(model: &MiniLmSized) -> GradientsParams {
    let mut loss = model.embedding.weight.val().square().sum();
    for layer in &model.dense {
        loss = loss + layer.weight.val().square().sum();
        if let Some(bias) = &layer.bias {
            loss = loss + bias.val().square().sum();
        }
    }
    GradientsParams::from_grads(loss.mul_scalar(5e-4).backward(), model)
}

fn bench(c: &mut Criterion) {
    tinderbox::backend::keep_freed_memory();
    tinderbox::backend::flush_denormals();
    let device = tinderbox::backend::default_device().autodiff();
    let mut group = c.benchmark_group("adamw_22_7m_params");
    type Build = fn() -> ModuleOptimizer;
    let optimizers: [(&str, Build); 2] = [
        ("burn", || AdamWConfig::new().with_weight_decay(0.01).init()),
        ("tinderbox", || {
            FusedAdamW::new(0.9, 0.999, 1e-5, 0.01).init()
        }),
    ];
    for (name, optimizer) in optimizers {
        let mut optim = optimizer();
        // Shared by the untimed set-up (the gradients) and the timed update.
        let current = RefCell::new(Some(model(&device)));
        group.bench_function(name, |b| {
            b.iter_batched(
                || {
                    let m = current.borrow_mut().take().expect("model");
                    let grads = gradients(&m);
                    (m, grads)
                },
                |(m, grads)| *current.borrow_mut() = Some(optim.step(1e-4, m, grads)),
                BatchSize::PerIteration,
            )
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = bench
}
criterion_main!(benches);
