//! Token embeddings kept in quantized blocks (rows expanded as they are looked up), and
//! [`TokenEmbedding`]: either kind, with the tied output projection that reads the same matrix.

use std::sync::Arc;

use burn::nn::Embedding;
use burn::prelude::*;
use tinderbox_ops::linear_with_weights;
use tinderbox_ops::quant::{GgmlType, QuantizedMatrix};

use super::{product, quantize_rows};
use crate::error::{ModelError, Result};

/// A `[vocab, hidden]` embedding table in quantized blocks, on the host; what it returns goes
/// to the device of what it is given.
#[derive(Module, Debug)]
pub struct QuantizedEmbedding {
    #[module(skip)]
    weight: Arc<QuantizedMatrix>,
}

impl QuantizedEmbedding {
    /// A table over `weight [vocab, hidden]`.
    pub fn new(weight: QuantizedMatrix) -> Self {
        Self {
            weight: Arc::new(weight),
        }
    }

    /// The rows of `ids [B, L]`: `[B, L, hidden]`. Fails on an id past the table.
    pub fn forward(&self, ids: Tensor<2, Int>) -> Result<Tensor<3>> {
        let [b, l] = ids.dims();
        let device = ids.device();
        let ids: Vec<i64> = ids
            .into_data()
            .convert::<i64>()
            .try_into_vec::<i64>()
            .map_err(|e| ModelError::Read {
                what: "token ids",
                reason: format!("{e:?}"),
            })?;
        let (vocab, hidden) = (self.weight.rows(), self.weight.cols());
        let mut out = vec![0.0f32; ids.len() * hidden];
        for (&id, row) in ids.iter().zip(out.chunks_exact_mut(hidden)) {
            if id < 0 || id as usize >= vocab {
                return Err(ModelError::config(
                    "ids",
                    format!("token id {id} is outside the vocabulary of {vocab}"),
                ));
            }
            self.weight.dequantize_row(id as usize, row)?;
        }
        Ok(Tensor::from_data(
            TensorData::new(out, [b, l, hidden]),
            &device,
        ))
    }

    /// `hidden [B, L, hidden]` times the table: `[B, L, vocab]` (a tied output projection).
    pub fn project(&self, hidden: Tensor<3>) -> Result<Tensor<3>> {
        product(&self.weight, hidden)
    }

    /// The table's blocks.
    pub fn weight(&self) -> &QuantizedMatrix {
        &self.weight
    }
}

/// Token embeddings in `f32` (burn's [`Embedding`]) or quantized blocks.
#[derive(Module, Debug)]
pub enum TokenEmbedding {
    /// `f32` rows.
    Dense(Embedding),
    /// Quantized rows.
    Quantized(QuantizedEmbedding),
}

impl TokenEmbedding {
    /// The rows of `ids [B, L]`: `[B, L, hidden]`.
    pub fn forward(&self, ids: Tensor<2, Int>) -> Result<Tensor<3>> {
        match self {
            TokenEmbedding::Dense(table) => Ok(table.forward(ids)),
            TokenEmbedding::Quantized(table) => table.forward(ids),
        }
    }

    /// The tied output projection: `hidden [B, L, hidden]` to logits `[B, L, vocab]`.
    pub fn project(&self, hidden: Tensor<3>) -> Result<Tensor<3>> {
        match self {
            // The table [vocab, h] read in place as the projection's [h, vocab].
            TokenEmbedding::Dense(table) => Ok(linear_with_weights(
                hidden,
                table.weight.val().transpose(),
                None,
            )),
            TokenEmbedding::Quantized(table) => table.project(hidden),
        }
    }

    /// The `f32` table, when it is one.
    pub fn dense(&self) -> Option<&Embedding> {
        match self {
            TokenEmbedding::Dense(table) => Some(table),
            TokenEmbedding::Quantized(_) => None,
        }
    }

    /// The table quantized to `ty` (Q8_0, Q4_0 or Q4_1); a quantized table is returned as it
    /// is. Fails for another type, or a width that is not whole blocks of 32.
    pub fn quantize(&self, ty: GgmlType) -> Result<TokenEmbedding> {
        let TokenEmbedding::Dense(table) = self else {
            return Ok(self.clone());
        };
        let [vocab, hidden] = table.weight.dims();
        let matrix = quantize_rows(
            table.weight.val(),
            ty,
            &format!("a [{vocab}, {hidden}] embedding"),
        )?;
        Ok(TokenEmbedding::Quantized(QuantizedEmbedding::new(matrix)))
    }
}
