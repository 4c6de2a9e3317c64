//! Why a saved run classifies a text as it does: attributions of the predicted class's
//! probability to the text's tokens, by any method of `tinderbox_explain`, and the deletion
//! test of how faithful each method is on the run's test texts.

use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::data::dataloader::batcher::Batcher;
use burn::module::Module;
use burn::prelude::*;
use serde::Serialize;
use tinderbox_data::text::TextItem;
use tinderbox_explain::deletion::{aopc, deletion_curve, random_order};
use tinderbox_explain::render::{HtmlText, html_page, terminal_line};
use tinderbox_explain::text::{TokenizedText, explain_text, text_probabilities, text_scores};
use tinderbox_explain::{ExplainConfig, Method};
use tinderbox_tokenize::{EncodeOptions, TextTokenizer, Tokenizer};
use tinderbox_train::{CONFIG_FILE, RunDir};

use super::config::TextRunConfig;
use super::encoder::{TextClassifier, saved_classifier};
use super::evaluate::test_split;
use super::predict::open_run;
use super::tokens::{batcher, encode_options};
use crate::Error;
use crate::backend::default_device;

/// One text's explanation, as `--explain --json` prints it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TextExplanation {
    /// The text.
    pub text: String,
    /// The tokens explained (padding and special tokens left out), in order.
    pub tokens: Vec<String>,
    /// The ids the model read (padded as in training).
    pub ids: Vec<u32>,
    /// True where `ids` is padding.
    pub mask_pad: Vec<bool>,
    /// Where each explained token sits in `ids`.
    pub positions: Vec<usize>,
    /// One attribution per token.
    pub attributions: Vec<f32>,
    /// The method.
    pub method: Method,
    /// The predicted (explained) label.
    pub label: String,
    /// Its probability.
    pub probability: f32,
    /// The explained score (the label's probability).
    pub score: f32,
    /// The label's probability with every token replaced by padding.
    pub baseline_score: f32,
    /// `Σ attributions - (score - baseline_score)`, for the methods whose attributions are
    /// meant to add up (not saliency or rollout).
    pub completeness_gap: Option<f32>,
    /// The text was longer than the run reads: the explanation covers what the model saw.
    pub truncated: bool,
    /// Seconds the explanation took.
    pub seconds: f64,
}

impl TextExplanation {
    /// For a terminal: the label, its probability and the method, then the tokens coloured by
    /// attribution (`colour`) or followed by their values.
    pub fn describe(&self, colour: bool) -> String {
        format!(
            "{}\n  {}",
            self.headline(),
            terminal_line(&self.tokens, &self.attributions, colour)
        )
    }

    /// The label, its probability, the method, the baseline's probability, the completeness
    /// gap and whether the text was cut.
    pub fn headline(&self) -> String {
        let gap = self
            .completeness_gap
            .map_or(String::new(), |g| format!(", completeness gap {g:+.4}"));
        let cut = if self.truncated {
            ", text cut to the run's length"
        } else {
            ""
        };
        format!(
            "{} {:.3} by {} (baseline {:.3}{gap}{cut})",
            self.label, self.probability, self.method, self.baseline_score
        )
    }
}

/// A saved text-classification run ready to explain texts.
pub struct TextExplainer {
    config: TextRunConfig,
    tokenizer: Tokenizer,
    class_names: Vec<String>,
    /// On an autodiff device, frozen: for the gradient methods.
    differentiable: TextClassifier,
    /// The same weights on the plain device: for the perturbation methods.
    plain: TextClassifier,
    baseline_id: u32,
    special: Vec<u32>,
}

impl TextExplainer {
    /// Opens the run in `dir` (its configuration, tokenizer, classes and model).
    pub fn open(dir: &Path) -> Result<Self, Error> {
        let (run, config, summary, tokenizer) = open_run(dir)?;
        let specials = tokenizer.special_tokens();
        let baseline_id = specials
            .pad
            .as_ref()
            .ok_or_else(|| Error::Invalid("the run's tokenizer has no padding token".into()))?
            .id;
        let special = [&specials.pad, &specials.cls, &specials.sep]
            .into_iter()
            .flatten()
            .map(|t| t.id)
            .collect();
        let device = default_device().autodiff();
        let classes = summary.class_names.len();
        let differentiable = saved_classifier(&run, &config, classes, &device)?.freeze();
        let plain = differentiable.valid();
        Ok(Self {
            config,
            tokenizer,
            class_names: summary.class_names,
            differentiable,
            plain,
            baseline_id,
            special,
        })
    }

    /// The class names of the run.
    pub fn class_names(&self) -> &[String] {
        &self.class_names
    }

