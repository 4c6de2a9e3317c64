//! A dense layer at MiniLM's shapes (batch 32 x 64 tokens, 384 -> 384 and 384 -> 1536), plain and
//! under autodiff: burn's `Linear` (a batched product that packs the weight once per sequence)
//! against tinderbox's `linear` (the rows flattened into one product).

use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::Distribution;
use criterion::{Criterion, criterion_group, criterion_main};
use tinderbox::ops::linear;

#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: tinderbox::backend::Allocator = tinderbox::backend::Allocator;

fn bench(c: &mut Criterion) {
    tinderbox::backend::keep_freed_memory();
    tinderbox::backend::flush_denormals();
    let device = tinderbox::backend::default_device();
    let train = device.clone().autodiff();
    type Apply = fn(&Linear, Tensor<3>) -> Tensor<3>;
    let ways: [(&str, Apply); 2] = [
        ("burn", |l, x| l.forward(x)),
        ("tinderbox", |l, x| linear(l, x)),
    ];
    for (d_in, d_out) in [(384, 384), (384, 1536), (1536, 384)] {
        let mut group = c.benchmark_group(format!("linear_32x64_{d_in}x{d_out}"));
        let layer = LinearConfig::new(d_in, d_out).init(&device);
        let x = Tensor::<3>::random([32, 64, d_in], Distribution::Normal(0.0, 1.0), &device);
        for (name, apply) in ways {
            group.bench_function(format!("{name}/inference"), |b| {
                b.iter(|| apply(&layer, x.clone()).into_data())
            });
        }
        let layer = LinearConfig::new(d_in, d_out).init(&train);
        let x = Tensor::<3>::random([32, 64, d_in], Distribution::Normal(0.0, 1.0), &train);
        for (name, apply) in ways {
            group.bench_function(format!("{name}/forward_backward"), |b| {
                b.iter(|| {
                    let x = x.clone().require_grad();
                    let grads = apply(&layer, x.clone()).sum().backward();
                    (
                        x.grad(&grads).map(|g| g.into_data()),
                        layer.weight.grad(&grads).map(|g| g.into_data()),
                    )
                })
            });
        }
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = bench
}
criterion_main!(benches);
