//! The attribution methods and their settings.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::ExplainError;
use crate::quadrature::Rule;

/// How a prediction is attributed to the input's features.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// Integrated gradients (Sundararajan et al. 2017): the gradient averaged on the straight
    /// path from a baseline to the input, times the difference. Its attributions add up to
    /// `f(x) - f(baseline)` (completeness) up to the quadrature's error.
    #[serde(rename = "ig")]
    IntegratedGradients,
    /// The gradient at the input times the input (one backward pass).
    #[serde(rename = "gradxinput")]
    GradientXInput,
    /// The gradient's magnitude at the input (unsigned; one backward pass).
    Saliency,
    /// The score's drop when one feature is replaced by the baseline.
    Occlusion,
    /// LIME (Ribeiro et al. 2016): a weighted ridge regression on random feature masks, as
    /// `lime`'s `LimeTextExplainer` does.
    Lime,
    /// KernelSHAP (Lundberg and Lee 2017): Shapley values from a weighted regression on
    /// coalitions drawn with the Shapley kernel, as `shap`'s `KernelExplainer` does.
    #[serde(rename = "kernelshap")]
    KernelShap,
    /// Attention rollout (Abnar and Zuidema 2020), transformers only: how much each token
    /// flows into the pooled positions through the layers' attention. A heuristic view of
    /// the model, not an attribution of its output (nothing adds up to the score).
    Rollout,
}

impl Method {
    /// Every method, in the order tables list them.
    pub const ALL: [Method; 7] = [
        Method::IntegratedGradients,
        Method::GradientXInput,
        Method::Saliency,
        Method::Occlusion,
        Method::Lime,
        Method::KernelShap,
        Method::Rollout,
    ];

    /// The short name used on the command line and in JSON.
    pub fn name(self) -> &'static str {
        match self {
            Method::IntegratedGradients => "ig",
            Method::GradientXInput => "gradxinput",
            Method::Saliency => "saliency",
            Method::Occlusion => "occlusion",
            Method::Lime => "lime",
            Method::KernelShap => "kernelshap",
            Method::Rollout => "rollout",
        }
    }

    /// Whether attributions are meant to add up to `score - baseline_score` (integrated
    /// gradients, KernelSHAP exactly; gradient x input, occlusion and LIME approximately), so
    /// that the completeness gap says something.
    pub fn is_additive(self) -> bool {
        !matches!(self, Method::Saliency | Method::Rollout)
    }

    /// Whether the method differentiates the model (and so needs an autodiff device).
    pub fn uses_gradients(self) -> bool {
        matches!(
            self,
            Method::IntegratedGradients | Method::GradientXInput | Method::Saliency
        )
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Method {
    type Err = ExplainError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Method::ALL
            .into_iter()
            .find(|m| m.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| ExplainError::UnknownMethod(s.to_string()))
    }
}

/// The settings of an explanation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExplainConfig {
    /// The method.
    pub method: Method,
    /// Integrated gradients' points on the path (Captum's `n_steps`, default 50).
    pub steps: usize,
    /// How the path integral is approximated (Captum's default: Gauss-Legendre).
    pub rule: Rule,
    /// Perturbed inputs scored by LIME and KernelSHAP; `None` takes each library's default
    /// (LIME 5,000; KernelSHAP `2 * features + 2048`).
    pub samples: Option<usize>,
    /// Seed of LIME's and KernelSHAP's sampling.
    pub seed: u64,
    /// Inputs sent through the model at once (path points or perturbed inputs).
    pub batch_size: usize,
}

impl ExplainConfig {
    /// `method` with the reference libraries' defaults.
    pub fn new(method: Method) -> Self {
        Self {
            method,
            steps: 50,
            rule: Rule::GaussLegendre,
            samples: None,
            seed: 0,
            batch_size: 32,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_are_listed() {
        for m in Method::ALL {
            assert_eq!(m.name().parse::<Method>().unwrap(), m);
            assert_eq!(
                serde_json::to_string(&m).unwrap(),
                format!("\"{}\"", m.name())
            );
        }
        let err = "shapley".parse::<Method>().unwrap_err().to_string();
        assert!(
            err.contains("\"shapley\"") && err.contains("kernelshap"),
            "{err}"
        );
    }
}
