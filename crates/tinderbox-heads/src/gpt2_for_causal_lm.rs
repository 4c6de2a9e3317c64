//! GPT-2 scored on next-token prediction: what a causal-LM pre-training run trains. The decoder
//! is [`tinderbox_nn::decoder::Gpt2`] (Hugging Face's `GPT2LMHeadModel`, the output projection
//! tied to the token embedding); this wrapper projects only the positions a batch scores, as
//! [`BertForMaskedLm`](crate::BertForMaskedLm) projects only the masked ones, since the
//! vocabulary projection is the widest product of a small model.

use burn::prelude::*;
use tinderbox_nn::decoder::Gpt2;

/// A GPT-2 trained to predict the next token.
#[derive(Module, Debug)]
pub struct Gpt2ForCausalLm {
    /// The decoder: what generation runs and what the Hugging Face folder holds.
    pub transformer: Gpt2,
}

impl Gpt2ForCausalLm {
    /// Wraps a decoder.
    pub fn new(transformer: Gpt2) -> Self {
        Self { transformer }
    }

    /// The next-token logits `[M, vocab]` at `positions [M]` of `ids [B, L]`, flattened as
    /// `b * L + l`, with right padding marked in `mask_pad [B, L]`. Fails when `L` exceeds
    /// the model's positions.
    pub fn logits_at(
        &self,
        ids: Tensor<2, Int>,
        mask_pad: Tensor<2, Bool>,
        positions: Tensor<1, Int>,
    ) -> tinderbox_nn::Result<Tensor<2>> {
        let hidden = self.transformer.forward_sequence(ids, Some(mask_pad))?;
        let [b, l, h] = hidden.dims();
        let rows = hidden.reshape([b * l, h]).select(0, positions);
        Ok(self
            .transformer
            .logits(rows.unsqueeze_dim::<3>(0))?
            .squeeze_dim(0))
    }
}
