//! Starting values under which a BERT built from scratch attends to its neighbours.
//!
//! A masked-language model trained from random values first learns the unigram distribution and
//! stays there (BERT's plateau) until some heads find the neighbouring tokens; with two cores
//! and a 30-minute budget that takes longer than the run. Here the first layers' query and key
//! projections start as rotations of a [`fourier_table`] of positions, so that from the first
//! step each head looks mostly at one fixed offset (the token before, the one after, two
//! before, ...), as the previous- and next-token heads of trained BERTs do. The values and
//! everything else stay learned; only the starting point changes. The checkpoint keeps its
//! Hugging Face names and shapes.

use burn::module::Param;
use burn::prelude::*;
use serde::{Deserialize, Serialize};

use super::positions::{fourier_frequency, fourier_sign, fourier_table};
use super::{BertConfig, BertModel};
use crate::error::{ModelError, Result};

/// Which offsets the heads start on, in how many layers, and how sharply.
///
/// ```
/// use burn::prelude::*;
/// use tinderbox_nn::transformer::{BertConfig, LocalHeadsInit};
///
/// let config: BertConfig = serde_json::from_str(
///     r#"{"vocab_size": 50, "hidden_size": 16, "num_hidden_layers": 2,
///         "num_attention_heads": 2, "intermediate_size": 32, "max_position_embeddings": 12}"#,
/// ).unwrap();
/// let model = config.init(&Device::default()).unwrap();
/// let model = model.with_local_heads_init(&LocalHeadsInit::default()).unwrap();
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LocalHeadsInit {
    /// The offset each head starts on, head `h` taking `offsets[h % offsets.len()]`: -1 is the
    /// token before. Each must be shorter than half the head width.
    pub offsets: Vec<i64>,
    /// How many layers, from the first, start local.
    pub layers: usize,
    /// The attention score of a position's own offset above the others (before the softmax),
    /// for an average token at initialisation: 6 puts about two thirds of the weight there.
    pub peak_logit: f64,
}

impl Default for LocalHeadsInit {
    /// The heads of the first layer on the two tokens before and the two after.
    fn default() -> Self {
        Self {
            offsets: vec![-1, 1, -2, 2],
            layers: 1,
            peak_logit: 6.0,
        }
    }
}

impl LocalHeadsInit {
    /// Checks that the offsets, layers and sharpness fit a model built from `bert`.
    pub fn validate_for(&self, bert: &BertConfig) -> Result<()> {
        let head_width = bert.hidden_size / bert.num_attention_heads.max(1);
        let layers = bert.num_hidden_layers;
        let invalid = |field: &str, message: String| Err(ModelError::config(field, message));
        if !head_width.is_multiple_of(2) {
            return invalid(
                "hidden_size",
                format!(
                    "local attention needs an even head width (hidden_size / \
                     num_attention_heads), found {head_width}"
                ),
            );
        }
        if self.offsets.is_empty() {
            return invalid("offsets", "name at least one offset".into());
        }
        let reach = (head_width / 2) as i64;
        if let Some(bad) = self.offsets.iter().find(|d| d.abs() >= reach) {
            return invalid(
                "offsets",
                format!(
                    "{bad} is too far for heads of width {head_width}: keep within ±{}",
                    reach - 1
                ),
            );
        }
        if self.layers == 0 || self.layers > layers {
            return invalid(
                "layers",
                format!(
                    "{} is not between 1 and the model's {layers} layers",
                    self.layers
                ),
            );
        }
        if !(self.peak_logit.is_finite() && self.peak_logit > 0.0) {
            return invalid(
                "peak_logit",
                format!("{} is not a positive number", self.peak_logit),
            );
        }
        Ok(())
    }
}

