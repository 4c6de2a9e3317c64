//! A learning curve's points gathered from its run directories into a table (`curve.csv` with
//! every run, `curve.md` with means and spreads) and a figure (`learning_curves.png`, one
//! panel per dataset, labelled examples on a log axis).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use tinderbox_train::{SpreadCurve, SpreadPanel, SpreadPoint, plot_spread_panels, read_json};

use super::CurveResult;
use crate::Error;
use crate::recipes::text_classification::{TextRunSummary, load_run_config};

/// The figure a report draws.
pub const FIGURE_FILE: &str = "learning_curves.png";

/// The runs of one arm at one size on one dataset.
#[derive(Debug, Clone, PartialEq)]
pub struct CurveRow {
    /// The dataset.
    pub dataset: String,
    /// The arm.
    pub arm: String,
    /// Training examples.
    pub labels: usize,
    /// Test accuracies, in seed order.
    pub accuracies: Vec<f64>,
    /// Their seeds.
    pub seeds: Vec<u64>,
}

impl CurveRow {
    /// The mean test accuracy.
    pub fn mean(&self) -> f64 {
        self.accuracies.iter().sum::<f64>() / self.accuracies.len().max(1) as f64
    }

    /// The sample standard deviation (0 for a single run).
    pub fn std(&self) -> f64 {
        let n = self.accuracies.len();
        if n < 2 {
            return 0.0;
        }
        let mean = self.mean();
        let squares: f64 = self.accuracies.iter().map(|a| (a - mean).powi(2)).sum();
        (squares / (n - 1) as f64).sqrt()
    }
}

/// Every finished point under `root` (`DATASET/ARM/POINT/summary.json`), sorted by dataset,
/// arm, size and seed. Unfinished points (no `summary.json`) are skipped.
pub fn collect_results(root: &Path) -> Result<Vec<CurveResult>, Error> {
    let mut results = Vec::new();
    for dataset_dir in sub_dirs(root)? {
        for arm_dir in sub_dirs(&dataset_dir)? {
            for dir in sub_dirs(&arm_dir)? {
                let summary_file = dir.join("summary.json");
                if !summary_file.is_file() {
                    continue;
                }
                let summary: TextRunSummary = read_json(&summary_file)?;
                let config = load_run_config(&dir)?;
                results.push(CurveResult {
                    dataset: file_name(&dataset_dir),
                    arm: file_name(&arm_dir),
                    labels: summary.examples[0],
                    seed: config.train.seed,
                    test_accuracy: summary.test_accuracy,
                    test_macro_f1: summary.test_macro_f1,
                    valid_accuracy: summary.best_valid_accuracy,
                    train_seconds: summary.train_seconds,
                    dir,
                });
            }
        }
    }
    results.sort_by(|a, b| {
        (&a.dataset, &a.arm, a.labels, a.seed).cmp(&(&b.dataset, &b.arm, b.labels, b.seed))
    });
    Ok(results)
}

/// The results grouped by dataset, arm and size.
pub fn curve_rows(results: &[CurveResult]) -> Vec<CurveRow> {
    let mut groups: BTreeMap<(String, String, usize), CurveRow> = BTreeMap::new();
    for r in results {
        let row = groups
            .entry((r.dataset.clone(), r.arm.clone(), r.labels))
            .or_insert_with(|| CurveRow {
                dataset: r.dataset.clone(),
                arm: r.arm.clone(),
                labels: r.labels,
                accuracies: Vec::new(),
                seeds: Vec::new(),
            });
        row.accuracies.push(r.test_accuracy);
        row.seeds.push(r.seed);
    }
    groups.into_values().collect()
}

/// A markdown table per dataset: one line per size, one column per arm (`mean ± std (runs)`),
/// arms in the order given (others after, by name).
pub fn markdown_table(rows: &[CurveRow], arm_order: &[String]) -> String {
    let mut out = String::new();
    let datasets: Vec<&str> = dedup(rows.iter().map(|r| r.dataset.as_str()));
    for dataset in datasets {
        let here: Vec<&CurveRow> = rows.iter().filter(|r| r.dataset == dataset).collect();
        let mut arms: Vec<&str> = arm_order
            .iter()
            .map(String::as_str)
            .filter(|a| here.iter().any(|r| r.arm == *a))
            .collect();
        for r in &here {
            if !arms.contains(&r.arm.as_str()) {
                arms.push(&r.arm);
            }
        }
        let mut sizes: Vec<usize> = here.iter().map(|r| r.labels).collect();
        sizes.sort_unstable();
        sizes.dedup();
        out.push_str(&format!(
            "\n{dataset}\n\n| labels | {} |\n|---|",
            arms.join(" | ")
        ));
        out.push_str(&"---|".repeat(arms.len()));
        out.push('\n');
        for size in sizes {
            out.push_str(&format!("| {size} |"));
            for arm in &arms {
                match here.iter().find(|r| r.labels == size && r.arm == *arm) {
                    Some(r) => out.push_str(&format!(
                        " {:.3} ± {:.3} ({}) |",
                        r.mean(),
                        r.std(),
                        r.accuracies.len()
                    )),
                    None => out.push_str(" |"),
                }
            }
            out.push('\n');
        }
    }
    out
}

