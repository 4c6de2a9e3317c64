//! The pre-training program end to end on a small generated corpus: a tiny BERT and the LSTM
//! toy learn, a paused run resumes on the same curve, fill-mask reads the saved run, the BERT
//! folder fine-tunes in text classification, and bad input is a clear error.

use std::path::Path;

use tinderbox::data::fetch::Cache;
use tinderbox::data::text::{Split, TextSource};
use tinderbox::nn::transformer::LocalHeadsInit;
use tinderbox::recipes::masked_lm::{
    DomainText, MlmModelConfig, MlmModelKind, MlmRunConfig, MlmRunSummary, SavedMlm,
    TokenizerChoice, export_batches, load_run_config, pretrain,
};
use tinderbox::recipes::text_classification::{
    BertEncoderConfig, TextEncoderConfig, TextModel, TextRunConfig, train_and_test,
};
use tinderbox::tokenize::{TextTokenizer, Tokenizer};

#[path = "support/pretraining.rs"]
mod pretraining;
use pretraining::{corpus, serial};

fn tiny(kind: MlmModelKind, corpus: &Path, steps: usize) -> MlmRunConfig {
    let mut config = MlmRunConfig::new(kind);
    match &mut config.model {
        MlmModelConfig::Bert(bert) => {
            bert.num_hidden_layers = 1;
            bert.hidden_size = 32;
            bert.num_attention_heads = 2;
            bert.intermediate_size = 64;
            bert.max_position_embeddings = 32;
        }
        MlmModelConfig::Lstm(lstm) => {
            lstm.embed_dim = 16;
            lstm.hidden = 16;
        }
    }
    config.corpus = Some(corpus.to_path_buf());
    config.tokenizer = TokenizerChoice::Train { vocab_size: 80 };
    config.max_len = 24;
    config.heldout.fraction = 0.1;
    config.eval_sequences = 16;
    config.train.batch_size = 8;
    config.train.lr = 1e-2;
    config.budget.max_steps = Some(steps);
    config.budget.max_minutes = None;
    config.budget.eval_every = 5;
    config.train.lr = 3e-3;
    config.budget.checkpoint_every = 5;
    config
}

/// `export_batches` replays the run's stream: the same bytes twice, BERT's masking in them, the
/// held-out batches that the run scored, and the run's schedule length.
fn exported_batches_are_the_runs(run: &Path, config: &MlmRunConfig, summary: &MlmRunSummary) {
    let vocab = summary.vocab_size;
    let file = run.join("batches.safetensors");
    let fresh = tempfile::tempdir().unwrap();
    std::fs::copy(run.join("config.json"), fresh.path().join("config.json")).unwrap();
    let err = export_batches(fresh.path(), 5, &file)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("has no prepared data (tokenizer.json"),
        "{err}"
    );
    export_batches(run, 5, &file).unwrap();
    let bytes = std::fs::read(&file).unwrap();
    export_batches(run, 5, &file).unwrap();
    let again = std::fs::read(&file).unwrap();
    let (first, second) = (
        safetensors::SafeTensors::deserialize(&bytes).unwrap(),
        safetensors::SafeTensors::deserialize(&again).unwrap(),
    );
    for name in first.names() {
        let same = first.tensor(name).unwrap().data() == second.tensor(name).unwrap().data();
        assert!(same, "two exports differ in {name}");
    }
    let (_, meta) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    let meta = meta.metadata().clone().unwrap();
    assert_eq!(meta["planned_steps"], "200");
    assert_eq!(meta["vocab_size"], vocab.to_string());
    let tensors = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let ints = |name: &str| -> Vec<i64> {
        let view = tensors.tensor(name).unwrap();
        assert_eq!(view.shape()[1], config.max_len, "{name}");
        view.data()
            .chunks(8)
            .map(|c| i64::from_le_bytes(c.try_into().unwrap()))
            .collect()
    };
    let masked_rate = |attention: &[i64], labels: &[i64]| {
        let masked = labels.iter().filter(|&&l| l != -100).count();
        masked as f64 / attention.iter().filter(|&&a| a == 1).count() as f64
    };
    let (ids, attention, labels) = (
        ints("train_input_ids"),
        ints("train_attention_mask"),
        ints("train_labels"),
    );
    assert_eq!(ids.len(), 5 * config.train.batch_size * config.max_len);
    // Training masks at the run's rate, the held-out batches at BERT's 15 % whatever it is.
    let train_rate = masked_rate(&attention, &labels);
    assert!(
        (train_rate - config.train_mask_probability).abs() < 0.07,
        "training masked rate {train_rate}, configured {}",
        config.train_mask_probability
    );
    let heldout_rate = masked_rate(&ints("heldout_attention_mask"), &ints("heldout_labels"));
    assert!(
        (0.10..0.20).contains(&heldout_rate),
        "held-out masked rate {heldout_rate}"
    );
    let masked: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] != -100).collect();
    assert!(
        masked
            .iter()
            .all(|&i| attention[i] == 1 && (labels[i] as usize) < vocab)
    );
    let tokenizer = Tokenizer::from_file(run.join("tokenizer.json")).unwrap();
    let mask_id = i64::from(tokenizer.special_tokens().mask.unwrap().id);
    let replaced = masked.iter().filter(|&&i| ids[i] == mask_id).count();
    assert!(
        replaced as f64 > 0.6 * masked.len() as f64,
        "{replaced} of {}",
        masked.len()
    );
    let heldout = tensors.tensor("heldout_labels").unwrap().shape()[0];
    assert_eq!(
        heldout,
        config.eval_sequences.min(summary.heldout_sequences)
    );
}

