//! Speed of one masked-language-model training step of BERT-mini (4 layers, hidden 256, 4 heads,
//! FFN 1024, vocabulary 8,192) at batch 32 x 128: BERT's 15 % masking, forward, the vocabulary
//! projected at the masked positions only, backward, global-norm clipping at 1.0, AdamW, the loss
//! read back. `benches/compare/mlm_torch.py` times Hugging Face `BertForMaskedLM` (which projects
//! every position) with the same shapes and threads.

use burn::optim::GradientsParams;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tinderbox::data::mlm::{MlmCollator, MlmMasker, MlmMaskingConfig};
use tinderbox::heads::BertForMaskedLm;
use tinderbox::nn::transformer::BertConfig;
use tinderbox::ops::clip_grad_norm;
use tinderbox::train::{BERT_NO_DECAY, OptimizerConfig, OptimizerKind};

#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: tinderbox::backend::Allocator = tinderbox::backend::Allocator;

const BATCH: usize = 32;
const LEN: usize = 128;
const VOCAB: usize = 8_192;

fn mlm_step(c: &mut Criterion) {
    tinderbox::backend::keep_freed_memory();
    tinderbox::backend::flush_denormals();
    let device = tinderbox::backend::default_device().autodiff();
    device.seed(0);
    let mut config = BertConfig::new(VOCAB, 256, 4, 4, 1024);
    config.max_position_embeddings = LEN;
    let mut model = Some(BertForMaskedLm::init(&config, &device).expect("BERT-mini"));

    // [CLS] ids [SEP]; 0..5 are the special tokens.
    let mut rng = StdRng::seed_from_u64(0);
    let sequences: Vec<Vec<u32>> = (0..BATCH)
        .map(|_| {
            let mut s = vec![2];
            s.extend((0..LEN - 2).map(|_| rng.random_range(5..VOCAB as u32)));
            s.push(3);
            s
        })
        .collect();
    let masker =
        MlmMasker::new(MlmMaskingConfig::default(), VOCAB, 4, &[0, 1, 2, 3, 4]).expect("masker");
    let batch = MlmCollator::new(masker, 0)
        .collate(&sequences, &mut rng, &device)
        .expect("batch");

    // The fine-tuning recipes' optimizer: AdamW (fused), no decay for biases and LayerNorms.
    let mut optim = OptimizerConfig::new(OptimizerKind::AdamW)
        .with_weight_decay(0.01)
        .with_no_decay(&BERT_NO_DECAY)
        .init();
    let mut group = c.benchmark_group("mlm_bert_mini_b32_len128");
    group.throughput(Throughput::Elements((BATCH * LEN) as u64));
    group.bench_function("train_step", |b| {
        b.iter(|| {
            let m = model.take().expect("model");
            let loss = m.loss_at(
                batch.input_ids.clone(),
                batch.mask_pad.clone(),
                batch.masked_positions.clone(),
                batch.masked_labels.clone(),
            );
            let grads = GradientsParams::from_grads(loss.backward(), &m);
            let (grads, _) = clip_grad_norm(&m, grads, 1.0);
            model = Some(optim.step(5e-4, m, grads));
            loss.into_scalar::<f32>()
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10).measurement_time(std::time::Duration::from_secs(20));
    targets = mlm_step
}
criterion_main!(benches);
