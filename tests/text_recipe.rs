//! The text-classification program end to end on small generated datasets: the models, the
//! files of a run, prediction and resume from the saved run, and bad input.

#[path = "support/text_folder.rs"]
mod text_folder;

use std::path::Path;

use text_folder::folder;
use tinderbox::data::text::TextSource;
use tinderbox::explain::{ExplainConfig, Method};
use tinderbox::heads::{Distillation, Pooling};
use tinderbox::recipes::text_classification::{
    TEACHER_LOGITS_FILE, TeacherConfig, TextEncoderConfig, TextExplainer, TextModel, TextRunConfig,
    TextRunSummary, evaluate_run, evaluate_test_split, load_run_config, predict, train_and_test,
};
use tinderbox::tokenize::{TextTokenizer, Tokenizer};

fn config(data: &Path, model: TextModel, epochs: usize) -> TextRunConfig {
    let mut config = TextRunConfig::for_source(TextSource::Folder {
        path: data.to_path_buf(),
    });
    config.encoder = TextEncoderConfig::new(model, 50);
    config.max_len = 12;
    config.train.epochs = epochs;
    config.train.batch_size = 8;
    config.train.lr = 1e-2;
    config
}

#[test]
fn bag_of_embeddings_learns_predicts_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    folder(&dir.path().join("data"), 60);
    let out = dir.path().join("run");
    let summary = train_and_test(
        &config(&dir.path().join("data"), TextModel::Bow, 4),
        &out,
        false,
    )
    .unwrap();
    assert_eq!(summary.examples, [96, 12, 12]);
    assert_eq!(summary.class_names, vec!["neg", "pos"]);
    assert_eq!(summary.model, "bow");
    assert!(summary.test_accuracy >= 0.9, "{summary:?}");
    assert!((summary.test_macro_f1 - summary.test_accuracy).abs() < 0.1);
    let counted: u64 = summary.confusion.iter().flatten().sum();
    assert_eq!(counted, 12);
    for file in [
        "config.json",
        "split.json",
        "tokenizer.json",
        "metrics.csv",
        "curves.png",
        "confusion.png",
        "model.bpk",
        "summary.json",
    ] {
        assert!(out.join(file).is_file(), "{file} missing");
    }
    let saved: TextRunSummary =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(saved, summary);

    let texts = vec![
        "superb and joyful".to_string(),
        "dreadful , tedious".to_string(),
        String::new(),
    ];
    let predictions = predict(&out, &texts, false).unwrap();
    assert_eq!(predictions[0].label, "pos");
    assert_eq!(predictions[1].label, "neg");
    for p in &predictions {
        let total: f32 = p.probabilities.iter().map(|(_, v)| v).sum();
        assert!((total - 1.0).abs() < 1e-5);
    }

    // The saved run scores another labelled set; a label it never saw is refused.
    let scored = evaluate_run(
        &out,
        &TextSource::Folder {
            path: dir.path().join("data"),
        },
        false,
    )
    .unwrap();
    assert!(scored.accuracy >= 0.9, "{scored:?}");
    assert_eq!(scored.confusion.iter().flatten().sum::<u64>(), 120);
    let other = dir.path().join("other");
    std::fs::create_dir_all(other.join("maybe")).unwrap();
    std::fs::write(other.join("maybe/0.txt"), "so so").unwrap();
    let err = evaluate_run(&out, &TextSource::Folder { path: other }, false)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("label \"maybe\", which is not one of the classes"),
        "{err}"
    );
    // int8 is for BERT encoders only.
    let err = predict(&out, &texts, true).unwrap_err().to_string();
    assert!(
        err.contains("int8 quantizes the dense layers of BERT encoders; this run's encoder is a bag of embeddings"),
        "{err}"
    );

    // Resuming keeps the split and tokenizer of the run and continues its epochs.
    let split_before = std::fs::read(out.join("split.json")).unwrap();
    let mut more = load_run_config(&out).unwrap();
    more.train.epochs = 5;
    let resumed = train_and_test(&more, &out, true).unwrap();
    assert_eq!(resumed.epochs, 5);
    assert_eq!(std::fs::read(out.join("split.json")).unwrap(), split_before);
}

