//! A learning curve end to end on a small generated dataset: two arms over two sizes and two
//! seeds, run in two shards that split the points between them, every point tested on the same
//! texts, finished points read rather than trained again, other settings refused, and the
//! report's table, summary and figure.

#[path = "support/text_folder.rs"]
mod text_folder;

use std::path::Path;

use text_folder::folder;
use tinderbox::data::text::TextSource;
use tinderbox::recipes::learning_curve::report::{FIGURE_FILE, write_report};
use tinderbox::recipes::learning_curve::{
    CurveArm, CurvePlan, Shard, dataset_name, point_dir, run_learning_curve,
};
use tinderbox::recipes::text_classification::{TextEncoderConfig, TextModel, TextRunConfig};

fn arm(name: &str, data: &Path, lr: f64) -> CurveArm {
    let mut config = TextRunConfig::for_model(
        TextSource::Folder {
            path: data.to_path_buf(),
        },
        TextModel::Transformer,
    );
    config.encoder = TextEncoderConfig::new(TextModel::Transformer, 60);
    config.train.epochs = 1;
    config.train.batch_size = 8;
    config.train.lr = lr;
    config.split_seed = Some(42);
    config.epoch_examples = Some(16);
    CurveArm {
        name: name.into(),
        config,
    }
}

#[test]
fn a_curve_runs_in_shards_resumes_refuses_other_settings_and_reports() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("texts");
    folder(&data, 20);
    let root = dir.path().join("curve");
    let plan = CurvePlan {
        arms: vec![arm("slow", &data, 1e-3), arm("fast", &data, 3e-3)],
        sizes: vec![Some(4), None],
        seeds: vec![1, 2],
    };

    let first = run_learning_curve(&plan, &root, Shard { index: 0, count: 2 }, |_| {}).unwrap();
    let second = run_learning_curve(&plan, &root, Shard { index: 1, count: 2 }, |_| {}).unwrap();
    assert_eq!((first.len(), second.len()), (4, 4));
    let mut dirs: Vec<_> = first.iter().chain(&second).map(|r| r.dir.clone()).collect();
    dirs.sort();
    dirs.dedup();
    assert_eq!(dirs.len(), 8, "the shards split the points without overlap");
    // A user's folder is named by its last component, inside the curve's folder.
    let source = dataset_name(&plan.arms[0].config.source);
    assert_eq!(source, "texts");
    for arm in ["slow", "fast"] {
        for seed in [1, 2] {
            let small = point_dir(&root, &source, arm, Some(4), seed);
            let all = point_dir(&root, &source, arm, None, seed);
            assert!(small.ends_with(format!("{arm}/n4-s{seed}")), "{small:?}");
            assert!(all.ends_with(format!("{arm}/all-s{seed}")), "{all:?}");
            assert!(dirs.contains(&small) && dirs.contains(&all));
        }
    }
    // 40 texts, 80 % for training: 4 or all 32; every point tested on the same texts.
    let mut labels: Vec<usize> = first.iter().chain(&second).map(|r| r.labels).collect();
    labels.sort_unstable();
    labels.dedup();
    assert_eq!(labels, vec![4, 32]);
    let test_split = |d: &Path| -> serde_json::Value {
        let split: serde_json::Value =
            serde_json::from_slice(&std::fs::read(d.join("split.json")).unwrap()).unwrap();
        split["test"].clone()
    };
    let reference = test_split(&dirs[0]);
    assert!(dirs.iter().all(|d| test_split(d) == reference));

    // Running again reads every point: nothing is trained (the summaries are untouched).
    let modified = |d: &Path| {
        std::fs::metadata(d.join("summary.json"))
            .unwrap()
            .modified()
            .unwrap()
    };
    let stamps: Vec<_> = dirs.iter().map(|d| modified(d)).collect();
    let again = run_learning_curve(&plan, &root, Shard::ALL, |_| {}).unwrap();
    assert_eq!(again.len(), 8);
    assert_eq!(stamps, dirs.iter().map(|d| modified(d)).collect::<Vec<_>>());
    let mut all: Vec<_> = first.iter().chain(&second).cloned().collect();
    all.sort_by(|a, b| a.dir.cmp(&b.dir));
    let mut again = again;
    again.sort_by(|a, b| a.dir.cmp(&b.dir));
    assert_eq!(all, again);

    // An arm whose settings changed is refused rather than mixed with the old points.
    let mut changed = plan.clone();
    changed.arms[1].config.train.lr = 1e-2;
    let err = run_learning_curve(&changed, &root, Shard::ALL, |_| {})
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("arm.json") && err.contains("\"fast\""),
        "{err}"
    );
    // Arms with one name, or on other splits, are refused before anything runs.
    let mut twins = plan.clone();
    twins.arms[1].name = "slow".into();
    let err = run_learning_curve(&twins, &root, Shard::ALL, |_| {})
        .unwrap_err()
        .to_string();
    assert!(err.contains("two arms are named \"slow\""), "{err}");
    let mut other_split = plan.clone();
    other_split.arms[1].config.split_seed = Some(7);
    let err = run_learning_curve(&other_split, &root, Shard::ALL, |_| {})
        .unwrap_err()
        .to_string();
    assert!(err.contains("same texts"), "{err}");
    let err = run_learning_curve(&plan, &root, Shard { index: 2, count: 2 }, |_| {})
        .unwrap_err()
        .to_string();
    assert!(err.contains("shard 2/2"), "{err}");

    // The report: every run in the CSV, one row per arm and size with both seeds.
    let rows = write_report(&root, &["slow".into(), "fast".into()]).unwrap();
    assert_eq!(rows.len(), 4);
    assert!(rows.iter().all(|r| r.seeds == vec![1, 2]));
    let csv = std::fs::read_to_string(root.join("curve.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 8, "{csv}");
    let table = std::fs::read_to_string(root.join("curve.md")).unwrap();
    assert!(table.contains("| labels | slow | fast |"), "{table}");
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary.as_array().unwrap().len(), 4);
    assert!(rows.iter().all(|r| r.dataset == "texts"));
    let png = std::fs::read(root.join(FIGURE_FILE)).unwrap();
    assert_eq!(&png[..4], b"\x89PNG");
}