impl BertModel {
    /// Restarts the position table as a [`fourier_table`] (of the word table's root mean
    /// square) and the query and key projections of the first `config.layers` layers so that
    /// head `h` attends to offset `config.offsets[h % len]`: for pre-training from scratch (see
    /// the module documentation for why).
    pub fn with_local_heads_init(mut self, config: &LocalHeadsInit) -> Result<Self> {
        let bert = self.config();
        let hidden = bert.hidden_size;
        let head_width = hidden / bert.num_attention_heads;
        config.validate_for(&bert)?;
        let pairs = head_width / 2;
        let device = self.embeddings.word_embeddings.weight.device();

        let rms = |t: Tensor<2>| f64::from(t.powi_scalar(2).mean().sqrt().into_scalar::<f32>());
        let word_rms = rms(self.embeddings.word_embeddings.weight.val());
        let type_rms = rms(self
            .embeddings
            .token_type_embeddings
            .weight
            .val()
            .slice(0..1));
        if !(word_rms.is_finite() && word_rms > 0.0) {
            return Err(ModelError::config(
                "word_embeddings",
                format!(
                    "root mean square {word_rms}: local attention sizes its start to the word \
                     table, which must be initialised and finite"
                ),
            ));
        }
        let positions = self.max_positions();
        let table = fourier_table(positions, hidden, pairs, word_rms);
        self.embeddings.position_embeddings.weight = Param::from_tensor(
            Tensor::<1>::from_floats(table.as_slice(), &device).reshape([positions, hidden]),
        );

        // The embedding LayerNorm divides word + position + type by their joint spread: each
        // sine and cosine then has this amplitude.
        let spread = (2.0 * word_rms.powi(2) + type_rms.powi(2)).sqrt();
        let amplitude = std::f64::consts::SQRT_2 * word_rms / spread;
        // A head's score at its offset is (gain * copies * amplitude)^2 * pairs / sqrt(width).
        let copies = (hidden / head_width) as f64;
        let gain = (config.peak_logit * (head_width as f64).sqrt() / pairs as f64).sqrt()
            / (copies * amplitude);

        let (query, key) = local_projections(config, hidden, head_width, gain);
        let weight = |values: &[f32]| {
            Param::from_tensor(Tensor::<1>::from_floats(values, &device).reshape([hidden, hidden]))
        };
        for layer in self.encoder.layer.iter_mut().take(config.layers) {
            let attention = &mut layer.attention.self_attn;
            attention.query.weight = weight(&query);
            attention.key.weight = weight(&key);
        }
        Ok(self)
    }
}