    /// The text as the model reads it (padded as in training), its explained tokens, and
    /// whether it was cut to the run's length.
    pub fn tokenize(&self, text: &str) -> Result<(TokenizedText, Vec<String>, bool), Error> {
        let options = encode_options(&self.config);
        let encoded = self.tokenizer.encode_batch(&[text], &options)?;
        let full = self.tokenizer.encode_batch(
            &[text],
            &EncodeOptions {
                max_length: None,
                ..options
            },
        )?;
        let truncated = full.ids[0].len() > encoded.ids[0].len();
        let tokens = encoded.tokens[0].clone();
        let ids = encoded.ids[0].clone();
        // The batcher pads exactly as training did (to the fixed length, on the run's side).
        let batch = batcher(&self.config, &self.tokenizer)?
            .batch(vec![TextItem::new(ids.clone(), 0)], &default_device());
        let padded: Vec<u32> = read(batch.ids.into_data().convert::<i64>())?
            .into_iter()
            .map(|id: i64| id as u32)
            .collect();
        let mask_pad: Vec<bool> = batch
            .mask_pad
            .into_data()
            .try_into_vec::<bool>()
            .map_err(|e| Error::Invalid(format!("reading the padding mask: {e:?}")))?;
        // Where the unpadded ids sit in the padded row.
        let start = (0..=padded.len().saturating_sub(ids.len()))
            .find(|&s| {
                padded[s..].starts_with(&ids) && mask_pad[s..s + ids.len()].iter().all(|p| !p)
            })
            .unwrap_or(0);
        let mut features = Vec::new();
        let mut words = Vec::new();
        for (k, (&id, token)) in ids.iter().zip(tokens).enumerate() {
            if !self.special.contains(&id) {
                features.push(start + k);
                words.push(token);
            }
        }
        Ok((
            TokenizedText {
                ids: padded,
                mask_pad,
                features,
                baseline_id: self.baseline_id,
            },
            words,
            truncated,
        ))
    }

    /// Explains the predicted label of `text`.
    pub fn explain(&self, text: &str, config: &ExplainConfig) -> Result<TextExplanation, Error> {
        let started = Instant::now();
        let (tokenized, tokens, truncated) = self.tokenize(text)?;
        if tokenized.features.is_empty() {
            return Err(Error::Invalid(format!(
                "nothing to explain in {text:?}: it has no token the run's tokenizer knows \
                 apart from padding and special tokens"
            )));
        }
        let probs = text_probabilities(&self.plain, &tokenized)?;
        let target = argmax(&probs);
        let attribution = if config.method.uses_gradients() {
            explain_text(&self.differentiable, &tokenized, target, config)?
        } else {
            explain_text(&self.plain, &tokenized, target, config)?
        };
        Ok(TextExplanation {
            text: text.to_string(),
            tokens,
            ids: tokenized.ids.clone(),
            mask_pad: tokenized.mask_pad.clone(),
            positions: tokenized.features.clone(),
            completeness_gap: config
                .method
                .is_additive()
                .then(|| attribution.completeness_gap()),
            attributions: attribution.values,
            method: config.method,
            label: self.class_names[target].clone(),
            probability: probs[target],
            score: attribution.score,
            baseline_score: attribution.baseline_score,
            truncated,
            seconds: started.elapsed().as_secs_f64(),
        })
    }

    /// The deletion curve of `explanation`'s ranking (most positive first) and of a seeded
    /// random order, `steps` tokens deep.
    pub fn deletion(
        &self,
        explanation: &TextExplanation,
        steps: usize,
        seed: u64,
    ) -> Result<(Vec<f32>, Vec<f32>), Error> {
        let (tokenized, _, _) = self.tokenize(&explanation.text)?;
        let target = self
            .class_names
            .iter()
            .position(|c| *c == explanation.label)
            .unwrap_or(0);
        let mut scorer = |masks: &[Vec<bool>]| {
            let rows: Vec<Vec<u32>> = masks.iter().map(|m| tokenized.masked_ids(m)).collect();
            text_scores(&self.plain, &tokenized, &rows, target)
        };
        let mut order: Vec<usize> = (0..explanation.attributions.len()).collect();
        order.sort_by(|&a, &b| explanation.attributions[b].total_cmp(&explanation.attributions[a]));
        let by_method = deletion_curve(&order, steps, &mut scorer, 64)?;
        let random = deletion_curve(&random_order(order.len(), seed), steps, &mut scorer, 64)?;
        Ok((by_method, random))
    }
}

/// Explains the predicted label of each of `texts` with the run in `dir`.
pub fn explain(
    dir: &Path,
    texts: &[String],
    config: &ExplainConfig,
) -> Result<Vec<TextExplanation>, Error> {
    let explainer = TextExplainer::open(dir)?;
    texts.iter().map(|t| explainer.explain(t, config)).collect()
}

/// The first `n` texts of the run's test split (as `split.json` saved it).
pub fn test_texts(dir: &Path, n: usize) -> Result<Vec<String>, Error> {
    let run = RunDir::open(dir)?;
    let config: TextRunConfig = run.read_json(CONFIG_FILE)?;
    let test = test_split(&run, &config)?;
    Ok(test.texts.into_iter().take(n).collect())
}

