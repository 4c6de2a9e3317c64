//! The MNIST program end to end on a small slice of the real data: the files of a run,
//! `summary.json`, prediction from the saved run, resume, and bad input.

use tinderbox::data::vision::VisionDataset;
use tinderbox::explain::{ExplainConfig, Method};
use tinderbox::recipes::image_classification::{
    ImageRunConfig, ImageRunSummary, explain, load_run_config, predict, train_and_test,
};

fn small(epochs: usize) -> ImageRunConfig {
    let mut config = ImageRunConfig {
        limit_train: Some(640),
        valid_size: 320,
        ..ImageRunConfig::default()
    };
    config.train.epochs = epochs;
    config.train.batch_size = 64;
    config
}

#[test]
fn a_small_run_trains_tests_predicts_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let summary = train_and_test(&small(1), &out, false).unwrap();
    assert_eq!(summary.examples, [640, 320, 10_000]);
    assert_eq!(summary.epochs, 1);
    assert_eq!(summary.seconds_per_epoch.len(), 1);
    assert_eq!(summary.dataset, "mnist");
    assert!(summary.test_accuracy > 0.6, "{summary:?}");
    for file in [
        "config.json",
        "metrics.csv",
        "curves.png",
        "model.bpk",
        "summary.json",
    ] {
        assert!(out.join(file).is_file(), "{file} missing");
    }
    let saved: ImageRunSummary =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(saved, summary);
    assert_eq!(load_run_config(&out).unwrap(), small(1));

    // The saved model predicts test images: probabilities sorted and summing to at most 1.
    let predictions = predict(&out, &[0, 1, 2], 3).unwrap();
    assert_eq!(predictions[0].label, "7");
    for p in &predictions {
        assert_eq!(p.top.len(), 3);
        assert!(p.top.windows(2).all(|w| w[0].1 >= w[1].1));
        assert!(p.top.iter().map(|t| t.1).sum::<f32>() <= 1.0 + 1e-5);
    }
    let err = predict(&out, &[10_000], 3).unwrap_err().to_string();
    assert!(err.contains("test image 10000 does not exist"), "{err}");

    // Explanations: a heatmap per image and method; integrated gradients adds up.
    let shown = dir.path().join("explained");
    let mut ig = ExplainConfig::new(Method::IntegratedGradients);
    ig.samples = Some(200);
    let methods = [
        Method::IntegratedGradients,
        Method::Occlusion,
        Method::KernelShap,
    ];
    let found = explain(&out, &[0, 1], &methods, &ig, 7, &shown).unwrap();
    assert_eq!(found.len(), 6);
    for e in &found {
        assert!(e.png.is_file(), "{e:?}");
        assert_eq!((e.pixels.len(), e.heat.len()), (784, 784));
        let gap = e.completeness_gap.unwrap();
        if e.method != Method::Occlusion {
            assert!(gap.abs() < 0.01, "{}: {gap}", e.method);
        }
    }
    assert_eq!(found[1].patch, 7);
    let err = explain(&out, &[10_000], &methods, &ig, 7, &shown)
        .unwrap_err()
        .to_string();
    assert!(err.contains("test image 10000 does not exist"), "{err}");
    let err = explain(&out, &[0], &[Method::Rollout], &ig, 7, &shown)
        .unwrap_err()
        .to_string();
    assert!(err.contains("rollout needs a transformer"), "{err}");

    // Extending the finished run by one epoch continues from its checkpoint.
    let resumed = train_and_test(&small(2), &out, true).unwrap();
    assert_eq!(resumed.epochs, 2);
    let csv = std::fs::read_to_string(out.join("metrics.csv")).unwrap();
    assert_eq!(csv.lines().count(), 3, "{csv}");
}

#[test]
fn resume_and_predict_refuse_directories_that_are_not_runs() {
    let dir = tempfile::tempdir().unwrap();
    let err = load_run_config(dir.path()).unwrap_err().to_string();
    assert!(err.contains("is not a tinderbox run directory"), "{err}");
    let err = predict(&dir.path().join("nothing"), &[0], 3)
        .unwrap_err()
        .to_string();
    assert!(err.contains("no such directory"), "{err}");
}

#[test]
fn a_data_dir_without_the_files_says_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let config = ImageRunConfig {
        data_dir: Some(dir.path().to_path_buf()),
        ..small(1)
    };
    // The run directory already holds a run: its configuration survives the mistake.
    let out = dir.path().join("run");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("config.json"), "{\"earlier\": true}").unwrap();
    let err = train_and_test(&config, &out, false)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("does not hold the MNIST-format IDX files"),
        "{err}"
    );
    assert!(err.contains("t10k-labels-idx1-ubyte[.gz]"), "{err}");
    assert_eq!(
        std::fs::read_to_string(out.join("config.json")).unwrap(),
        "{\"earlier\": true}"
    );
}

#[test]
fn a_model_that_does_not_fit_the_dataset_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = small(1);
    config.model.num_classes = 7;
    config.dataset = VisionDataset::Mnist;
    let err = train_and_test(&config, dir.path(), false)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("the model has 7 outputs but mnist has 10 classes"),
        "{err}"
    );
}