/// Query and key weights (`[in, out]`, burn's layout) under which head `h`'s query at position
/// `i` equals its key at `i + offset`: the key reads each sine/cosine pair as it is, the query
/// rotates it by `offset` steps of its frequency. Every copy of a frequency feeds the same pair.
fn local_projections(
    config: &LocalHeadsInit,
    hidden: usize,
    head_width: usize,
    gain: f64,
) -> (Vec<f32>, Vec<f32>) {
    let pairs = head_width / 2;
    let mut query = vec![0f32; hidden * hidden];
    let mut key = vec![0f32; hidden * hidden];
    for head in 0..hidden / head_width {
        let offset = config.offsets[head % config.offsets.len()] as f64;
        for pair in 0..hidden / 2 {
            let k = pair % pairs;
            let (sin, cos) = (fourier_frequency(k, pairs) * offset).sin_cos();
            // A negated copy is read negated, so that all copies add up.
            let gain = gain * fourier_sign(pair, pairs);
            let (s_in, c_in) = (2 * pair, 2 * pair + 1);
            let (s_out, c_out) = (head * head_width + 2 * k, head * head_width + 2 * k + 1);
            // sin(w(i + d)) = sin(wi) cos(wd) + cos(wi) sin(wd)
            // cos(w(i + d)) = cos(wi) cos(wd) - sin(wi) sin(wd)
            query[s_in * hidden + s_out] += (gain * cos) as f32;
            query[c_in * hidden + s_out] += (gain * sin) as f32;
            query[s_in * hidden + c_out] -= (gain * sin) as f32;
            query[c_in * hidden + c_out] += (gain * cos) as f32;
            key[s_in * hidden + s_out] += gain as f32;
            key[c_in * hidden + c_out] += gain as f32;
        }
    }
    (query, key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::activation::softmax;

    fn model(hidden: usize, heads: usize, layers: usize, positions: usize) -> BertModel {
        let config: BertConfig = serde_json::from_value(serde_json::json!({
            "vocab_size": 500, "hidden_size": hidden, "num_hidden_layers": layers,
            "num_attention_heads": heads, "intermediate_size": 2 * hidden,
            "max_position_embeddings": positions, "initializer_range": 0.05,
        }))
        .unwrap();
        config.init(&Device::default()).unwrap()
    }

    /// Head `head`'s attention probabilities `[L, L]` in the first layer for `ids`.
    fn first_layer_attention(model: &BertModel, ids: &[i64], head: usize) -> Vec<f32> {
        let device = Device::default();
        let l = ids.len();
        let ids = Tensor::<1, Int>::from_ints(ids, &device).reshape([1, l]);
        let x = model.embeddings.forward(ids, None);
        let attention = &model.encoder.layer[0].attention.self_attn;
        let width = model.config().hidden_size / model.config().num_attention_heads;
        let columns = head * width..(head + 1) * width;
        let q = attention
            .query
            .forward(x.clone())
            .slice([0..1, 0..l, columns.clone()]);
        let k = attention.key.forward(x).slice([0..1, 0..l, columns]);
        let scores = q.matmul(k.swap_dims(1, 2)) / (width as f64).sqrt();
        softmax(scores, 2).into_data().try_to_vec::<f32>().unwrap()
    }

    #[test]
    fn each_head_looks_mostly_at_its_offset() {
        let offsets = vec![-1, 1, -2, 2];
        let config = LocalHeadsInit {
            offsets: offsets.clone(),
            ..Default::default()
        };
        let model = model(128, 4, 2, 64).with_local_heads_init(&config).unwrap();
        let ids: Vec<i64> = (0..64).map(|i| (i * 37 % 450 + 10) as i64).collect();
        let l = ids.len();
        for (head, offset) in offsets.iter().enumerate() {
            let probabilities = first_layer_attention(&model, &ids, head);
            let (mut on_offset, mut peaks) = (0.0, 0);
            let rows = 4..l - 4;
            for i in rows.clone() {
                let row = &probabilities[i * l..(i + 1) * l];
                let target = (i as i64 + offset) as usize;
                let best = (0..l).max_by(|a, b| row[*a].total_cmp(&row[*b])).unwrap();
                peaks += usize::from(best == target);
                on_offset += row[target];
            }
            // The other weights are random (unseeded), so a rare row may peak elsewhere.
            assert!(
                peaks * 10 >= rows.len() * 9,
                "head {head}: the offset is the peak in only {peaks} of {} rows",
                rows.len()
            );
            let mean = on_offset / rows.len() as f32;
            assert!(
                mean > 0.5,
                "head {head}: {mean} of the weight on offset {offset}"
            );
        }
    }

    #[test]
    fn only_the_chosen_layers_change_and_the_positions_keep_their_shape() {
        let before = model(64, 2, 3, 32);
        let untouched = before.encoder.layer[1]
            .attention
            .self_attn
            .query
            .weight
            .val();
        let config = LocalHeadsInit {
            offsets: vec![1],
            ..Default::default()
        };
        let after = before.with_local_heads_init(&config).unwrap();
        let diff: f32 = (after.encoder.layer[1]
            .attention
            .self_attn
            .query
            .weight
            .val()
            - untouched)
            .abs()
            .max()
            .into_scalar();
        assert_eq!(diff, 0.0);
        assert_eq!(after.embeddings.position_embeddings.weight.dims(), [32, 64]);
        // Head 1 falls back on the only offset: most rows peak one position ahead (a single
        // row can lose to a random word embedding; the weights are not seeded).
        let ids: Vec<i64> = (0..32).map(|i| i + 100).collect();
        let probabilities = first_layer_attention(&after, &ids, 1);
        let ahead = (2..30)
            .filter(|&r| {
                let row = &probabilities[r * 32..(r + 1) * 32];
                (0..32).max_by(|a, b| row[*a].total_cmp(&row[*b])) == Some(r + 1)
            })
            .count();
        assert!(ahead > 20, "{ahead} of 28 rows peak at +1");
    }

    #[test]
    fn impossible_configurations_are_errors_naming_the_value() {
        let cases = [
            (
                model(30, 2, 1, 16),
                LocalHeadsInit::default(),
                "even head width",
            ),
            (
                model(32, 2, 1, 16),
                LocalHeadsInit {
                    offsets: vec![],
                    ..Default::default()
                },
                "offsets",
            ),
            (
                model(32, 2, 1, 16),
                LocalHeadsInit {
                    offsets: vec![8],
                    ..Default::default()
                },
                "8 is too far",
            ),
            (
                model(32, 2, 2, 16),
                LocalHeadsInit {
                    layers: 3,
                    ..Default::default()
                },
                "model's 2 layers",
            ),
            (
                model(32, 2, 1, 16),
                LocalHeadsInit {
                    peak_logit: f64::NAN,
                    ..Default::default()
                },
                "peak_logit",
            ),
        ];
        for (model, config, expected) in cases {
            let error = model
                .with_local_heads_init(&config)
                .unwrap_err()
                .to_string();
            assert!(error.contains(expected), "{error}");
        }
    }
}
