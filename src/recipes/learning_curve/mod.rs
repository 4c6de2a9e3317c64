//! Learning curves: test accuracy against the number of labelled training examples, for several
//! starts of one classifier ("arms": from scratch, from a pre-trained checkpoint, from a
//! domain-adapted one), each point repeated over seeds on one fixed split, so that every run of
//! a dataset is tested on the same texts. The question it answers is the one of
//! docs/pretraining.md: where does pre-training pay, and by how much.
//!
//! Every point is an ordinary `text_classification` run directory,
//! `ROOT/DATASET/ARM/nN-sSEED` (`all-sSEED` for the whole training split); a point whose
//! `summary.json` exists is read rather than run again, so a curve is resumable and can be run
//! in shards by several processes. [`report`] gathers the points into a table and a figure.

pub mod report;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tinderbox_data::text::TextSource;
use tinderbox_train::read_json;

use crate::Error;
use crate::recipes::text_classification::{TextRunConfig, TextRunSummary, train_and_test};

/// The file, in each arm's folder, holding the configuration its points were trained with.
pub const ARM_CONFIG_FILE: &str = "arm.json";

/// One start of the classifier.
#[derive(Debug, Clone, PartialEq)]
pub struct CurveArm {
    /// Its name in folders, tables and the figure (`scratch`, `pre-trained`, ...).
    pub name: String,
    /// The run every point of the arm makes, before its size and seed are set.
    pub config: TextRunConfig,
}

/// Which points one process runs: those whose index modulo `count` is `index`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// This process's share.
    pub index: usize,
    /// How many processes share the curve.
    pub count: usize,
}

impl Shard {
    /// The whole curve in one process.
    pub const ALL: Shard = Shard { index: 0, count: 1 };
}

/// The points of a learning curve.
#[derive(Debug, Clone, PartialEq)]
pub struct CurvePlan {
    /// The arms, each with its own configuration (same dataset and split seed for all).
    pub arms: Vec<CurveArm>,
    /// Training examples per point; `None` is the whole training split.
    pub sizes: Vec<Option<usize>>,
    /// The seeds of each point (subset, weights, order; not the split).
    pub seeds: Vec<u64>,
}

/// One finished point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CurveResult {
    /// The dataset's name.
    pub dataset: String,
    /// The arm's name.
    pub arm: String,
    /// Training examples the run had.
    pub labels: usize,
    /// Its seed.
    pub seed: u64,
    /// Test accuracy.
    pub test_accuracy: f64,
    /// Test macro-F1.
    pub test_macro_f1: f64,
    /// Validation accuracy of the epoch that was tested.
    pub valid_accuracy: Option<f64>,
    /// Seconds of training.
    pub train_seconds: f64,
    /// The run directory.
    pub dir: PathBuf,
}

impl CurvePlan {
    /// Checks that the plan can run: arms with distinct, folder-safe names, on one dataset
    /// and one split; sizes and seeds given.
    pub fn validate(&self) -> Result<(), Error> {
        let invalid = |reason: String| Err(Error::Invalid(reason));
        if self.arms.is_empty() || self.sizes.is_empty() || self.seeds.is_empty() {
            return invalid("a learning curve needs at least one arm, size and seed".into());
        }
        for (i, arm) in self.arms.iter().enumerate() {
            let safe = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
            if arm.name.is_empty() || !arm.name.chars().all(safe) {
                return invalid(format!(
                    "arm name {:?}: use letters, digits, '-' and '_'",
                    arm.name
                ));
            }
            if self.arms[..i].iter().any(|a| a.name == arm.name) {
                return invalid(format!("two arms are named {:?}", arm.name));
            }
            let first = &self.arms[0].config;
            if arm.config.source != first.source || split_seed(&arm.config) != split_seed(first) {
                return invalid(format!(
                    "arm {:?} has another dataset or split than arm {:?}: a curve's arms must \
                     be tested on the same texts",
                    arm.name, self.arms[0].name
                ));
            }
        }
        if self.sizes.contains(&Some(0)) {
            return invalid("a point of 0 training examples cannot train".into());
        }
        Ok(())
    }