#[test]
fn a_student_learns_from_a_teachers_cached_logits() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    folder(&data, 60);
    let teacher_dir = dir.path().join("teacher");
    train_and_test(&config(&data, TextModel::Bow, 4), &teacher_dir, false).unwrap();

    // An LSTM student of the bag-of-embeddings teacher: the teacher's own tokenizer reads the
    // texts; its logits are cached for the 96 training texts, one per class.
    let mut student = config(&data, TextModel::Lstm, 3);
    student.teacher = Some(TeacherConfig {
        dir: teacher_dir.clone(),
        distillation: Distillation {
            temperature: 2.0,
            alpha: 0.7,
        },
    });
    let out = dir.path().join("student");
    let summary = train_and_test(&student, &out, false).unwrap();
    assert_eq!(summary.teacher.as_deref(), Some(teacher_dir.as_path()));
    assert!(summary.test_accuracy >= 0.75, "{summary:?}");
    let cached: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join(TEACHER_LOGITS_FILE)).unwrap()).unwrap();
    let logits = cached["logits"].as_array().unwrap();
    assert_eq!(logits.len(), 96);
    assert!(logits.iter().all(|row| row.as_array().unwrap().len() == 2));
    // A teacher of other classes, and settings outside their ranges, are refused.
    let other = dir.path().join("other");
    for class in ["maybe", "no", "yes"] {
        std::fs::create_dir_all(other.join(class)).unwrap();
        for i in 0..20 {
            std::fs::write(
                other.join(class).join(format!("{i}.txt")),
                format!("{class} {i}"),
            )
            .unwrap();
        }
    }
    let mut wrong = config(&other, TextModel::Bow, 1);
    wrong.teacher = student.teacher.clone();
    let err = train_and_test(&wrong, &dir.path().join("wrong"), false)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(
            "classifies [\"neg\", \"pos\"]; this task's classes are [\"maybe\", \"no\", \"yes\"]"
        ),
        "{err}"
    );
    let mut hot = student.clone();
    hot.teacher.as_mut().unwrap().distillation.alpha = 1.5;
    let err = train_and_test(&hot, &dir.path().join("hot"), false)
        .unwrap_err()
        .to_string();
    assert!(err.contains("an alpha in [0, 1]; got 2 and 1.5"), "{err}");
    // Resuming reads the cache back (the teacher's directory is gone by then); the saved
    // configuration keeps the teacher.
    std::fs::remove_dir_all(&teacher_dir).unwrap();
    let mut more = load_run_config(&out).unwrap();
    assert_eq!(more.teacher, student.teacher);
    more.train.epochs = 4;
    assert_eq!(train_and_test(&more, &out, true).unwrap().epochs, 4);
}

#[test]
fn a_learning_curve_point_trains_on_fewer_texts_and_tests_on_the_same() {
    let dir = tempfile::tempdir().unwrap();
    folder(&dir.path().join("data"), 60);
    let full = config(&dir.path().join("data"), TextModel::Bow, 1);
    let mut few = full.clone();
    few.train_examples = Some(10);
    few.pooling = Some(Pooling::Max);
    let (a, b) = (dir.path().join("full"), dir.path().join("few"));
    assert_eq!(
        train_and_test(&full, &a, false).unwrap().examples,
        [96, 12, 12]
    );
    assert_eq!(
        train_and_test(&few, &b, false).unwrap().examples,
        [10, 12, 12]
    );
    let split = |run: &Path| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(run.join("split.json")).unwrap()).unwrap()
    };
    let (sa, sb) = (split(&a), split(&b));
    assert_eq!((&sa["valid"], &sa["test"]), (&sb["valid"], &sb["test"]));
    assert_eq!(load_run_config(&b).unwrap().pooling, Some(Pooling::Max));
    assert_eq!(
        predict(&b, &["superb".to_string()], false).unwrap().len(),
        1
    );
    few.train_examples = Some(500);
    let e = train_and_test(&few, &dir.path().join("many"), false).unwrap_err();
    assert!(
        e.to_string()
            .contains("give between 2 (one per class) and 96"),
        "{e}"
    );
}

#[test]
fn the_seed_lstm_trains_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    folder(&dir.path().join("data"), 30);
    let summary = train_and_test(
        &config(&dir.path().join("data"), TextModel::Lstm, 2),
        &dir.path().join("run"),
        false,
    )
    .unwrap();
    assert_eq!(summary.model, "lstm");
    assert_eq!(summary.epochs, 2);
    assert!(summary.test_accuracy.is_finite());
}

