//! Rotary position embeddings (Su et al. 2021, "RoFormer") as Llama applies them: the head's
//! first and second halves rotated as pairs (`rotate_half`), with frequencies
//! `theta^(-2i/d)` and the configuration's scaling.
//!
//! Reference: `transformers` 5.25, `modeling_llama.py` `LlamaRotaryEmbedding` and
//! `apply_rotary_pos_emb`, `modeling_rope_utils.py` (`default`, `linear`, `llama3`).

use burn::prelude::*;
use serde::{Deserialize, Serialize};

/// How the frequencies are stretched for contexts longer than the model trained on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(tag = "rope_type", rename_all = "lowercase")]
pub enum RopeScaling {
    /// None.
    #[default]
    Default,
    /// Positions divided by `factor`.
    Linear {
        /// The divisor.
        factor: f64,
    },
    /// Llama 3.1's: low frequencies divided by `factor`, high ones kept, a smooth blend between.
    Llama3 {
        /// The divisor of the low frequencies.
        factor: f64,
        /// Wavelengths shorter than `original / high_freq_factor` are kept.
        low_freq_factor: f64,
        /// Wavelengths longer than `original / low_freq_factor` are divided.
        high_freq_factor: f64,
        /// The context the model was trained on.
        original_max_position_embeddings: usize,
    },
}

/// The inverse frequencies `[d / 2]` of rotary embeddings over heads of `dim` features.
pub fn inverse_frequencies(dim: usize, theta: f64, scaling: &RopeScaling) -> Vec<f32> {
    let base: Vec<f32> = (0..dim / 2)
        .map(|i| 1.0 / (theta as f32).powf((2 * i) as f32 / dim as f32))
        .collect();
    match *scaling {
        RopeScaling::Default => base,
        RopeScaling::Linear { factor } => base.iter().map(|f| f / factor as f32).collect(),
        RopeScaling::Llama3 {
            factor,
            low_freq_factor,
            high_freq_factor,
            original_max_position_embeddings,
        } => {
            let old = original_max_position_embeddings as f64;
            let (low_wavelen, high_wavelen) = (old / low_freq_factor, old / high_freq_factor);
            base.iter()
                .map(|&f| {
                    let wavelen = 2.0 * std::f64::consts::PI / f as f64;
                    if wavelen < high_wavelen {
                        f
                    } else if wavelen > low_wavelen {
                        (f as f64 / factor) as f32
                    } else {
                        let smooth = (old / wavelen - low_freq_factor)
                            / (high_freq_factor - low_freq_factor);
                        ((1.0 - smooth) * f as f64 / factor + smooth * f as f64) as f32
                    }
                })
                .collect()
        }
    }
}

/// The cosines and sines `[rows, d]` of `positions` (one per row), each half of a row repeating
/// the `d / 2` angles, as `transformers` lays them out.
pub fn rotary_tables(
    positions: &[usize],
    inv_freq: &[f32],
    device: &Device,
) -> (Tensor<2>, Tensor<2>) {
    let half = inv_freq.len();
    let mut cos = Vec::with_capacity(positions.len() * 2 * half);
    let mut sin = Vec::with_capacity(positions.len() * 2 * half);
    for &p in positions {
        for _ in 0..2 {
            for &f in inv_freq {
                let angle = p as f32 * f;
                cos.push(angle.cos());
                sin.push(angle.sin());
            }
        }
    }
    let shape = [positions.len(), 2 * half];
    (
        Tensor::from_data(TensorData::new(cos, shape), device),
        Tensor::from_data(TensorData::new(sin, shape), device),
    )
}

/// Rotates `x [B, L, heads, d]` by the tables `[B * L, d]` (row `b * L + l` for position `l` of
/// sequence `b`): `x cos + rotate_half(x) sin`.
pub fn apply_rotary(x: Tensor<4>, cos: Tensor<2>, sin: Tensor<2>) -> Tensor<4> {
    let [b, l, _, d] = x.dims();
    let (cos, sin) = (cos.reshape([b, l, 1, d]), sin.reshape([b, l, 1, d]));
    let half = d / 2;
    let first = x.clone().slice(s![.., .., .., 0..half]);
    let second = x.clone().slice(s![.., .., .., half..d]);
    let rotated = Tensor::cat(vec![second.neg(), first], 3);
    x * cos + rotated * sin
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn position_zero_is_the_identity_and_norms_are_kept() {
        let device = Device::default();
        let inv = inverse_frequencies(8, 10_000.0, &RopeScaling::Default);
        assert_eq!(inv[0], 1.0);
        assert!((inv[3] - 10_000f32.powf(-0.75)).abs() < 1e-9);
        let x = Tensor::<4>::from_floats(
            [[
                [[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]],
                [[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]],
            ]],
            &device,
        );
        let (cos, sin) = rotary_tables(&[0, 5], &inv, &device);
        let y: Vec<f32> = apply_rotary(x, cos, sin).into_data().try_to_vec().unwrap();
        assert_eq!(&y[..8], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]);
        let norm = |v: &[f32]| v.iter().map(|a| a * a).sum::<f32>();
        assert!((norm(&y[8..]) - norm(&y[..8])).abs() < 1e-3);
        // Pair (0, 4) at position 5 with frequency 1: rotated by 5 radians.
        assert!((y[8] - (1.0 * 5f32.cos() - 5.0 * 5f32.sin())).abs() < 1e-5);
    }

    #[test]
    fn llama3_scaling_keeps_high_and_divides_low_frequencies() {
        let scaling = RopeScaling::Llama3 {
            factor: 8.0,
            low_freq_factor: 1.0,
            high_freq_factor: 4.0,
            original_max_position_embeddings: 8192,
        };
        let base = inverse_frequencies(128, 500_000.0, &RopeScaling::Default);
        let scaled = inverse_frequencies(128, 500_000.0, &scaling);
        assert_eq!(scaled[0], base[0]);
        assert!((scaled[63] - base[63] / 8.0).abs() < 1e-12);
    }
}
