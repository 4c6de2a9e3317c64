//! The explanation options that `text_classification` and `mnist` share (`--explain RUN_DIR`).

use clap::Args;
use tinderbox_explain::{ExplainConfig, Method, Rule};

/// How to explain: the methods and their settings.
#[derive(Debug, Clone, Args)]
pub struct ExplainArgs {
    /// Attribution methods, comma-separated: ig (integrated gradients), gradxinput, saliency,
    /// occlusion, lime, kernelshap, rollout (attention rollout, transformers only).
    #[arg(long, value_delimiter = ',', default_value = "ig", value_parser = parse_method)]
    pub method: Vec<Method>,
    /// Integrated gradients' points on the path from the baseline (Gauss-Legendre, as Captum).
    #[arg(long, default_value_t = 50)]
    pub steps: usize,
    /// Perturbed inputs for lime and kernelshap [default: LIME's 5,000; KernelSHAP's
    /// 2 x features + 2,048].
    #[arg(long)]
    pub samples: Option<usize>,
    /// Inputs sent through the model at once.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u64).range(1..))]
    pub explain_batch: u64,
}

impl ExplainArgs {
    /// The settings of one of the methods asked for; `seed` (the program's `--seed`, unused by
    /// training when explaining) seeds LIME's and KernelSHAP's sampling.
    pub fn config(&self, method: Method, seed: Option<u64>) -> ExplainConfig {
        ExplainConfig {
            method,
            steps: self.steps,
            rule: Rule::GaussLegendre,
            samples: self.samples,
            seed: seed.unwrap_or(0),
            batch_size: self.explain_batch as usize,
        }
    }
}

fn parse_method(s: &str) -> Result<Method, String> {
    s.parse()
        .map_err(|e: tinderbox_explain::ExplainError| e.to_string())
}