/// Writes `curve.csv`, `curve.md`, `summary.json` (the rows with their means and spreads) and
/// the figure into `root` from every finished point there; returns the rows.
pub fn write_report(root: &Path, arm_order: &[String]) -> Result<Vec<CurveRow>, Error> {
    let results = collect_results(root)?;
    let rows = curve_rows(&results);
    let mut csv = String::from(
        "dataset,arm,labels,seed,test_accuracy,test_macro_f1,valid_accuracy,train_seconds\n",
    );
    for r in &results {
        csv.push_str(&format!(
            "{},{},{},{},{:.6},{:.6},{},{:.1}\n",
            r.dataset,
            r.arm,
            r.labels,
            r.seed,
            r.test_accuracy,
            r.test_macro_f1,
            r.valid_accuracy
                .map_or(String::new(), |v| format!("{v:.6}")),
            r.train_seconds
        ));
    }
    tinderbox_io::write_atomic(&root.join("curve.csv"), csv.as_bytes())?;
    tinderbox_io::write_atomic(
        &root.join("curve.md"),
        markdown_table(&rows, arm_order).as_bytes(),
    )?;
    let summary: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| {
            serde_json::json!({
                "dataset": r.dataset, "arm": r.arm, "labels": r.labels,
                "runs": r.accuracies.len(), "mean_test_accuracy": r.mean(),
                "std_test_accuracy": r.std(), "test_accuracies": r.accuracies, "seeds": r.seeds,
            })
        })
        .collect();
    let json = serde_json::to_vec_pretty(&summary)
        .map_err(|e| Error::Invalid(format!("cannot write the curve's summary: {e}")))?;
    tinderbox_io::write_atomic(&root.join("summary.json"), &json)?;
    let panels: Vec<SpreadPanel> = dedup(rows.iter().map(|r| r.dataset.as_str()))
        .into_iter()
        .map(|dataset| {
            let here: Vec<&CurveRow> = rows.iter().filter(|r| r.dataset == dataset).collect();
            let mut arms: Vec<&str> = arm_order.iter().map(String::as_str).collect();
            arms.extend(dedup(here.iter().map(|r| r.arm.as_str())));
            let arms = dedup(arms.into_iter());
            let curves = arms
                .into_iter()
                .filter_map(|arm| {
                    let points: Vec<SpreadPoint> = here
                        .iter()
                        .filter(|r| r.arm == arm)
                        .map(|r| SpreadPoint {
                            x: r.labels as f64,
                            mean: r.mean(),
                            low: r.accuracies.iter().copied().fold(f64::INFINITY, f64::min),
                            high: r
                                .accuracies
                                .iter()
                                .copied()
                                .fold(f64::NEG_INFINITY, f64::max),
                        })
                        .collect();
                    (!points.is_empty()).then(|| SpreadCurve {
                        name: arm.to_string(),
                        points,
                    })
                })
                .collect();
            SpreadPanel {
                title: dataset.to_string(),
                curves,
            }
        })
        .collect();
    plot_spread_panels(
        &panels,
        "labelled training examples",
        "test accuracy (mean, lowest to highest seed)",
        true,
        &root.join(FIGURE_FILE),
    )?;
    Ok(rows)
}

/// The items in first-seen order without repeats.
fn dedup<'a>(items: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut seen: Vec<&str> = Vec::new();
    for item in items {
        if !seen.contains(&item) {
            seen.push(item);
        }
    }
    seen
}

/// The folders directly inside `dir`, by name; none if `dir` does not exist.
fn sub_dirs(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(Error::Invalid(format!(
                "cannot read {}: {e}",
                dir.display()
            )));
        }
    };
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    Ok(dirs)
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(dataset: &str, arm: &str, labels: usize, seed: u64, acc: f64) -> CurveResult {
        CurveResult {
            dataset: dataset.into(),
            arm: arm.into(),
            labels,
            seed,
            test_accuracy: acc,
            test_macro_f1: acc,
            valid_accuracy: None,
            train_seconds: 1.0,
            dir: PathBuf::new(),
        }
    }

    #[test]
    fn rows_group_seeds_with_mean_and_sample_spread() {
        let results = vec![
            result("bbc", "scratch", 100, 1, 0.5),
            result("bbc", "scratch", 100, 2, 0.7),
            result("bbc", "scratch", 100, 3, 0.6),
            result("bbc", "pre", 100, 1, 0.8),
            result("bbc", "scratch", 300, 1, 0.9),
        ];
        let rows = curve_rows(&results);
        assert_eq!(rows.len(), 3);
        let scratch = rows
            .iter()
            .find(|r| r.arm == "scratch" && r.labels == 100)
            .unwrap();
        assert_eq!(scratch.seeds, vec![1, 2, 3]);
        assert!((scratch.mean() - 0.6).abs() < 1e-12);
        // Sample standard deviation of 0.5, 0.7, 0.6 is 0.1.
        assert!((scratch.std() - 0.1).abs() < 1e-12);
        let one = rows.iter().find(|r| r.arm == "pre").unwrap();
        assert_eq!(one.std(), 0.0);

        let table = markdown_table(&rows, &["scratch".into(), "pre".into()]);
        assert!(table.contains("| labels | scratch | pre |"), "{table}");
        assert!(
            table.contains("| 100 | 0.600 ± 0.100 (3) | 0.800 ± 0.000 (1) |"),
            "{table}"
        );
        assert!(table.contains("| 300 | 0.900 ± 0.000 (1) | |"), "{table}");
    }

    #[test]
    fn a_missing_root_has_no_results() {
        let dir = tempfile::tempdir().unwrap();
        assert!(
            collect_results(&dir.path().join("none"))
                .unwrap()
                .is_empty()
        );
    }
}
