//! The causal-LM pre-training program end to end on a small generated corpus: a tiny GPT-2
//! learns the corpus's patterns, a paused run resumes on the same curve, the Hugging Face folder
//! it leaves loads and generates, the exported batches are the run's, and bad input is a clear
//! error.

use std::path::Path;

use burn::prelude::*;
use tinderbox::generate::GenerationConfig;
use tinderbox::nn::decoder::CausalLm;
use tinderbox::nn::huggingface::load_gpt2;
use tinderbox::recipes::causal_lm::{
    CausalLmRunConfig, CausalTokenizer, export_batches, initial_weights_folder, load_run_config,
    pretrain,
};
use tinderbox::recipes::generation::{LanguageModel, run as generate};
use tinderbox::tokenize::TextTokenizer;

#[path = "support/pretraining.rs"]
mod pretraining;
use pretraining::{corpus, serial};

fn tiny(corpus: &Path, steps: usize) -> CausalLmRunConfig {
    let mut config = CausalLmRunConfig::new();
    config.model.n_layer = 1;
    config.model.n_embd = 32;
    config.model.n_head = 2;
    config.model.n_positions = 24;
    config.corpus = Some(corpus.to_path_buf());
    // The 256 bytes and 3 special tokens, and 41 merges.
    config.tokenizer = CausalTokenizer::Train { vocab_size: 300 };
    config.max_len = 24;
    config.heldout.fraction = 0.1;
    config.eval_sequences = 16;
    config.train.batch_size = 8;
    config.train.lr = 3e-3;
    config.budget.max_steps = Some(steps);
    config.budget.max_minutes = None;
    config.budget.eval_every = 5;
    config.budget.checkpoint_every = 5;
    config
}

fn curve(dir: &Path) -> Vec<Vec<f64>> {
    std::fs::read_to_string(dir.join("metrics.csv"))
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(|v| v.parse().unwrap()).collect())
        .collect()
}

