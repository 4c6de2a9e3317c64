//! The feed-forward activations that Hugging Face configs name in `hidden_act`.

use burn::prelude::*;
use burn::tensor::activation::{relu, silu};
use serde::{Deserialize, Serialize};
use tinderbox_ops::{gelu, gelu_tanh};

/// A feed-forward activation, spelled as in a Hugging Face `config.json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum HiddenAct {
    /// GELU in its exact erf form, `x Φ(x)` (BERT's `"gelu"`).
    #[serde(rename = "gelu")]
    Gelu,
    /// GELU's tanh approximation (`"gelu_new"`, `"gelu_pytorch_tanh"`).
    #[serde(rename = "gelu_new", alias = "gelu_pytorch_tanh")]
    GeluTanh,
    /// `max(0, x)`.
    #[serde(rename = "relu")]
    Relu,
    /// `x σ(x)` (`"silu"`, `"swish"`).
    #[serde(rename = "silu", alias = "swish")]
    Silu,
}

impl HiddenAct {
    /// Parses a `hidden_act` value; `None` for one tinderbox does not implement.
    pub fn parse(name: &str) -> Option<Self> {
        serde_json::from_value(serde_json::Value::String(name.to_string())).ok()
    }

    /// Applies the activation.
    pub fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        match self {
            HiddenAct::Gelu => gelu(x),
            HiddenAct::GeluTanh => gelu_tanh(x),
            HiddenAct::Relu => relu(x),
            HiddenAct::Silu => silu(x),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_hugging_face_names() {
        assert_eq!(HiddenAct::parse("gelu"), Some(HiddenAct::Gelu));
        assert_eq!(
            HiddenAct::parse("gelu_pytorch_tanh"),
            Some(HiddenAct::GeluTanh)
        );
        assert_eq!(HiddenAct::parse("swish"), Some(HiddenAct::Silu));
        assert_eq!(HiddenAct::parse("quick_gelu"), None);
    }

    #[test]
    fn gelu_is_the_erf_form() {
        // torch.nn.functional.gelu(torch.tensor([-1.0, 0.5, 2.0])), exact (erf) form.
        let device = Device::default();
        let x = Tensor::<1>::from_floats([-1.0, 0.5, 2.0], &device);
        let y: Vec<f32> = HiddenAct::Gelu.forward(x).into_data().try_to_vec().unwrap();
        for (got, want) in y.iter().zip([-0.158_655_26, 0.345_731_23, 1.954_499_7]) {
            assert!((got - want).abs() < 1e-6, "{got} vs {want}");
        }
    }
}