/// One method's row of the deletion table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FaithfulnessRow {
    /// The method.
    pub method: Method,
    /// Mean AOPC over the texts, removing tokens in the method's order.
    pub aopc: f64,
    /// Mean AOPC removing the same number of tokens in a random order.
    pub random_aopc: f64,
    /// Mean absolute completeness gap (`None` for saliency and rollout).
    pub mean_abs_completeness_gap: Option<f64>,
    /// Median seconds per explanation.
    pub median_seconds: f64,
    /// The mean deletion curve (probability after removing `k` tokens, `k = 0..=steps`; texts
    /// shorter than `k` tokens keep their last value).
    pub mean_curve: Vec<f64>,
}

/// The deletion table as Markdown.
pub fn faithfulness_table(rows: &[FaithfulnessRow]) -> String {
    let mut out = String::from(
        "| method | AOPC | random order | mean abs completeness gap | median ms |\n|---|---|---|---|---|\n",
    );
    for r in rows {
        out.push_str(&format!(
            "| {} | {:.4} | {:.4} | {} | {:.1} |\n",
            r.method,
            r.aopc,
            r.random_aopc,
            r.mean_abs_completeness_gap
                .map_or("-".to_string(), |g| format!("{g:.4}")),
            r.median_seconds * 1e3
        ));
    }
    out
}

/// The deletion test of every method in `methods` on the first `texts` test texts of the run
/// in `dir` (its saved split), removing up to `steps` tokens.
pub fn faithfulness(
    dir: &Path,
    texts: usize,
    methods: &[Method],
    base: &ExplainConfig,
    steps: usize,
) -> Result<Vec<FaithfulnessRow>, Error> {
    let explainer = TextExplainer::open(dir)?;
    // Twice as many as asked: a text without a known token is skipped.
    let test = test_texts(dir, 2 * texts)?;
    let mut rows = Vec::new();
    for &method in methods {
        let config = ExplainConfig {
            method,
            ..base.clone()
        };
        let (mut aopcs, mut randoms, mut gaps, mut seconds) = (0.0, 0.0, 0.0, Vec::new());
        let mut curve = vec![0.0; steps + 1];
        let mut count = 0;
        for (i, text) in test.iter().enumerate() {
            if count == texts {
                break;
            }
            // A test text without a token (once special tokens are left out) has nothing to
            // remove.
            if explainer.tokenize(text)?.0.features.is_empty() {
                continue;
            }
            let e = explainer.explain(text, &config)?;
            let (ours, random) = explainer.deletion(&e, steps, base.seed + i as u64)?;
            aopcs += aopc(&ours) as f64;
            randoms += aopc(&random) as f64;
            gaps += e.completeness_gap.map_or(f64::NAN, |g| g.abs() as f64);
            seconds.push(e.seconds);
            for (k, c) in curve.iter_mut().enumerate() {
                *c += *ours.get(k).or(ours.last()).unwrap_or(&0.0) as f64;
            }
            count += 1;
        }
        let n = count.max(1) as f64;
        seconds.sort_by(f64::total_cmp);
        rows.push(FaithfulnessRow {
            method,
            aopc: aopcs / n,
            random_aopc: randoms / n,
            mean_abs_completeness_gap: method.is_additive().then_some(gaps / n),
            median_seconds: seconds.get(seconds.len() / 2).copied().unwrap_or(0.0),
            mean_curve: curve.into_iter().map(|c| c / n).collect(),
        });
    }
    Ok(rows)
}

fn argmax(p: &[f32]) -> usize {
    (0..p.len())
        .max_by(|&a, &b| p[a].total_cmp(&p[b]))
        .unwrap_or(0)
}

fn read(data: TensorData) -> Result<Vec<i64>, Error> {
    data.try_into_vec::<i64>()
        .map_err(|e| Error::Invalid(format!("reading token ids: {e:?}")))
}

/// Writes `explanations.html` (the tokens highlighted) and `summary.json` (every explanation)
/// into `out`, creating it; returns the page's path.
pub fn save_explanations(out: &Path, explanations: &[TextExplanation]) -> Result<PathBuf, Error> {
    let run = RunDir::create(out)?;
    let texts: Vec<HtmlText<'_>> = explanations
        .iter()
        .map(|e| HtmlText {
            tokens: &e.tokens,
            values: &e.attributions,
            caption: e.headline(),
        })
        .collect();
    let page = run.file("explanations.html");
    tinderbox_io::write_atomic(&page, html_page("Why these labels", &texts).as_bytes())?;
    run.write_json("summary.json", &explanations)?;
    Ok(page)
}

/// Writes the classifier saved in the run `dir` to `file` as safetensors in PyTorch's layouts
/// (linear weights `[out, in]`, LayerNorm `weight`/`bias`, Hugging Face's BERT names under
/// `encoder.Bert.`), so that `benches/compare/explain_reference.py` can run Captum, SHAP and
/// LIME on the same weights.
pub fn export_weights(dir: &Path, file: &Path) -> Result<(), Error> {
    let explainer = TextExplainer::open(dir)?;
    tinderbox_nn::huggingface::save_safetensors(
        &explainer.plain,
        file,
        &tinderbox_nn::huggingface::BERT_KEYS,
    )?;
    Ok(())
}