#[test]
fn a_tiny_bert_learns_pauses_resumes_fills_and_fine_tunes() {
    let _rng = serial();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("corpus");
    corpus(&data, 120);
    let config = tiny(MlmModelKind::Bert, &data, 200);

    let whole = dir.path().join("whole");
    let a = pretrain(&config, &whole, false, None).unwrap();
    assert!(a.finished);
    assert_eq!((a.steps, a.planned_steps), (200, 200));
    assert_eq!(a.model, "bert");
    assert!(a.heldout_documents >= 3 && a.heldout_sequences >= a.heldout_documents);
    assert!((a.perplexity - a.heldout_loss.exp()).abs() < 1e-9);
    assert_eq!(a.tokens, 200 * 8 * 24);
    // Uniform guessing scores ln(80) = 4.38 and 1/75; the model learns at least the word
    // frequencies (a model this small needs far more steps to get past them).
    assert!(a.heldout_loss < 0.7 * (a.vocab_size as f64).ln(), "{a:?}");
    assert!(a.heldout_masked_accuracy > 0.15, "{a:?}");
    assert!(!a.fill_mask.is_empty());
    for f in &a.fill_mask {
        assert!(f.text.contains("[MASK]") && f.truth.is_some(), "{f:?}");
        assert_eq!(f.candidates[0].len(), 5);
    }
    for file in [
        "config.json",
        "tokenizer.json",
        "split.json",
        "train.seq",
        "heldout.seq",
        "metrics.csv",
        "curves.png",
        "model.bpk",
        "summary.json",
        "model/config.json",
        "model/model.safetensors",
        "model/tokenizer.json",
    ] {
        assert!(whole.join(file).is_file(), "{file} missing");
    }
    let csv = std::fs::read_to_string(whole.join("metrics.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 40, "{csv}");
    let saved = load_run_config(&whole).unwrap();
    assert_eq!(saved.model.vocab_size(), a.vocab_size);
    exported_batches_are_the_runs(&whole, &saved, &a);

    // Paused after 12 steps, resumed: the same curve and the same end. (With the first run's
    // tokenizer: `tokenizers`' trainer numbers tokens in hash-map order, so two trainings on
    // the same text may differ.)
    let mut config = config;
    config.tokenizer = TokenizerChoice::File {
        path: whole.join("tokenizer.json"),
    };
    let split = dir.path().join("split");
    let paused = pretrain(&config, &split, false, Some(12)).unwrap();
    assert!(!paused.finished);
    assert_eq!(paused.steps, 12);
    let b = pretrain(&load_run_config(&split).unwrap(), &split, true, None).unwrap();
    assert_eq!(b.steps, 200);
    // The same curve, bit for bit on the CPU backend.
    let curve = |dir: &Path| -> Vec<Vec<f64>> {
        std::fs::read_to_string(dir.join("metrics.csv"))
            .unwrap()
            .lines()
            .skip(1)
            .map(|l| l.split(',').map(|v| v.parse().unwrap()).collect())
            .collect()
    };
    let (x, y) = (curve(&whole), curve(&split));
    assert_eq!(x.len(), y.len());
    for (r, s) in x.iter().zip(&y) {
        assert_eq!((r[0], r[6], r[7]), (s[0], s[6], s[7]), "step, lr, tokens");
        for col in [1, 3] {
            assert_eq!(r[col], s[col], "{r:?} vs {s:?}");
        }
    }
    assert_eq!(b.heldout_loss, a.heldout_loss);

    // Resuming as another model size is refused, naming the difference.
    let mut bigger = load_run_config(&split).unwrap();
    if let MlmModelConfig::Bert(bert) = &mut bigger.model {
        bert.num_hidden_layers = 2;
    }
    let err = pretrain(&bigger, &split, true, None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("layers 2 (the run has 1)"), "{err}");

    // Fill-mask from the saved run; text without [MASK] is an error.
    let run = SavedMlm::load(&whole).unwrap();
    let filled = run.fill("the red [MASK] swims near the ship .", 3).unwrap();
    assert_eq!(filled.candidates.len(), 1);
    assert_eq!(filled.candidates[0].len(), 3);
    let p: Vec<f64> = filled.candidates[0].iter().map(|c| c.probability).collect();
    assert!(p.windows(2).all(|w| w[0] >= w[1]) && p[0] <= 1.0, "{p:?}");
    let err = run.fill("no mask here", 3).unwrap_err().to_string();
    assert!(err.contains("has no [MASK]"), "{err}");

    // The BERT folder fine-tunes in text classification, with the run's tokenizer.
    let texts = dir.path().join("texts");
    for (class, word) in [("sea", "whale"), ("air", "gull")] {
        std::fs::create_dir_all(texts.join(class)).unwrap();
        for i in 0..20 {
            let text = format!(
                "the {} {word} swims near the ship .",
                ["red", "blue"][i % 2]
            );
            std::fs::write(texts.join(class).join(format!("{i}.txt")), text).unwrap();
        }
    }
    let mut text = TextRunConfig::for_model(TextSource::Folder { path: texts }, TextModel::Bert);
    text.encoder = TextEncoderConfig::Bert(BertEncoderConfig::from_run(&whole).unwrap());
    text.train.epochs = 2;
    text.train.batch_size = 8;
    text.train.lr = 1e-2;
    let tuned = train_and_test(&text, &dir.path().join("tuned"), false).unwrap();
    assert_eq!(tuned.model, "bert");
    let tokenizer = std::fs::read(dir.path().join("tuned/tokenizer.json")).unwrap();
    assert_eq!(
        tokenizer,
        std::fs::read(whole.join("tokenizer.json")).unwrap()
    );
}

/// The tensors of a saved Hugging Face folder, by name.
fn safetensors_values(folder: &Path) -> Vec<(String, Vec<u8>)> {
    let bytes = std::fs::read(folder.join("model.safetensors")).unwrap();
    let tensors = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut out: Vec<(String, Vec<u8>)> = tensors
        .tensors()
        .into_iter()
        .map(|(name, view)| (name, view.data().to_vec()))
        .collect();
    out.sort();
    out
}

#[test]
fn continued_pretraining_starts_from_the_run_and_reads_only_training_texts() {
    let _rng = serial();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("corpus");
    corpus(&data, 60);
    let source = dir.path().join("source");
    pretrain(&tiny(MlmModelKind::Bert, &data, 20), &source, false, None).unwrap();

    // A labelled dataset whose every text is unique, so that the corpus can be searched.
    let texts = dir.path().join("texts");
    for (class, animal) in [("sea", "whale"), ("air", "gull")] {
        std::fs::create_dir_all(texts.join(class)).unwrap();
        for i in 0..40 {
            let text = format!("the {animal} number{i} swims near the ship .");
            std::fs::write(texts.join(class).join(format!("{i}.txt")), text).unwrap();
        }
    }
    let folder = TextSource::Folder {
        path: texts.clone(),
    };
    let mut config = tiny(MlmModelKind::Bert, &data, 1);
    config.domain = Some(DomainText {
        document_chars: 200,
        ..DomainText::new(folder.clone())
    });
    config.heldout.fraction = 0.5;
    // A step too small to move a weight: the continued model is the source's.
    config.train.lr = 1e-12;
    config.continue_pretraining(&source).unwrap();
    let continued = dir.path().join("continued");
    let summary = pretrain(&config, &continued, false, None).unwrap();
    assert_eq!(summary.steps, 1);
    let (before, after) = (
        safetensors_values(&source.join("model")),
        safetensors_values(&continued.join("model")),
    );
    assert_eq!(before.len(), after.len());
    for ((name, a), (_, b)) in before.iter().zip(&after) {
        let floats = |v: &[u8]| -> Vec<f32> {
            v.chunks(4)
                .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
                .collect()
        };
        let diff = floats(a)
            .iter()
            .zip(floats(b))
            .map(|(x, y)| (x - y).abs())
            .fold(0.0f32, f32::max);
        assert!(diff < 1e-6, "{name} moved by {diff}");
    }
    // The source's tokenizer and model, and the domain's corpus in the run directory.
    assert_eq!(
        std::fs::read(continued.join("tokenizer.json")).unwrap(),
        std::fs::read(source.join("tokenizer.json")).unwrap()
    );
    let saved = load_run_config(&continued).unwrap();
    assert_eq!(saved.model, load_run_config(&source).unwrap().model);
    assert_eq!(saved.continue_from.as_deref(), Some(source.as_path()));
    assert_eq!(saved.corpus, Some(continued.join("domain-corpus")));
    // Every training text of text_classification's split is in the corpus, no held-out one.
    let mut written = String::new();
    for entry in std::fs::read_dir(continued.join("domain-corpus")).unwrap() {
        written += &std::fs::read_to_string(entry.unwrap().path()).unwrap();
    }
    let labelled = folder.load(&Cache::from_env().unwrap()).unwrap();
    let split = Split::stratified(&labelled, 0.1, 0.1, 42).unwrap();
    let [train, valid, test] = split.apply(&labelled).unwrap();
    let lines: Vec<&str> = written.lines().collect();
    assert_eq!(lines.len(), train.len());
    assert!(train.texts.iter().all(|t| lines.contains(&t.as_str())));
    assert!(
        valid
            .texts
            .iter()
            .chain(&test.texts)
            .all(|t| !lines.contains(&t.as_str()))
    );

    // A run that is not there is a clear error naming it.
    let mut missing = tiny(MlmModelKind::Bert, &data, 1);
    let err = missing
        .continue_pretraining(&dir.path().join("nowhere"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("nowhere"), "{err}");
}

#[test]
fn the_lstm_toy_trains_and_fills() {
    let _rng = serial();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("corpus");
    corpus(&data, 60);
    let out = dir.path().join("lstm");
    let summary = pretrain(&tiny(MlmModelKind::Lstm, &data, 10), &out, false, None).unwrap();
    assert_eq!((summary.model.as_str(), summary.steps), ("lstm", 10));
    assert!(summary.heldout_loss.is_finite());
    assert!(
        !out.join("model").exists(),
        "no Hugging Face folder for the LSTM"
    );
    let filled = SavedMlm::load(&out)
        .unwrap()
        .fill("the [MASK] whale swims [MASK] the ship .", 2)
        .unwrap();
    assert_eq!(filled.candidates.len(), 2);
}

#[test]
fn bad_corpora_and_settings_are_clear_errors() {
    let _rng = serial();
    let dir = tempfile::tempdir().unwrap();
    let run = |config: &MlmRunConfig, name: &str| {
        pretrain(config, &dir.path().join(name), false, None)
            .unwrap_err()
            .to_string()
    };
    let missing = tiny(MlmModelKind::Bert, &dir.path().join("nowhere"), 2);
    let err = run(&missing, "a");
    assert!(err.contains("nowhere"), "{err}");

    let empty = dir.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    std::fs::write(empty.join("blank.txt"), "   \n\n").unwrap();
    let err = run(&tiny(MlmModelKind::Bert, &empty, 2), "b");
    assert!(
        err.to_lowercase().contains("no text") || err.contains("empty"),
        "{err}"
    );

    // One document cannot be split into training and held-out text.
    let one = dir.path().join("one");
    corpus(&one, 1);
    let err = run(&tiny(MlmModelKind::Bert, &one, 2), "c");
    assert!(err.contains("from 1 documents"), "{err}");

    let data = dir.path().join("corpus");
    corpus(&data, 30);
    let mut small_vocab = tiny(MlmModelKind::Bert, &data, 2);
    small_vocab.tokenizer = TokenizerChoice::Train { vocab_size: 5 };
    let err = run(&small_vocab, "d");
    assert!(err.contains("5 special tokens"), "{err}");

    let mut long = tiny(MlmModelKind::Bert, &data, 2);
    long.max_len = 64;
    let err = run(&long, "e");
    assert!(err.contains("exceeds the model's 32 positions"), "{err}");

    let mut nothing_masked = tiny(MlmModelKind::Bert, &data, 2);
    nothing_masked.train_mask_probability = 0.0;
    let err = run(&nothing_masked, "f");
    assert!(err.contains("--mask-probability 0"), "{err}");

    let mut far = tiny(MlmModelKind::Bert, &data, 2);
    far.local_heads = Some(LocalHeadsInit {
        offsets: vec![-1, 9],
        ..Default::default()
    });
    let err = run(&far, "g");
    assert!(
        err.contains("9 is too far") && err.contains("--local-offsets"),
        "{err}"
    );

    let err = SavedMlm::load(&dir.path().join("never-ran"))
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("never-ran"), "{err}");
}
