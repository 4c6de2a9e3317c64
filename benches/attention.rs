//! Attention at MiniLM's shape (batch 32, 12 heads, 64 tokens, head width 32, a quarter of the
//! keys padded), plain and under autodiff (forward + backward): burn's attention op, tinderbox's
//! matrix products around the fused softmax (`scaled_dot_product_attention` on the CPU under
//! autodiff), and the fused `multi_head_attention` that the encoder layers call, which reads the
//! heads side by side (`[B, L, heads * d]`, no split or merge). Keeps the reasons for those choices
//! measurable.

use burn::prelude::*;
use burn::tensor::Distribution;
use burn::tensor::module::attention;
use burn::tensor::ops::AttentionModuleOptions;
use criterion::{Criterion, criterion_group, criterion_main};
use tinderbox::ops::{attention_probs, multi_head_attention};

#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: tinderbox::backend::Allocator = tinderbox::backend::Allocator;

const SHAPE: [usize; 4] = [32, 12, 64, 32];

fn inputs(device: &Device) -> ([Tensor<4>; 3], Tensor<2, Bool>) {
    let qkv = [0, 1, 2].map(|_| Tensor::random(SHAPE, Distribution::Normal(0.0, 1.0), device));
    let positions = Tensor::<1, Int>::arange(0..SHAPE[2] as i64, device).reshape([1, SHAPE[2]]);
    let pad = positions
        .expand([SHAPE[0], SHAPE[2]])
        .greater_equal_elem(48);
    (qkv, pad)
}

fn burn_op(q: Tensor<4>, k: Tensor<4>, v: Tensor<4>, pad: Tensor<2, Bool>) -> Tensor<4> {
    let [b, h, l, _] = SHAPE;
    let mask = pad.reshape([b, 1, 1, l]).expand([b, h, l, l]);
    attention(q, k, v, Some(mask), None, AttentionModuleOptions::default())
}

fn fused_softmax(q: Tensor<4>, k: Tensor<4>, v: Tensor<4>, pad: Tensor<2, Bool>) -> Tensor<4> {
    attention_probs(q, k, Some(pad), false).matmul(v)
}

fn bench(c: &mut Criterion) {
    tinderbox::backend::keep_freed_memory();
    tinderbox::backend::flush_denormals();
    let device = tinderbox::backend::default_device();
    let mut group = c.benchmark_group("attention_b32_h12_len64_d32");
    let ([q, k, v], pad) = inputs(&device);
    type Attend = fn(Tensor<4>, Tensor<4>, Tensor<4>, Tensor<2, Bool>) -> Tensor<4>;
    let ways: [(&str, Attend); 2] = [("burn_op", burn_op), ("fused_softmax", fused_softmax)];
    // The fused attention takes its inputs side by side; the merge is outside the timing.
    let [b, h, l, d] = SHAPE;
    let merge = |x: &Tensor<4>| x.clone().swap_dims(1, 2).reshape([b, l, h * d]);
    let merged = [&q, &k, &v].map(merge);
    group.bench_function("multi_head_fused/inference", |bench| {
        bench.iter(|| {
            let [q, k, v] = merged.clone();
            multi_head_attention(q, k, v, h, Some(pad.clone()), false, 0.0).into_data()
        })
    });
    for (name, attend) in ways {
        group.bench_function(format!("{name}/inference"), |b| {
            b.iter(|| attend(q.clone(), k.clone(), v.clone(), pad.clone()).into_data())
        });
    }
    let train = device.clone().autodiff();
    let ([q, k, v], pad) = inputs(&train);
    for (name, attend) in ways {
        group.bench_function(format!("{name}/forward_backward"), |b| {
            b.iter(|| {
                let q = q.clone().require_grad();
                let grads = attend(q.clone(), k.clone(), v.clone(), pad.clone())
                    .sum()
                    .backward();
                q.grad(&grads).map(|g| g.into_data())
            })
        });
    }
    let merged = [&q, &k, &v].map(merge);
    group.bench_function("multi_head_fused/forward_backward", |bench| {
        bench.iter(|| {
            let [q, k, v] = merged.clone();
            let q = q.require_grad();
            let grads = multi_head_attention(q.clone(), k, v, h, Some(pad.clone()), false, 0.0)
                .sum()
                .backward();
            q.grad(&grads).map(|g| g.into_data())
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = bench
}
criterion_main!(benches);
