//! Products on quantized blocks (`tinderbox_ops::quant::QuantizedMatrix`): one `[576, 1536]`
//! matrix (SmolLM2's `down_proj`) of each supported type, times one row (a decoding step) and
//! 128 rows (a prompt), with each build this CPU runs (the reference, AVX2, AVX-512 VNNI).
//! `benches/compare/compare_quantized.py` sets the whole model against llama.cpp.

use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use half::f16;
use tinderbox::ops::quant::{GgmlType, Kernel, QuantizedMatrix};

const ROWS: usize = 576;
const COLS: usize = 1536;

/// A deterministic matrix of `ty`: floats quantized for the 32-value types, random bits with
/// small super-scales for the K types.
fn matrix(ty: GgmlType) -> QuantizedMatrix {
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    if ty.block_len() == 32 {
        let values: Vec<f32> = (0..ROWS * COLS)
            .map(|_| (next() % 2001) as f32 / 1000.0 - 1.0)
            .collect();
        return QuantizedMatrix::quantize(ty, ROWS, COLS, &values).expect("quantize");
    }
    let mut data: Vec<u8> = (0..ty.bytes_for(ROWS * COLS).expect("blocks"))
        .map(|_| next() as u8)
        .collect();
    let scales: &[usize] = if ty == GgmlType::Q6_K {
        &[208]
    } else {
        &[0, 2]
    };
    for block in data.chunks_exact_mut(ty.block_bytes()) {
        for &at in scales {
            block[at..at + 2].copy_from_slice(&f16::from_f32(0.004).to_le_bytes());
        }
    }
    QuantizedMatrix::new(ty, ROWS, COLS, data).expect("matrix")
}

fn quant(c: &mut Criterion) {
    let mut group = c.benchmark_group("quant_matmul");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    for ty in [
        GgmlType::Q4_0,
        GgmlType::Q4_1,
        GgmlType::Q8_0,
        GgmlType::Q4_K,
        GgmlType::Q5_K,
        GgmlType::Q6_K,
    ] {
        let w = matrix(ty);
        for m in [1, 128] {
            let x: Vec<f32> = (0..m * COLS)
                .map(|i| (i % 97) as f32 / 50.0 - 1.0)
                .collect();
            for &kernel in Kernel::available() {
                // The reference on 128 rows takes seconds: one row is enough to see it.
                if kernel == Kernel::Reference && m > 1 {
                    continue;
                }
                let id = BenchmarkId::new(format!("{ty:?}/{kernel:?}"), format!("m{m}"));
                group.bench_with_input(id, &x, |b, x| {
                    b.iter(|| w.matmul_with(kernel, x, m).expect("product"))
                });
            }
        }
    }
    group.finish();
}

criterion_group!(benches, quant);
criterion_main!(benches);