    /// Every point as (arm, size, seed), sizes outermost and arms innermost, so that a curve
    /// stopped early (or one shard) has the arms side by side.
    pub fn points(&self) -> Vec<(&CurveArm, Option<usize>, u64)> {
        let mut points = Vec::new();
        for &size in &self.sizes {
            for &seed in &self.seeds {
                for arm in &self.arms {
                    points.push((arm, size, seed));
                }
            }
        }
        points
    }
}

/// The folder (and table) name of a run's dataset: a packaged dataset's name, or the last
/// component of a user's file or folder (whose full path would escape the curve's folder).
pub fn dataset_name(source: &TextSource) -> String {
    match source {
        TextSource::File { path, .. } | TextSource::Folder { path } => path
            .file_stem()
            .map(|n| n.to_string_lossy().into_owned())
            .filter(|n| !n.is_empty() && n != "..")
            .unwrap_or_else(|| "data".into()),
        packaged => packaged.to_string(),
    }
}

/// The split seed a run draws with.
fn split_seed(config: &TextRunConfig) -> u64 {
    config.split_seed.unwrap_or(config.train.seed)
}

/// The run directory of a point.
pub fn point_dir(root: &Path, dataset: &str, arm: &str, size: Option<usize>, seed: u64) -> PathBuf {
    let size = size.map_or("all".to_string(), |n| format!("n{n}"));
    root.join(dataset).join(arm).join(format!("{size}-s{seed}"))
}

/// Runs this shard's points of `plan` under `root` (skipping those already finished) and
/// returns them, calling `done` after each. Refuses an arm folder whose `arm.json` records
/// another configuration, so that results of other settings are never mixed into a curve.
pub fn run_learning_curve(
    plan: &CurvePlan,
    root: &Path,
    shard: Shard,
    mut done: impl FnMut(&CurveResult),
) -> Result<Vec<CurveResult>, Error> {
    plan.validate()?;
    if shard.count == 0 || shard.index >= shard.count {
        return Err(Error::Invalid(format!(
            "shard {}/{}: the index must be below the count",
            shard.index, shard.count
        )));
    }
    for arm in &plan.arms {
        check_arm_config(root, arm)?;
    }
    let mut results = Vec::new();
    for (i, (arm, size, seed)) in plan.points().into_iter().enumerate() {
        if i % shard.count != shard.index {
            continue;
        }
        let dataset = dataset_name(&arm.config.source);
        let dir = point_dir(root, &dataset, &arm.name, size, seed);
        let summary: TextRunSummary = if dir.join("summary.json").is_file() {
            read_json(&dir.join("summary.json"))?
        } else {
            let mut config = arm.config.clone();
            config.train_examples = size;
            config.train.seed = seed;
            config.split_seed = Some(split_seed(&arm.config));
            train_and_test(&config, &dir, false)?
        };
        let result = CurveResult {
            dataset,
            arm: arm.name.clone(),
            labels: summary.examples[0],
            seed,
            test_accuracy: summary.test_accuracy,
            test_macro_f1: summary.test_macro_f1,
            valid_accuracy: summary.best_valid_accuracy,
            train_seconds: summary.train_seconds,
            dir,
        };
        done(&result);
        results.push(result);
    }
    Ok(results)
}

/// Writes the arm's configuration to `ROOT/DATASET/ARM/arm.json`, or checks that the one there
/// is the same (compared as written text, so floats need no parsing).
fn check_arm_config(root: &Path, arm: &CurveArm) -> Result<(), Error> {
    let folder = root.join(dataset_name(&arm.config.source)).join(&arm.name);
    let path = folder.join(ARM_CONFIG_FILE);
    let json = serde_json::to_string_pretty(&arm.config)
        .map_err(|e| Error::Invalid(format!("cannot write the arm's configuration: {e}")))?;
    match std::fs::read_to_string(&path) {
        Ok(saved) if saved == json => Ok(()),
        Ok(_) => Err(Error::Invalid(format!(
            "{} records other settings than this arm {:?}: its points were trained otherwise; \
             use another --out or remove the folder",
            path.display(),
            arm.name
        ))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(&folder)
                .map_err(|e| Error::Invalid(format!("cannot create {}: {e}", folder.display())))?;
            Ok(tinderbox_io::write_atomic(&path, json.as_bytes())?)
        }
        Err(e) => Err(Error::Invalid(format!(
            "cannot read {}: {e}",
            path.display()
        ))),
    }
}
