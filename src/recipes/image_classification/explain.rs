//! Which pixels a saved image run's prediction rests on: one PNG heatmap per test image and
//! method, beside the image.

use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::module::Module;
use serde::Serialize;
use tinderbox_explain::image::{Image, explain_image};
use tinderbox_explain::render::write_heatmap;
use tinderbox_explain::{ExplainConfig, Method};
use tinderbox_train::{CONFIG_FILE, RunDir};

use super::{ImageRunConfig, load_classifier, load_data};
use crate::Error;
use crate::backend::default_device;

/// One image and method: what was predicted and where the heatmap is.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImageExplanationSummary {
    /// Test-set index.
    pub index: usize,
    /// The true label.
    pub label: String,
    /// The predicted (explained) class.
    pub predicted: String,
    /// Its probability.
    pub probability: f32,
    /// The method.
    pub method: Method,
    /// The probability with the image black.
    pub baseline_score: f32,
    /// `Σ attributions - (probability - baseline_score)` (not for saliency).
    pub completeness_gap: Option<f32>,
    /// The side of a feature's patch (1: pixels).
    pub patch: usize,
    /// The PNG written.
    pub png: PathBuf,
    /// The image's pixels `[H, W]` in 0..1, as the model read them.
    pub pixels: Vec<f32>,
    /// Each pixel's attribution (its patch's for the perturbation methods), `[H, W]`.
    pub heat: Vec<f32>,
    /// Seconds the explanation took.
    pub seconds: f64,
}

/// Explains the predicted class of the test images `indices` with the run in `dir`, by each of
/// `methods` (perturbation methods on `patch x patch` squares), writing
/// `out/image{index}_{method}.png`.
pub fn explain(
    dir: &Path,
    indices: &[usize],
    methods: &[Method],
    base: &ExplainConfig,
    patch: usize,
    out: &Path,
) -> Result<Vec<ImageExplanationSummary>, Error> {
    let run = RunDir::open(dir)?;
    let config: ImageRunConfig = run.read_json(CONFIG_FILE).map_err(|e| {
        Error::Invalid(format!(
            "{} is not an image run directory: {e}",
            dir.display()
        ))
    })?;
    let splits = load_data(&config)?;
    let test = &splits.test;
    for &i in indices {
        if i >= test.len() {
            return Err(Error::Invalid(format!(
                "test image {i} does not exist: the test set has {} images (0 to {})",
                test.len(),
                test.len() - 1
            )));
        }
    }
    let differentiable = load_classifier(&run, &config, &default_device().autodiff())?.freeze();
    let plain = differentiable.valid();
    std::fs::create_dir_all(out)
        .map_err(|e| Error::Invalid(format!("creating {}: {e}", out.display())))?;
    let (h, w) = (test.rows(), test.cols());
    let mut summaries = Vec::new();
    for &index in indices {
        let pixels: Vec<f32> = test
            .image(index)
            .unwrap_or_default()
            .iter()
            .map(|&p| p as f32 / 255.0)
            .collect();
        let image = Image {
            pixels: pixels.clone(),
            shape: [1, h, w],
        };
        let probs = tinderbox_explain::gradients::tensor_values(plain.predict_proba(
            burn::tensor::Tensor::from_data(
                burn::tensor::TensorData::new(pixels.clone(), [1, 1, h, w]),
                &default_device(),
            ),
        ))?;
        let target = (0..probs.len())
            .max_by(|&a, &b| probs[a].total_cmp(&probs[b]))
            .unwrap_or(0);
        for &method in methods {
            let started = Instant::now();
            let config = ExplainConfig {
                method,
                ..base.clone()
            };
            let e = if method.uses_gradients() {
                explain_image(&differentiable, &image, target, &config, patch)?
            } else {
                explain_image(&plain, &image, target, &config, patch)?
            };
            let seconds = started.elapsed().as_secs_f64();
            let png = out.join(format!("image{index}_{method}.png"));
            write_heatmap(&png, &pixels, &e.heat, [h, w], 8)?;
            summaries.push(ImageExplanationSummary {
                index,
                label: splits.class_names[test.label(index).unwrap_or(0) as usize].clone(),
                predicted: splits.class_names[target].clone(),
                probability: probs[target],
                method,
                baseline_score: e.attribution.baseline_score,
                completeness_gap: method
                    .is_additive()
                    .then(|| e.attribution.completeness_gap()),
                patch: e.patch,
                png,
                pixels: pixels.clone(),
                heat: e.heat,
                seconds,
            });
        }
    }
    Ok(summaries)
}

/// Writes the CNN saved in the run `dir` to `file` as safetensors in PyTorch's layouts (for
/// `benches/compare/explain_reference.py --mnist`).
pub fn export_weights(dir: &Path, file: &Path) -> Result<(), Error> {
    let run = RunDir::open(dir)?;
    let config: ImageRunConfig = run.read_json(CONFIG_FILE)?;
    let model = load_classifier(&run, &config, &default_device())?;
    tinderbox_nn::huggingface::save_safetensors(
        &model,
        file,
        &tinderbox_nn::huggingface::BERT_KEYS,
    )?;
    Ok(())
}
