//! The masked-language-model head of Hugging Face's `BertForMaskedLM` (`cls.predictions`): a
//! dense layer, the activation and LayerNorm (`transform`), then a projection onto the vocabulary
//! through the word embeddings (tied, as BERT ties them) plus an output bias.
//!
//! Reference: `transformers` 5.24, `modeling_bert.py` `BertOnlyMLMHead`; within 1e-5 of it
//! (`tests/mlm_reference.rs`).
//!
//! Training projects only the masked positions: Hugging Face projects every position and throws
//! about 85 % of those logits away, and with a large vocabulary that projection is most of a
//! step's cost.

use burn::nn::Linear;
use burn::prelude::*;
use tinderbox_nn::init::normal_linear;
use tinderbox_nn::transformer::HiddenAct;
use tinderbox_nn::transformer::{LayerNorm, LayerNormConfig};
use tinderbox_ops::cross_entropy;

/// The recipe of an [`MlmHead`].
#[derive(Config, Debug, PartialEq)]
pub struct MlmHeadConfig {
    /// The encoder's hidden size.
    pub hidden: usize,
    /// The vocabulary size (rows of the tied word embeddings).
    pub vocab_size: usize,
    /// The transform's activation (BERT: GELU).
    #[config(default = "HiddenAct::Gelu")]
    pub hidden_act: HiddenAct,
    /// The transform's LayerNorm epsilon.
    #[config(default = 1e-12)]
    pub layer_norm_eps: f64,
    /// Standard deviation of the dense layer's normal initialisation.
    #[config(default = 0.02)]
    pub initializer_range: f64,
}

/// `BertOnlyMLMHead` / `BertLMPredictionHead`; field names mirror the checkpoint keys
/// `cls.predictions.{transform.dense, transform.LayerNorm, bias}`.
///
/// ```
/// use burn::prelude::*;
/// use tinderbox_heads::MlmHeadConfig;
///
/// let device = Device::default();
/// let head = MlmHeadConfig::new(8, 30).init(&device);
/// let word_embeddings = Tensor::<2>::zeros([30, 8], &device);
/// let hidden = Tensor::<3>::ones([2, 5, 8], &device);
/// // Two masked positions, flattened as `b * L + l`: (0, 1) and (1, 4).
/// let positions = Tensor::<1, Int>::from_ints([1, 9], &device);
/// let logits = head.forward_at(hidden, positions, word_embeddings);
/// assert_eq!(logits.dims(), [2, 30]);
/// ```
#[derive(Module, Debug)]
pub struct MlmHead {
    /// `transform.dense`, `[hidden, hidden]`.
    pub dense: Linear,
    /// `transform.LayerNorm`.
    pub layer_norm: LayerNorm,
    /// `bias`, `[vocab]`: the decoder's output bias.
    pub bias: burn::module::Param<Tensor<1>>,
    #[module(skip)]
    act: HiddenAct,
}

impl MlmHeadConfig {
    /// Builds the head: normal dense weights, LayerNorm at identity, zero output bias.
    pub fn init(&self, device: &Device) -> MlmHead {
        MlmHead {
            dense: normal_linear(self.hidden, self.hidden, self.initializer_range, device),
            layer_norm: LayerNormConfig::new(self.hidden)
                .with_epsilon(self.layer_norm_eps)
                .init(device),
            bias: burn::module::Param::from_tensor(Tensor::zeros([self.vocab_size], device)),
            act: self.hidden_act,
        }
    }
}

impl MlmHead {
    /// Logits over the vocabulary at every position: `[B, L, H]` to `[B, L, vocab]`, as
    /// `BertForMaskedLM` computes them (for fill-mask at inference).
    pub fn forward(&self, hidden: Tensor<3>, word_embeddings: Tensor<2>) -> Tensor<3> {
        let [b, l, h] = hidden.dims();
        let logits = self.project(hidden.reshape([b * l, h]), word_embeddings);
        let vocab = logits.dims()[1];
        logits.reshape([b, l, vocab])
    }