#[test]
fn a_tiny_gpt_learns_pauses_resumes_and_generates_from_its_folder() {
    let _rng = serial();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("corpus");
    corpus(&data, 120);
    let config = tiny(&data, 150);

    let whole = dir.path().join("whole");
    let a = pretrain(&config, &whole, false, None).unwrap();
    assert!(a.finished);
    assert_eq!((a.steps, a.planned_steps), (150, 150));
    assert!((a.perplexity - a.heldout_loss.exp()).abs() < 1e-9);
    // Uniform guessing scores ln(300) = 5.7; the patterns leave a few words open.
    assert!(a.heldout_loss < 0.4 * (a.vocab_size as f64).ln(), "{a:?}");
    assert!(a.heldout_accuracy > 0.5, "{a:?}");
    assert_eq!(a.samples.len(), 3);
    for file in [
        "config.json",
        "tokenizer.json",
        "train.seq",
        "heldout.seq",
        "metrics.csv",
        "model.bpk",
        "summary.json",
        "model/config.json",
        "model/model.safetensors",
        "model/tokenizer.json",
        "model/tokenizer_config.json",
    ] {
        assert!(whole.join(file).is_file(), "{file} missing");
    }

    // The folder is GPT-2's: it loads, scores the held-out text as the run did, and generates
    // the corpus's words from a prompt through the generation recipe.
    let device = Device::default();
    let loaded = load_gpt2(whole.join("model"), &device).unwrap();
    assert_eq!(loaded.config().vocab_size, a.vocab_size);
    assert_eq!(loaded.config().eos_token_id, Some(2));
    let lm = LanguageModel::from_dir(&whole, &device).unwrap();
    let prompt = lm.encode("the red whale", false).unwrap();
    assert_eq!(
        prompt[0], 0,
        "prompts start with <s> as the training sequences do"
    );
    let out = generate(&lm, &[prompt], &GenerationConfig::greedy(4), None).unwrap();
    let text = &out.sequences[0].text;
    assert!(text.trim_start().starts_with("swims"), "{text:?}");
    let mut cache = loaded.new_cache(1, 8);
    let ids = Tensor::<2, Int>::from_data([[0i64, 5, 9]], &device);
    let logits = loaded
        .forward_last(ids, &[vec![false; 3]], &mut cache)
        .unwrap();
    assert_eq!(logits.dims(), [1, a.vocab_size]);

    // Paused after 12 steps and resumed: the same curve, bit for bit on the CPU backend. (With
    // the first run's tokenizer: `tokenizers` numbers merges in hash-map order.)
    let mut config = config;
    config.tokenizer = CausalTokenizer::File {
        path: whole.join("tokenizer.json"),
    };
    let split = dir.path().join("split");
    let paused = pretrain(&config, &split, false, Some(12)).unwrap();
    assert!(!paused.finished);
    assert_eq!(paused.steps, 12);
    let b = pretrain(&load_run_config(&split).unwrap(), &split, true, None).unwrap();
    assert_eq!(b.steps, 150);
    let (x, y) = (curve(&whole), curve(&split));
    assert_eq!(x.len(), y.len());
    for (r, s) in x.iter().zip(&y) {
        // Every column but the last, the wall-clock seconds.
        assert_eq!(r[..r.len() - 1], s[..s.len() - 1]);
    }
    assert_eq!(b.heldout_loss, a.heldout_loss);

    // Resuming as another size is refused.
    let mut bigger = load_run_config(&split).unwrap();
    bigger.model.n_layer = 2;
    let err = pretrain(&bigger, &split, true, None)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("cannot resume") && err.contains("(1, 32"),
        "{err}"
    );

    // The exported batches are the run's: next-token labels on real tokens, the starting
    // weights beside them as a Hugging Face folder.
    let file = dir.path().join("batches.safetensors");
    export_batches(&whole, 5, &file).unwrap();
    let bytes = std::fs::read(&file).unwrap();
    let tensors = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let ints = |name: &str| -> Vec<i64> {
        let bytes = tensors.tensor(name).unwrap().data().to_vec();
        bytes
            .chunks(8)
            .map(|c| i64::from_le_bytes(c.try_into().unwrap()))
            .collect()
    };
    let (ids, attention, labels) = (
        ints("train_input_ids"),
        ints("train_attention_mask"),
        ints("train_labels"),
    );
    assert_eq!(ids.len(), 5 * 8 * 24);
    for i in 0..ids.len() {
        let expected = if attention[i] == 1 { ids[i] } else { -100 };
        assert_eq!(labels[i], expected);
    }
    assert!(
        ids.chunks(24).all(|row| row[0] == 0),
        "every row starts with <s>"
    );
    let start = load_gpt2(initial_weights_folder(&file), &device).unwrap();
    let trained: f32 = (start.wte.dense().unwrap().weight.val()
        - loaded.wte.dense().unwrap().weight.val())
    .abs()
    .max()
    .into_scalar();
    assert!(
        trained > 0.0,
        "the starting weights are not the trained ones"
    );
    let tokenizer =
        tinderbox::tokenize::Tokenizer::from_file(whole.join("tokenizer.json")).unwrap();
    assert_eq!(tokenizer.vocab_size(), a.vocab_size);
}

#[test]
fn bad_corpora_and_settings_are_clear_errors() {
    let _rng = serial();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("corpus");
    corpus(&data, 120);
    let mut long = tiny(&data, 5);
    long.max_len = 25;
    let err = pretrain(&long, &dir.path().join("a"), false, None)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("--max-len 25 exceeds the model's 24 positions"),
        "{err}"
    );

    let single = dir.path().join("single");
    corpus(&single, 1);
    let err = pretrain(&tiny(&single, 5), &dir.path().join("b"), false, None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("from 1 documents"), "{err}");

    // A tokenizer without <s>/</s>: BERT's WordPiece has [CLS]/[SEP] and [PAD], which frame
    // sequences as well; one without a padding token is refused.
    let words = tinderbox::tokenize::Tokenizer::train_word_level(
        ["the red whale"].iter(),
        &tinderbox::tokenize::TrainOptions::new(10),
    )
    .unwrap();
    let path = dir.path().join("words.json");
    words.save(&path).unwrap();
    let mut config = tiny(&data, 5);
    config.tokenizer = CausalTokenizer::File { path };
    let err = pretrain(&config, &dir.path().join("c"), false, None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("needs a start (<s>), an end (</s>)"), "{err}");
}
