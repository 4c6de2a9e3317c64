//! A dense layer at MiniLM's shapes (batch 32 x 64 tokens, 384 -> 384 and 384 -> 1536), plain and
//! under autodiff: burn's `Linear` (a batched product that packs the weight once per sequence)
//! against tinderbox's `linear` (the rows flattened into one product); and at inference the
//! same layer in int8 (`tinderbox::ops::quant::int8`, weights per output channel, activations
//! per row) with each build this CPU runs.

use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::Distribution;
use criterion::{Criterion, criterion_group, criterion_main};
use tinderbox::ops::linear;
use tinderbox::ops::quant::Kernel;
use tinderbox::ops::quant::int8::Int8Matrix;

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
        // PyTorch's layout, [d_out, d_in]; the activations as the layer reads them back.
        let weight = layer
            .weight
            .val()
            .transpose()
            .into_data()
            .try_to_vec::<f32>();
        let int8 = Int8Matrix::quantize(d_out, d_in, &weight.expect("weights")).expect("int8");
        let bias = layer
            .bias
            .as_ref()
            .map(|b| b.val().into_data().try_to_vec::<f32>());
        let bias = bias.transpose().expect("bias");
        for &kernel in Kernel::available() {
            if kernel == Kernel::Reference {
                continue; // seconds per call
            }
            group.bench_function(format!("int8_{kernel:?}/inference"), |b| {
                b.iter(|| {
                    let host = x.clone().into_data().try_into_vec::<f32>().expect("f32");
                    let y = int8.matmul_with(kernel, &host, 32 * 64, bias.as_deref());
                    TensorData::new(y.expect("product"), [32, 64, d_out])
                })
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