    /// Logits at the chosen positions only: `positions [M]` index the flattened `[B * L]`
    /// positions of `hidden [B, L, H]` (row `b * L + l`), giving `[M, vocab]`.
    /// `word_embeddings` is the encoder's `[vocab, H]` table, which the projection shares.
    pub fn forward_at(
        &self,
        hidden: Tensor<3>,
        positions: Tensor<1, Int>,
        word_embeddings: Tensor<2>,
    ) -> Tensor<2> {
        let [b, l, h] = hidden.dims();
        let chosen = hidden.reshape([b * l, h]).select(0, positions);
        self.project(chosen, word_embeddings)
    }

    /// Mean cross-entropy of the original tokens `labels [M]` at `positions [M]`; zero when no
    /// position was masked.
    pub fn loss_at(
        &self,
        hidden: Tensor<3>,
        positions: Tensor<1, Int>,
        labels: Tensor<1, Int>,
        word_embeddings: Tensor<2>,
    ) -> Tensor<1> {
        cross_entropy(
            self.forward_at(hidden, positions, word_embeddings),
            labels,
            0.0,
        )
    }

    fn project(&self, rows: Tensor<2>, word_embeddings: Tensor<2>) -> Tensor<2> {
        let transformed = self
            .layer_norm
            .forward(self.act.forward(self.dense.forward(rows)));
        transformed.matmul(word_embeddings.transpose()) + self.bias.val().unsqueeze()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Distribution, Tolerance, s};
    use tinderbox_ops::IGNORE_INDEX;

    #[test]
    fn sparse_projection_equals_the_full_one_at_masked_positions() {
        let device = Device::default();
        let head = MlmHeadConfig::new(16, 50).init(&device);
        let embeddings = Tensor::<2>::random([50, 16], Distribution::Normal(0.0, 0.5), &device);
        let hidden = Tensor::<3>::random([3, 7, 16], Distribution::Normal(0.0, 1.0), &device);
        let full = head.forward(hidden.clone(), embeddings.clone());
        let positions = [2i64, 9, 20];
        let sparse = head.forward_at(hidden, Tensor::from_data(positions, &device), embeddings);
        for (row, flat) in positions.iter().enumerate() {
            let (b, l) = (*flat as usize / 7, *flat as usize % 7);
            let expected = full.clone().slice([b..b + 1, l..l + 1]).reshape([1, 50]);
            sparse
                .clone()
                .slice(s![row..row + 1])
                .into_data()
                .assert_approx_eq::<f32>(&expected.into_data(), Tolerance::default());
        }
    }

    #[test]
    fn sparse_loss_equals_full_loss_with_ignored_labels() {
        let device = Device::default();
        let head = MlmHeadConfig::new(8, 20).init(&device);
        let embeddings = Tensor::<2>::random([20, 8], Distribution::Normal(0.0, 1.0), &device);
        let hidden = Tensor::<3>::random([2, 4, 8], Distribution::Normal(0.0, 1.0), &device);
        // Labels over all 8 positions, -100 except at 1, 6 and 7.
        let labels = [
            IGNORE_INDEX,
            3,
            IGNORE_INDEX,
            IGNORE_INDEX,
            IGNORE_INDEX,
            IGNORE_INDEX,
            19,
            0,
        ];
        let full = cross_entropy(
            head.forward(hidden.clone(), embeddings.clone())
                .reshape([8, 20]),
            Tensor::from_data(labels, &device),
            0.0,
        );
        let sparse = head.loss_at(
            hidden,
            Tensor::from_data([1i64, 6, 7], &device),
            Tensor::from_data([3i64, 19, 0], &device),
            embeddings,
        );
        sparse
            .into_data()
            .assert_approx_eq::<f32>(&full.into_data(), Tolerance::default());
    }

    #[test]
    fn the_projection_trains_the_tied_embeddings() {
        let device = Device::default().autodiff();
        let head = MlmHeadConfig::new(4, 6).init(&device);
        let embeddings =
            Tensor::<2>::random([6, 4], Distribution::Normal(0.0, 1.0), &device).require_grad();
        let hidden = Tensor::<3>::random([1, 3, 4], Distribution::Normal(0.0, 1.0), &device);
        let loss = head.loss_at(
            hidden,
            Tensor::from_data([0i64, 2], &device),
            Tensor::from_data([5i64, 1], &device),
            embeddings.clone(),
        );
        let grads = loss.backward();
        let grad = embeddings.grad(&grads).unwrap();
        assert!(grad.abs().sum().into_scalar::<f32>() > 0.0);
        assert!(head.bias.val().grad(&grads).is_some());
    }
}
