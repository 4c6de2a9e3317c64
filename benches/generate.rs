//! Speed of SmolLM2-135M-Instruct at batch 1, with the GGUF file's Q4_1/Q8_0 weights kept
//! quantized (`smollm2_135m_b1_quantized`) and dequantized to f32 (`smollm2_135m_b1`): the
//! prompt pass over 128 tokens (prompt tokens/s) and one decoding step at a context of 128 to
//! 256 tokens (tokens/s). `benches/compare/compare_generate.py` times `transformers` on the
//! dequantized model, `benches/compare/compare_quantized.py` llama.cpp on the same file, with the
//! same threads.

use std::time::{Duration, Instant};

use burn::prelude::*;
use criterion::{Criterion, SamplingMode, criterion_group, criterion_main};
use tinderbox::data::fetch::Cache;
use tinderbox::data::model_packages::ModelPackage;
use tinderbox::nn::decoder::CausalLm;
use tinderbox::nn::gguf::GgufFile;

#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: tinderbox::backend::Allocator = tinderbox::backend::Allocator;

const PROMPT: usize = 128;
const NEW: usize = 128;

fn ids(tokens: &[i64], device: &Device) -> Tensor<2, Int> {
    Tensor::<1, Int>::from_data(TensorData::new(tokens.to_vec(), [tokens.len()]), device)
        .reshape([1, tokens.len()])
}

fn generate(c: &mut Criterion) {
    tinderbox::backend::keep_freed_memory();
    tinderbox::backend::flush_denormals();
    let path = ModelPackage::SmolLm2_135mInstruct
        .model_path(&Cache::from_env().expect("cache"))
        .expect("SmolLM2");
    let device = tinderbox::backend::default_device();
    let file = GgufFile::open(path).expect("gguf");
    let quantized = file.load_llama_quantized(&device).expect("weights");
    bench_model(c, "smollm2_135m_b1_quantized", &quantized, &device);
    drop(quantized);
    let dense = file.load_llama(&device).expect("weights");
    bench_model(c, "smollm2_135m_b1", &dense, &device);
}

fn bench_model(c: &mut Criterion, group: &str, model: &impl CausalLm, device: &Device) {
    // Any fixed tokens: speed does not depend on them.
    let prompt: Vec<i64> = (0..PROMPT as i64).map(|i| 1000 + i * 37 % 20_000).collect();
    let mut group = c.benchmark_group(group);
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20))
        .sampling_mode(SamplingMode::Flat);
    group.bench_function("prompt_128", |b| {
        b.iter(|| {
            let mut cache = model.new_cache(1, PROMPT + NEW);
            model
                .forward_last(ids(&prompt, device), &[vec![false; PROMPT]], &mut cache)
                .expect("forward")
        })
    });
    // One decoding step with 128 to 255 positions cached: the cache is refilled when full,
    // outside the timed steps (llama.cpp's figures in the compare scripts time steps alone).
    let mut cache = model.new_cache(1, PROMPT + NEW);
    model
        .forward_last(ids(&prompt, device), &[vec![false; PROMPT]], &mut cache)
        .expect("forward");
    group.bench_function("decode_step_ctx128_256", |b| {
        b.iter_custom(|steps| {
            let mut timed = Duration::ZERO;
            for _ in 0..steps {
                if cache.len() == PROMPT + NEW {
                    cache = model.new_cache(1, PROMPT + NEW);
                    model
                        .forward_last(ids(&prompt, device), &[vec![false; PROMPT]], &mut cache)
                        .expect("forward");
                }
                let start = Instant::now();
                let logits = model
                    .forward_last(ids(&[4_000], device), &[vec![false]], &mut cache)
                    .expect("decode");
                timed += start.elapsed();
                drop(logits);
            }
            timed
        })
    });
    group.finish();
}

criterion_group!(benches, generate);
criterion_main!(benches);
