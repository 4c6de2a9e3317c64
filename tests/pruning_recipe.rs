//! Pruning a text classifier end to end on a small generated dataset: gradual magnitude pruning
//! reaches its sparsity and a run interrupted halfway resumes with its masks; structured pruning
//! of a trained transformer saves smaller runs that predict, and refuses what it cannot prune.

#[path = "support/text_folder.rs"]
mod text_folder;

use std::path::Path;

use text_folder::folder;
use tinderbox::data::text::TextSource;
use tinderbox::nn::pruning::MagnitudePruningConfig;
use tinderbox::recipes::text_classification::{
    TextEncoderConfig, TextModel, TextRunConfig, TextRunSummary, evaluate_test_split, predict,
    prune_sweep, train_and_test,
};

/// The small transformer of `--model transformer` over a 60-token WordPiece.
fn transformer(data: &Path, epochs: usize) -> TextRunConfig {
    let mut config = TextRunConfig::for_model(
        TextSource::Folder {
            path: data.to_path_buf(),
        },
        TextModel::Transformer,
    );
    config.encoder = TextEncoderConfig::new(TextModel::Transformer, 60);
    config.train.epochs = epochs;
    config.train.batch_size = 8;
    config.train.lr = 3e-3;
    config
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// burn's random generator is global to the process (dropout draws from it): the two tests
/// train in turn, or one's draws would come from the other's seed and the resumed run would
/// not match the straight one.
static RNG: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    RNG.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

const TEXTS: [&str; 2] = ["superb and joyful", "dreadful , tedious"];

fn probabilities(run: &Path) -> Vec<Vec<f32>> {
    let texts: Vec<String> = TEXTS.iter().map(|t| t.to_string()).collect();
    predict(run, &texts, false)
        .unwrap()
        .into_iter()
        .map(|p| p.probabilities.into_iter().map(|(_, v)| v).collect())
        .collect()
}

#[test]
fn magnitude_pruning_reaches_its_sparsity_and_an_interrupted_run_keeps_its_masks() {
    let _turn = serial();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    folder(&data, 40);
    let mut config = transformer(&data, 4);
    config.train.keep_checkpoints = 4;
    config.pruning = Some(MagnitudePruningConfig {
        every: 2,
        ..MagnitudePruningConfig::new(0.6)
    });

    let straight = dir.path().join("straight");
    let summary = train_and_test(&config, &straight, false).unwrap();
    let sparsity = summary.sparsity.unwrap();
    // Each matrix rounds its own count of zeros.
    assert!((sparsity - 0.6).abs() < 0.01, "{sparsity}");
    assert!(summary.test_accuracy >= 0.75, "{summary:?}");

    // The same run stopped after epoch 2 (a copy with the later checkpoints removed, as a
    // kill would have left it) and resumed in a fresh call: the masks come back from the
    // checkpoint's zeros, pruning goes on to epoch 3's target, and the model ends exactly as
    // the straight run's.
    let halted = dir.path().join("halted");
    copy_dir(&straight, &halted);
    for epoch in [3, 4] {
        std::fs::remove_dir_all(halted.join(format!("checkpoints/epoch-{epoch}"))).unwrap();
    }
    std::fs::remove_file(halted.join("model.bpk")).unwrap();
    let resumed = train_and_test(&config, &halted, true).unwrap();
    assert_eq!(resumed.sparsity, summary.sparsity);
    assert_eq!(resumed.test_accuracy, summary.test_accuracy);
    assert_eq!(probabilities(&halted), probabilities(&straight));
}

#[test]
fn structured_pruning_saves_smaller_runs_that_predict() {
    let _turn = serial();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    folder(&data, 40);
    let run = dir.path().join("run");
    let summary = train_and_test(&transformer(&data, 6), &run, false).unwrap();

    let out = dir.path().join("pruned");
    let report = prune_sweep(&run, &[(0.5, 0.5), (0.0, 0.25)], &out, 1).unwrap();
    assert_eq!(report.models.len(), 3);
    let [base, half, ffn_only] = [&report.models[0], &report.models[1], &report.models[2]];
    assert_eq!(base.test_accuracy, summary.test_accuracy);
    assert_eq!(base.heads, vec![2, 2]);
    // Two heads of four go, at least one left per layer; half the FFN neurons of 1,024.
    assert_eq!(half.heads.iter().sum::<usize>(), 2);
    assert!(half.heads.iter().all(|&h| h >= 1));
    assert_eq!(half.ffn.iter().sum::<usize>(), 512);
    assert_eq!(ffn_only.heads, vec![2, 2]);
    assert_eq!(ffn_only.ffn.iter().sum::<usize>(), 768);
    assert!(half.layer_parameters < ffn_only.layer_parameters);
    assert!(ffn_only.layer_parameters < base.layer_parameters);
    assert!(half.model_bytes < base.model_bytes);

    // Each pruned run opens like any run: the test split scores as the sweep said.
    for model in &report.models[1..] {
        assert!(model.dir.join("encoder/config.json").is_file());
        let again = evaluate_test_split(&model.dir, false).unwrap();
        assert_eq!(again.accuracy, model.test_accuracy);
        let saved: TextRunSummary =
            serde_json::from_slice(&std::fs::read(model.dir.join("summary.json")).unwrap())
                .unwrap();
        assert_eq!(saved.test_accuracy, again.accuracy);
        assert_eq!(saved.test_macro_f1, again.macro_f1);
        assert_eq!(saved.confusion, again.confusion);
        let probs = probabilities(&model.dir);
        assert!(probs.iter().flatten().all(|p| p.is_finite()));
    }
    let saved: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(saved["models"].as_array().unwrap().len(), 3);

    // A bag of embeddings has no heads; a ratio of 1 would leave nothing.
    let mut bow = transformer(&data, 1);
    bow.encoder = TextEncoderConfig::new(TextModel::Bow, 50);
    let bow_run = dir.path().join("bow");
    train_and_test(&bow, &bow_run, false).unwrap();
    let e = prune_sweep(&bow_run, &[(0.5, 0.5)], &out, 1).unwrap_err();
    assert!(e.to_string().contains("is a bow run"), "{e}");
    let e = prune_sweep(&run, &[(1.0, 0.0)], &out, 1).unwrap_err();
    assert!(e.to_string().contains("outside [0, 1)"), "{e}");
}