#[test]
fn a_transformer_from_scratch_learns_with_its_own_wordpiece() {
    let dir = tempfile::tempdir().unwrap();
    folder(&dir.path().join("data"), 40);
    let mut config = TextRunConfig::for_model(
        TextSource::Folder {
            path: dir.path().join("data"),
        },
        TextModel::Transformer,
    );
    config.encoder = TextEncoderConfig::new(TextModel::Transformer, 60);
    config.train.epochs = 6;
    config.train.batch_size = 8;
    config.train.lr = 3e-3;
    let out = dir.path().join("run");
    let summary = train_and_test(&config, &out, false).unwrap();
    assert_eq!(summary.model, "transformer");
    assert!(summary.test_accuracy >= 0.75, "{summary:?}");
    // The run's tokenizer adds [CLS] and [SEP] and the saved model predicts.
    let tokenizer = std::fs::read_to_string(out.join("tokenizer.json")).unwrap();
    assert!(tokenizer.contains("[CLS]") && tokenizer.contains("WordPiece"));
    let texts = [
        "superb and joyful".to_string(),
        "dreadful , tedious".to_string(),
    ];
    let predictions = predict(&out, &texts, false).unwrap();
    assert_eq!(predictions.len(), 2);
    // In int8: the same labels, probabilities within int8 rounding; the test split scored
    // again gives the run's accuracy in f32, and nearly it in int8.
    let int8 = predict(&out, &texts, true).unwrap();
    for (a, b) in predictions.iter().zip(&int8) {
        assert_eq!(a.label, b.label);
        for ((_, p), (_, q)) in a.probabilities.iter().zip(&b.probabilities) {
            assert!((p - q).abs() < 0.05, "{a:?} vs {b:?}");
        }
    }
    let again = evaluate_test_split(&out, false).unwrap();
    assert_eq!(again.accuracy, summary.test_accuracy);
    let in_int8 = evaluate_test_split(&out, true).unwrap();
    assert!(
        (in_int8.accuracy - summary.test_accuracy).abs() <= 0.1,
        "{in_int8:?} vs {summary:?}"
    );

    // A second model from scratch with this run's tokenizer: the same vocabulary, the embedding
    // table sized to it (whatever vocab_size said); a folder without a tokenizer is refused.
    let mut shared = config.clone();
    shared.train.epochs = 1;
    let TextEncoderConfig::Bert(bert) = &mut shared.encoder else {
        panic!("{shared:?}");
    };
    bert.tokenizer = Some(out.clone());
    bert.bert.vocab_size = 8;
    let twin = dir.path().join("twin");
    train_and_test(&shared, &twin, false).unwrap();
    let read = |run: &Path| std::fs::read(run.join("tokenizer.json")).unwrap();
    assert_eq!(read(&twin), read(&out));
    let tokens = Tokenizer::from_file(out.join("tokenizer.json"))
        .unwrap()
        .vocab_size();
    let TextEncoderConfig::Bert(saved) = load_run_config(&twin).unwrap().encoder else {
        panic!("not a BERT run");
    };
    assert_eq!(saved.bert.vocab_size, tokens);
    let TextEncoderConfig::Bert(bert) = &mut shared.encoder else {
        unreachable!()
    };
    bert.tokenizer = Some(dir.path().join("data"));
    let e = train_and_test(&shared, &dir.path().join("none"), false).unwrap_err();
    assert!(e.to_string().contains("holds no tokenizer.json"), "{e}");

    // Explained through the word embeddings and the attention: [CLS] and [SEP] are not
    // features; rollout shares out at most the pooled rows' total weight.
    let explainer = TextExplainer::open(&out).unwrap();
    let ig = explainer
        .explain(
            "the film was superb",
            &ExplainConfig::new(Method::IntegratedGradients),
        )
        .unwrap();
    assert!(
        !ig.tokens.iter().any(|t| t == "[CLS]" || t == "[SEP]"),
        "{:?}",
        ig.tokens
    );
    assert_eq!(ig.ids.len(), ig.tokens.len() + 2);
    // Completeness is not asserted here: this tiny, unseeded model can jump from 1e-7 to 1.0
    // within a few path points, which 50 points do not resolve (the LSTM, bag and CNN tests
    // check it; BERT's gradients are checked against Captum in docs/explanations.md).
    assert!(ig.completeness_gap.is_some() && ig.attributions.iter().all(|a| a.is_finite()));
    let rollout = explainer
        .explain("the film was superb", &ExplainConfig::new(Method::Rollout))
        .unwrap();
    assert!(rollout.completeness_gap.is_none());
    assert!(rollout.attributions.iter().all(|&a| a > 0.0));
    assert!(rollout.attributions.iter().sum::<f32>() < 1.0 + 1e-5);
}

#[test]
fn bad_datasets_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("reviews.csv");
    std::fs::write(&csv, "review,stars\ngood,5\nbad,1\n").unwrap();
    let mut bad = config(dir.path(), TextModel::Bow, 1);
    bad.source = TextSource::File {
        path: csv.clone(),
        text_col: "review".into(),
        label_col: "label".into(),
    };
    let err = train_and_test(&bad, &dir.path().join("run1"), false)
        .unwrap_err()
        .to_string();
    assert!(err.contains("no column \"label\""), "{err}");

    // Two texts per class cannot fill train, validation and test.
    bad.source = TextSource::File {
        path: csv,
        text_col: "review".into(),
        label_col: "stars".into(),
    };
    let err = train_and_test(&bad, &dir.path().join("run2"), false)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("too few for a train/validation/test split"),
        "{err}"
    );

    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    bad.source = TextSource::Folder { path: empty };
    let err = train_and_test(&bad, &dir.path().join("run3"), false)
        .unwrap_err()
        .to_string();
    assert!(err.contains("one sub-folder per class"), "{err}");

    let err = predict(&dir.path().join("run3"), &["x".into()], false)
        .unwrap_err()
        .to_string();
    assert!(err.contains("not a tinderbox run directory"), "{err}");
}
