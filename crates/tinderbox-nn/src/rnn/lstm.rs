//! A single-layer LSTM with Keras' input and recurrent dropout and Keras' initialisers, written
//! for speed on burn's op-by-op autodiff:
//!
//! - the input projection of every time step is one matrix product before the loop;
//! - per step, one product with the recurrent weights, one sigmoid over all four gates (the cell
//!   candidate uses `tanh(x) = 2 sigmoid(2x) - 1`), and a handful of elementwise ops;
//! - the per-step inputs are cut from the projection in blocks of about `sqrt(L)` steps, so the
//!   backward pass zero-fills about `2 sqrt(L)` full-size gradients instead of `L`.
//!
//! Dropout follows Keras (`LSTM(dropout=p, recurrent_dropout=q)`, implementation 2): one mask
//! per sequence on the inputs and one on the recurrent state, the same at every step.
//! burn's own `Lstm` has no recurrent dropout and was 5x slower than PyTorch's on the seed model.
//!
//! Reference: Keras 3 `LSTM` (gates i, f, c, o; `unit_forget_bias`; Glorot-uniform input and
//! orthogonal recurrent kernels). Held to the textbook cell written out step by step in the
//! tests below, values and gradients within 1e-5.

use burn::module::Param;
use burn::nn::{Dropout, DropoutConfig, Initializer};
use burn::prelude::*;
use burn::tensor::activation::sigmoid;

/// The recipe of an [`Lstm`].
#[derive(Config, Debug, PartialEq)]
pub struct LstmConfig {
    /// Input features per step.
    pub d_input: usize,
    /// Hidden units.
    pub d_hidden: usize,
    /// Dropout on the inputs (Keras' `dropout`).
    #[config(default = 0.0)]
    pub dropout: f64,
    /// Dropout on the recurrent state (Keras' `recurrent_dropout`).
    #[config(default = 0.0)]
    pub recurrent_dropout: f64,
    /// Keep the state through padded steps (`mask_pad` true) instead of running over them, as
    /// Keras does with `mask_zero=True`. Keras' seed model runs over its (leading) padding.
    #[config(default = false)]
    pub skip_padding: bool,
}

/// A single-layer LSTM; gates in Keras' and PyTorch's order: input, forget, cell, output.
#[derive(Module, Debug)]
pub struct Lstm {
    /// Input weights `[d_input, 4H]` (Keras' `kernel`).
    pub kernel: Param<Tensor<2>>,
    /// Recurrent weights `[H, 4H]` (Keras' `recurrent_kernel`).
    pub recurrent_kernel: Param<Tensor<2>>,
    /// Bias `[4H]`.
    pub bias: Param<Tensor<1>>,
    input_dropout: Dropout,
    recurrent_dropout: Dropout,
    #[module(skip)]
    d_hidden: usize,
    #[module(skip)]
    skip_padding: bool,
}

impl LstmConfig {
    /// Builds the layer with Keras' initialisers: Glorot-uniform kernel, orthogonal recurrent
    /// kernel, zero bias except 1 for the forget gate (`unit_forget_bias=True`).
    pub fn init(&self, device: &Device) -> Lstm {
        let h = self.d_hidden;
        let kernel = Initializer::XavierUniform { gain: 1.0 }.init_with(
            [self.d_input, 4 * h],
            Some(self.d_input),
            Some(4 * h),
            device,
        );
        let recurrent_kernel = Initializer::Orthogonal { gain: 1.0 }.init([h, 4 * h], device);
        let mut bias = vec![0.0f32; 4 * h];
        bias[h..2 * h].fill(1.0);
        Lstm {
            kernel,
            recurrent_kernel,
            bias: Param::from_tensor(Tensor::from_data(TensorData::new(bias, [4 * h]), device)),
            input_dropout: DropoutConfig::new(self.dropout).init(),
            recurrent_dropout: DropoutConfig::new(self.recurrent_dropout).init(),
            d_hidden: h,
            skip_padding: self.skip_padding,
        }
    }
}

