//! Batch-encoding throughput: 1,000 review-length texts with a WordPiece and a Keras
//! word-level tokenizer, padded to the longest (Hugging Face style) and to 100 at the start
//! (Keras style). Throughput is reported in sentences per second.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tinderbox_tokenize::{EncodeOptions, KerasOptions, TextTokenizer, Tokenizer, TrainOptions};

/// Deterministic review-like sentences from a small vocabulary, 8 to 40 words long.
fn reviews(n: usize) -> Vec<String> {
    let words = [
        "the",
        "film",
        "is",
        "a",
        "beautiful",
        "dull",
        "story",
        "of",
        "love",
        "and",
        "loss",
        "performances",
        "are",
        "wonderful",
        "but",
        "script",
        "drags",
        "too",
        "long",
        "funny",
        "characters",
        "never",
        "quite",
        "work",
        "director's",
        "vision",
        "shines",
        "through",
    ];
    let mut state = 0x2545_f491_4f6c_dd1du64;
    (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let len = 8 + (state % 33) as usize;
            (0..len)
                .map(|i| words[((state >> (i % 48)) as usize + i * 7) % words.len()])
                .collect::<Vec<_>>()
                .join(" ")
                + "."
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let texts = reviews(1000);
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let wordpiece =
        Tokenizer::train_wordpiece(texts.iter(), &TrainOptions::new(500)).expect("train");
    let keras = Tokenizer::fit_keras(texts.iter(), &KerasOptions::new(10_000)).expect("fit");
    let mut group = c.benchmark_group("batch_encoding");
    group.throughput(Throughput::Elements(refs.len() as u64));
    group.bench_function("wordpiece_dynamic/sentences/1000", |b| {
        b.iter(|| {
            wordpiece
                .encode_batch(&refs, &EncodeOptions::dynamic(128))
                .expect("encode")
        })
    });
    group.bench_function("keras_pre_100/sentences/1000", |b| {
        b.iter(|| {
            keras
                .encode_batch(&refs, &EncodeOptions::keras(100))
                .expect("encode")
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
