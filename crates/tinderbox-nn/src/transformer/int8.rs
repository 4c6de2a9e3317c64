//! BERT in int8 for inference (PyTorch's `torch.ao.quantization.quantize_dynamic` on its
//! `nn.Linear` layers): the six dense layers of every encoder layer get an int8 twin; the
//! LayerNorms, attention itself and the pooler stay `f32`. The word embeddings (half of a
//! MiniLM's weights) are rounded to int8 per row and kept as the `f32` values that stand for
//! them: a lookup gains nothing from int8, but the saved file is a quarter of the size.

use std::sync::Arc;

use burn::module::Param;
use burn::nn::Linear;
use burn::prelude::*;
use tinderbox_ops::quant::int8::Int8Matrix;

use super::BertModel;
use crate::error::Result;
use crate::quantized::{Int8Linear, Int8Twin, quantize_int8_rows};

impl BertModel {
    /// This model with every encoder layer's dense layers quantized to int8 (per output
    /// channel) for inference on the host, and its word embeddings rounded to int8 per row.
    /// The dense layers' `f32` weights stay (training and GPU backends use them); gradients are
    /// taken through them. A quantized model is returned as it is.
    ///
    /// ```
    /// use burn::prelude::*;
    /// use tinderbox_nn::transformer::BertConfig;
    ///
    /// let device = Device::default();
    /// let model = BertConfig::new(50, 16, 2, 2, 32).init(&device)?;
    /// let int8 = model.quantize_int8()?;
    /// assert!(int8.is_int8() && !model.is_int8());
    /// # Ok::<(), tinderbox_nn::ModelError>(())
    /// ```
    pub fn quantize_int8(&self) -> Result<BertModel> {
        let mut model = self.clone();
        if model.word_embeddings_int8.is_none() {
            let table = &mut model.embeddings.word_embeddings.weight;
            let [vocab, hidden] = table.dims();
            let device = table.device();
            let int8 = quantize_int8_rows(table.val(), "embeddings.word_embeddings")?;
            let rounded = TensorData::new(int8.dequantize(), [vocab, hidden]);
            *table = Param::from_tensor(Tensor::from_data(rounded, &device));
            model.word_embeddings_int8 = Some(Arc::new(int8));
        }
        for (name, layer, twin) in model.dense_layers_mut() {
            if twin.is_none() {
                *twin = Some(Arc::new(Int8Linear::quantize(layer, &name)?));
            }
        }
        Ok(model)
    }

    /// Whether the encoder layers run in int8.
    pub fn is_int8(&self) -> bool {
        self.encoder
            .layer
            .iter()
            .all(|l| l.intermediate.dense_int8.is_some())
            && !self.encoder.layer.is_empty()
    }

    /// The word embeddings' int8 values, once quantized.
    pub(crate) fn word_embeddings_int8(&self) -> Option<&Int8Matrix> {
        self.word_embeddings_int8.as_deref()
    }

    /// Every encoder layer's dense layers with their checkpoint names (Hugging Face's, without
    /// `.weight`) and their int8 twins.
    pub(crate) fn dense_layers_mut(&mut self) -> Vec<(String, &mut Linear, &mut Int8Twin)> {
        let mut out = Vec::new();
        for (i, layer) in self.encoder.layer.iter_mut().enumerate() {
            let prefix = format!("encoder.layer.{i}");
            let attention = &mut layer.attention.self_attn;
            let [q, k, v] = &mut attention.int8;
            for (name, dense, twin) in [
                ("query", &mut attention.query, q),
                ("key", &mut attention.key, k),
                ("value", &mut attention.value, v),
            ] {
                out.push((format!("{prefix}.attention.self.{name}"), dense, twin));
            }
            let output = &mut layer.attention.output;
            out.push((
                format!("{prefix}.attention.output.dense"),
                &mut output.dense,
                &mut output.dense_int8,
            ));
            let up = &mut layer.intermediate;
            out.push((
                format!("{prefix}.intermediate.dense"),
                &mut up.dense,
                &mut up.dense_int8,
            ));
            let down = &mut layer.output;
            out.push((
                format!("{prefix}.output.dense"),
                &mut down.dense,
                &mut down.dense_int8,
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Distribution;

    use crate::transformer::BertConfig;

    fn hidden(model: &BertModel, ids: Tensor<2, Int>, pad: Tensor<2, Bool>) -> Vec<f32> {
        let out = model.forward(ids, pad, None).last_hidden_state;
        out.into_data().try_into_vec::<f32>().unwrap()
    }

    #[test]
    fn an_int8_bert_gives_the_f32_hidden_states_up_to_int8_rounding() {
        let device = Device::default();
        device.seed(3);
        let model = BertConfig::new(60, 32, 2, 4, 64).init(&device).unwrap();
        let int8 = model.quantize_int8().unwrap();
        assert!(int8.is_int8());
        let ids = Tensor::<2, Int>::random([3, 7], Distribution::Uniform(0.0, 60.0), &device);
        let pad = Tensor::<2, Bool>::from_data(
            [
                [false; 7],
                [false, false, false, false, true, true, true],
                [false; 7],
            ],
            &device,
        );
        let (a, b) = (
            hidden(&model, ids.clone(), pad.clone()),
            hidden(&int8, ids, pad),
        );
        let worst = a
            .iter()
            .zip(&b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f32::max);
        // Post-LayerNorm states have unit variance: 8-bit rounding moves them by a few 1e-2.
        assert!(worst > 0.0 && worst < 0.1, "{worst}");
        // Quantizing again changes nothing; the f32 weights are kept.
        let again = int8.quantize_int8().unwrap();
        assert_eq!(
            again.encoder.layer[0]
                .intermediate
                .dense
                .weight
                .val()
                .into_data(),
            model.encoder.layer[0]
                .intermediate
                .dense
                .weight
                .val()
                .into_data()
        );
    }

    #[test]
    fn gradients_go_through_the_f32_weights() {
        let train = Device::default().autodiff();
        let model = BertConfig::new(30, 16, 1, 2, 32).init(&train).unwrap();
        let int8 = model.quantize_int8().unwrap();
        let ids = Tensor::<2, Int>::from_data([[1, 2, 3]], &train);
        let pad = Tensor::<2, Bool>::from_data([[false; 3]], &train);
        let loss = int8.forward(ids, pad, None).last_hidden_state.sum();
        let grads = loss.backward();
        let weight = &int8.encoder.layer[0].intermediate.dense.weight;
        assert!(weight.grad(&grads).is_some());
    }
}