impl Lstm {
    /// Runs over `x [B, L, d_input]`; returns every hidden state `[B, L, H]` and the last `[B, H]`.
    /// `mask_pad [B, L]` (true at padding) matters only with `skip_padding`.
    pub fn forward(
        &self,
        x: Tensor<3>,
        mask_pad: Option<Tensor<2, Bool>>,
    ) -> (Tensor<3>, Tensor<2>) {
        let [batch, steps, d_input] = x.dims();
        let h = self.d_hidden;
        let device = x.device();
        // Dropout of a tensor of ones gives Keras' per-sequence mask (all ones when evaluating).
        let input_mask = self
            .input_dropout
            .forward(Tensor::<2>::ones([batch, d_input], &device));
        let recurrent_mask = self
            .recurrent_dropout
            .forward(Tensor::<2>::ones([batch, h], &device));
        let x = x * input_mask.unsqueeze_dim(1);
        let projected = x.matmul(self.kernel.val().unsqueeze()) + self.bias.val().unsqueeze();
        // tanh(x) = 2 sigmoid(2x) - 1: doubling the cell columns lets one sigmoid do all gates.
        let mut scale = vec![1.0f32; 4 * h];
        scale[2 * h..3 * h].fill(2.0);
        let scale = Tensor::<1>::from_data(TensorData::new(scale, [4 * h]), &device);
        let projected = projected * scale.clone().unsqueeze();
        let recurrent = self.recurrent_kernel.val() * scale.unsqueeze();
        let keep = match (&mask_pad, self.skip_padding) {
            (Some(mask), true) => Some(mask.clone().bool_not().float()),
            _ => None,
        };

        let mut state_h = Tensor::<2>::zeros([batch, h], &device);
        let mut state_c = Tensor::<2>::zeros([batch, h], &device);
        let mut outputs = Vec::with_capacity(steps);
        let block = (steps as f64).sqrt().ceil().max(1.0) as usize;
        for start in (0..steps).step_by(block) {
            let len = block.min(steps - start);
            let chunk = projected.clone().narrow(1, start, len);
            for t in 0..len {
                let input_t: Tensor<2> = chunk.clone().narrow(1, t, 1).squeeze_dim(1);
                let gates = sigmoid(
                    input_t + (state_h.clone() * recurrent_mask.clone()).matmul(recurrent.clone()),
                );
                let i = gates.clone().narrow(1, 0, h);
                let f = gates.clone().narrow(1, h, h);
                let g = gates
                    .clone()
                    .narrow(1, 2 * h, h)
                    .mul_scalar(2.0)
                    .sub_scalar(1.0);
                let o = gates.narrow(1, 3 * h, h);
                let c = f * state_c.clone() + i * g;
                let new_h = o * sigmoid(c.clone().mul_scalar(2.0))
                    .mul_scalar(2.0)
                    .sub_scalar(1.0);
                (state_h, state_c) = match &keep {
                    Some(keep) => {
                        let k: Tensor<2> = keep.clone().narrow(1, start + t, 1);
                        (
                            state_h.clone() + (new_h - state_h) * k.clone(),
                            state_c.clone() + (c - state_c) * k,
                        )
                    }
                    None => (new_h, c),
                };
                outputs.push(state_h.clone());
            }
        }
        let hidden = if outputs.is_empty() {
            Tensor::zeros([batch, 0, h], &device)
        } else {
            Tensor::stack(outputs, 1)
        };
        (hidden, state_h)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Distribution;

    /// A plain LSTM cell loop with tanh and separate gates, as in the textbooks.
    fn reference(lstm: &Lstm, x: Tensor<3>) -> Tensor<2> {
        let [batch, steps, _] = x.dims();
        let h = lstm.d_hidden;
        let device = x.device();
        let (w, u, b) = (
            lstm.kernel.val(),
            lstm.recurrent_kernel.val(),
            lstm.bias.val(),
        );
        let mut hs = Tensor::<2>::zeros([batch, h], &device);
        let mut cs = Tensor::<2>::zeros([batch, h], &device);
        for t in 0..steps {
            let xt: Tensor<2> = x.clone().narrow(1, t, 1).squeeze_dim(1);
            let z = xt.matmul(w.clone()) + hs.clone().matmul(u.clone()) + b.clone().unsqueeze();
            let gate = |k: usize| z.clone().narrow(1, k * h, h);
            let (i, f, g, o) = (
                sigmoid(gate(0)),
                sigmoid(gate(1)),
                gate(2).tanh(),
                sigmoid(gate(3)),
            );
            cs = f * cs + i * g;
            hs = o * cs.clone().tanh();
        }
        hs
    }

    #[test]
    fn matches_the_textbook_cell_and_keras_init() {
        let device = Device::default();
        let lstm = LstmConfig::new(5, 4).init(&device);
        let bias = lstm.bias.val().into_data().try_to_vec::<f32>().unwrap();
        assert_eq!(bias, [vec![0.0; 4], vec![1.0; 4], vec![0.0; 8]].concat());
        let u = lstm.recurrent_kernel.val();
        let gram: Tensor<2> = u.clone().matmul(u.transpose());
        let eye = Tensor::<2>::eye(4, &device);
        let off: f32 = (gram - eye).abs().max().into_scalar();
        assert!(off < 1e-5, "recurrent kernel rows are orthonormal: {off}");

        for steps in [1, 7, 16] {
            let x = Tensor::<3>::random([3, steps, 5], Distribution::Default, &device);
            let (hidden, last) = lstm.forward(x.clone(), None);
            assert_eq!(hidden.dims(), [3, steps, 4]);
            let expected = reference(&lstm, x);
            let diff: f32 = (last.clone() - expected).abs().max().into_scalar();
            assert!(diff < 1e-5, "{steps} steps: {diff}");
            let tail: Tensor<2> = hidden.narrow(1, steps - 1, 1).squeeze_dim(1);
            let diff: f32 = (tail - last).abs().max().into_scalar();
            assert_eq!(diff, 0.0);
        }
    }

    #[test]
    fn skip_padding_keeps_the_state_through_padding() {
        let device = Device::default();
        let lstm = LstmConfig::new(3, 2).with_skip_padding(true).init(&device);
        let x = Tensor::<3>::random([1, 6, 3], Distribution::Default, &device);
        let mask = Tensor::<2, Bool>::from_data([[false, false, false, true, true, true]], &device);
        let (_, last) = lstm.forward(x.clone(), Some(mask));
        let (_, three) = lstm.forward(x.narrow(1, 0, 3), None);
        let diff: f32 = (last - three).abs().max().into_scalar();
        assert!(diff < 1e-6, "{diff}");
    }

    #[test]
    fn gradients_match_the_textbook_cell() {
        let device = Device::default().autodiff();
        let lstm = LstmConfig::new(3, 4).init(&device);
        let x = Tensor::<3>::random([2, 11, 3], Distribution::Default, &device);
        let ours = lstm.forward(x.clone(), None).1.sum().backward();
        let theirs = reference(&lstm, x).sum().backward();
        for (a, b) in [
            (
                lstm.kernel.val().grad(&ours),
                lstm.kernel.val().grad(&theirs),
            ),
            (
                lstm.recurrent_kernel.val().grad(&ours),
                lstm.recurrent_kernel.val().grad(&theirs),
            ),
        ] {
            let diff: f32 = (a.unwrap() - b.unwrap()).abs().max().into_scalar();
            assert!(diff < 1e-4, "{diff}");
        }
    }
}
