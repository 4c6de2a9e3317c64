//! Scaled dot-product attention with padding and causal masks: on burn's fused attention op,
//! except under autodiff on the CPU, where it is two matrix products around [`attention_probs`]
//! and its fused softmax. `cargo bench --bench attention` (MiniLM's shape): burn's op 8.5 ms
//! against 14.7 ms plain, but 34.2 ms against 20.6 ms forward and backward, where burn composes
//! the softmax from elementwise operations.

use burn::prelude::*;
use burn::tensor::module::attention;
use burn::tensor::ops::AttentionModuleOptions;

use burn::backend::Dispatch;
use burn::tensor::{DType, TensorData};

use crate::dropout::{dropout, host_multipliers};
use crate::fused::{FusedOps, fusable, softmax};

/// Multi-head attention over inputs whose heads lie side by side, `[B, L, heads * d]` (the
/// projections' own layout): `softmax(Q_h K_hᵀ / sqrt(d) + mask) V_h` for every head `h`,
/// returned as `[B, L_q, heads * d]`. `mask_pad [B, L_k]` and `causal` as in
/// [`scaled_dot_product_attention`]; `dropout` drops that fraction of the attention
/// probabilities (inverted dropout, as BERT does while training; pass 0 otherwise).
///
/// On burn's CPU backend (`f32`) this is one fused operation, with its own backward pass: each
/// head is read in place, and its scores go from the product through the mask and softmax to the
/// weighted sum while in cache, without the copies that split and merge the heads. Elsewhere it
/// splits the heads and calls [`scaled_dot_product_attention`] (or, with dropout,
/// [`attention_probs`]). `heads` of 0 counts as 1.
///
/// ```
/// use burn::prelude::*;
/// use tinderbox_ops::multi_head_attention;
///
/// let device = Device::default();
/// let x = Tensor::<3>::ones([2, 5, 8], &device);
/// let pad = Tensor::<2, Bool>::from_data([[false, false, true, true, true], [false; 5]], &device);
/// let out = multi_head_attention(x.clone(), x.clone(), x, 2, Some(pad), false, 0.0);
/// assert_eq!(out.dims(), [2, 5, 8]);
/// ```
pub fn multi_head_attention(
    q: Tensor<3>,
    k: Tensor<3>,
    v: Tensor<3>,
    heads: usize,
    mask_pad: Option<Tensor<2, Bool>>,
    causal: bool,
    dropout_prob: f64,
) -> Tensor<3> {
    let heads = heads.max(1);
    let [b, lq, width] = q.dims();
    let [_, lk, _] = k.dims();
    let drop = dropout_prob > 0.0; // false for NaN too
    let shapes_fit = k.dims() == [b, lk, width]
        && v.dims() == [b, lk, width]
        && mask_pad.as_ref().is_none_or(|pad| pad.dims() == [b, lk])
        && width.is_multiple_of(heads)
        && b * lq * lk * width > 0;
    let all_f32 = [q.dtype(), k.dtype(), v.dtype()] == [DType::F32; 3];
    if fusable(&q) && shapes_fit && all_f32 && dropout_prob < 1.0 {
        let device = q.device();
        let key_bias = Tensor::<2>::zeros([b, lk], &device);
        let key_bias = match mask_pad {
            Some(pad) => key_bias.mask_fill(pad, f32::MIN),
            None => key_bias,
        };
        let shape = [b, heads, lq, lk];
        let keep = if drop {
            let multipliers = host_multipliers(shape.iter().product(), dropout_prob, &device);
            Tensor::<4>::from_data(TensorData::new(multipliers, shape), &device)
        } else {
            Tensor::<4>::zeros([0; 4], &device)
        };
        return Tensor::from_dispatch(<Dispatch as FusedOps>::fused_attention(
            q.into_dispatch(),
            k.into_dispatch(),
            v.into_dispatch(),
            key_bias.into_dispatch(),
            keep.into_dispatch(),
            heads,
            causal,
        ));
    }
    let split = |x: Tensor<3>| {
        let [b, l, w] = x.dims();
        x.reshape([b, l, heads, w / heads]).swap_dims(1, 2)
    };
    let (q, k, v) = (split(q), split(k), split(v));
    let context = if drop {
        dropout(attention_probs(q, k, mask_pad, causal), dropout_prob).matmul(v)
    } else {
        scaled_dot_product_attention(q, k, v, mask_pad, causal)
    };
    context.swap_dims(1, 2).reshape([b, lq, width])
}

/// `softmax(Q Kᵀ / sqrt(d) + mask) V` for `q`, `k`, `v` of shape `[B, heads, L, d]`.
///
/// `mask_pad [B, L_k]` is true at padded keys, which get no weight; `causal` also hides every
/// key after the query's own position. A query row whose keys are all masked gets the mean of the
/// values instead of NaN, so padded positions stay finite (their outputs are meant to be ignored).
///
/// ```
/// use burn::prelude::*;
/// use tinderbox_ops::scaled_dot_product_attention;
///
/// let device = Device::default();
/// let q = Tensor::<4>::ones([1, 1, 2, 4], &device);
/// let v = Tensor::<4>::from_floats([[[[1.0; 4], [3.0; 4]]]], &device);
/// let pad = Tensor::<2, Bool>::from_data([[false, true]], &device);
/// // The only real key is the first one: every query returns its value.
/// let out = scaled_dot_product_attention(q.clone(), q, v, Some(pad), false);
/// assert_eq!(out.into_data().try_to_vec::<f32>().unwrap(), vec![1.0; 8]);
/// ```
pub fn scaled_dot_product_attention(
    q: Tensor<4>,
    k: Tensor<4>,
    v: Tensor<4>,
    mask_pad: Option<Tensor<2, Bool>>,
    causal: bool,
) -> Tensor<4> {
    if fusable(&q) && q.device().is_autodiff() {
        return attention_probs(q, k, mask_pad, causal).matmul(v);
    }
    let [b, h, lq, _] = q.dims();
    let lk = k.dims()[2];
    let mask = mask_pad.map(|pad| pad.reshape([b, 1, 1, lk]).expand([b, h, lq, lk]));
    let options = AttentionModuleOptions {
        is_causal: causal,
        ..Default::default()
    };
    attention(q, k, v, mask, None, options)
}

/// The attention weights `softmax(Q Kᵀ / sqrt(d) + mask)` `[B, heads, L_q, L_k]` for `q`, `k` of
/// shape `[B, heads, L, d]`, with `mask_pad` and `causal` as in
/// [`scaled_dot_product_attention`]; for models that apply dropout to them.
///
/// Masked keys get the score `f32::MIN` rather than -inf, as in Hugging Face, so that a query
/// whose keys are all masked gets uniform weights instead of NaN.
pub fn attention_probs(
    q: Tensor<4>,
    k: Tensor<4>,
    mask_pad: Option<Tensor<2, Bool>>,
    causal: bool,
) -> Tensor<4> {
    let [b, _, lq, d] = q.dims();
    let lk = k.dims()[2];
    let device = q.device();
    // Scaling q rather than the scores: it is the smaller tensor whenever d < L_k.
    let mut scores = (q * (1.0 / (d as f64).sqrt())).matmul(k.swap_dims(2, 3));
    if let Some(pad) = mask_pad {
        let bias = Tensor::<2>::zeros([b, lk], &device).mask_fill(pad, f32::MIN);
        scores = scores + bias.reshape([b, 1, 1, lk]);
    }
    if causal {
        let future = keys_after_query(lq, lk, &device);
        let bias = Tensor::<2>::zeros([lq, lk], &device).mask_fill(future, f32::MIN);
        scores = scores + bias.reshape([1, 1, lq, lk]);
    }
    softmax(scores, 3)
}

/// A boolean mask `[L, L]`, true above the diagonal: the keys a causal query may not see.
pub fn causal_mask(len: usize, device: &Device) -> Tensor<2, Bool> {
    keys_after_query(len, len, device)
}

/// `[L_q, L_k]`, true where the key's index is greater than the query's (PyTorch's `is_causal`).
fn keys_after_query(lq: usize, lk: usize, device: &Device) -> Tensor<2, Bool> {
    let rows = Tensor::<1, Int>::arange(0..lq as i64, device)
        .reshape([lq, 1])
        .expand([lq, lk]);
    let cols = Tensor::<1, Int>::arange(0..lk as i64, device)
        .reshape([1, lk])
        .expand([lq, lk]);
    cols.greater(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Distribution;
    use burn::tensor::activation::softmax;

    /// softmax(QKᵀ/sqrt d) V written out, with masked scores at -inf.
    fn naive(
        q: Tensor<4>,
        k: Tensor<4>,
        v: Tensor<4>,
        pad: Option<Tensor<2, Bool>>,
        causal: bool,
    ) -> Tensor<4> {
        let [b, h, l, d] = q.dims();
        let mut scores = q.matmul(k.swap_dims(2, 3)) / (d as f64).sqrt();
        if let Some(pad) = pad {
            scores = scores.mask_fill(
                pad.reshape([b, 1, 1, l]).expand([b, h, l, l]),
                f32::NEG_INFINITY,
            );
        }
        if causal {
            let mask = causal_mask(l, &scores.device())
                .reshape([1, 1, l, l])
                .expand([b, h, l, l]);
            scores = scores.mask_fill(mask, f32::NEG_INFINITY);
        }
        softmax(scores, 3).matmul(v)
    }

    fn max_abs_diff(a: Tensor<4>, b: Tensor<4>) -> f32 {
        (a - b).abs().max().into_scalar()
    }

    fn inputs(device: &Device) -> [Tensor<4>; 3] {
        let shape = [2, 3, 5, 8];
        [0, 1, 2].map(|_| Tensor::<4>::random(shape, Distribution::Normal(0.0, 1.0), device))
    }

    #[test]
    fn matches_naive_attention_with_padding() {
        let device = Device::default();
        let [q, k, v] = inputs(&device);
        // Row 0 has 3 real tokens, row 1 all 5.
        let pad =
            Tensor::<2, Bool>::from_data([[false, false, false, true, true], [false; 5]], &device);
        let fused =
            scaled_dot_product_attention(q.clone(), k.clone(), v.clone(), Some(pad.clone()), false);
        let reference = naive(q, k, v, Some(pad), false);
        assert!(max_abs_diff(fused, reference) < 1e-5);
    }

    #[test]
    fn matches_naive_attention_causal_and_padded() {
        let device = Device::default();
        let [q, k, v] = inputs(&device);
        let pad =
            Tensor::<2, Bool>::from_data([[false, false, false, false, true], [false; 5]], &device);
        let fused =
            scaled_dot_product_attention(q.clone(), k.clone(), v.clone(), Some(pad.clone()), true);
        let reference = naive(q, k, v, Some(pad), true);
        assert!(max_abs_diff(fused, reference) < 1e-5);
    }

    #[test]
    fn padded_keys_do_not_change_real_outputs() {
        let device = Device::default();
        let [q, k, v] = inputs(&device);
        let pad = Tensor::<2, Bool>::from_data([[false, false, false, true, true]; 2], &device);
        let full = scaled_dot_product_attention(q.clone(), k.clone(), v.clone(), Some(pad), false);
        // Drop the padded keys altogether: the outputs must be the same.
        let short =
            scaled_dot_product_attention(q, k.narrow(2, 0, 3), v.narrow(2, 0, 3), None, false);
        assert!(max_abs_diff(full, short) < 1e-5);
    }

    #[test]
    fn gradients_flow_under_autodiff() {
        let device = Device::default().autodiff();
        let [q, k, v] = inputs(&device);
        let q = q.require_grad();
        let out = scaled_dot_product_attention(q.clone(), k, v, None, true);
        let grads = out.sum().backward();
        let grad = q.grad(&grads).expect("q has a gradient");
        let norm: f32 = grad.abs().sum().into_scalar();
        assert!(norm.is_finite() && norm > 0.0);
    }

    /// `[B, L, heads * d]` to `[B, heads, L, d]` and back.
    fn split(x: Tensor<3>, heads: usize) -> Tensor<4> {
        let [b, l, w] = x.dims();
        x.reshape([b, l, heads, w / heads]).swap_dims(1, 2)
    }

    fn merge(x: Tensor<4>) -> Tensor<3> {
        let [b, h, l, d] = x.dims();
        x.swap_dims(1, 2).reshape([b, l, h * d])
    }

    fn side_by_side(device: &Device) -> [Tensor<3>; 3] {
        [0, 1, 2].map(|_| Tensor::<3>::random([2, 5, 12], Distribution::Normal(0.0, 1.0), device))
    }

    #[test]
    fn multi_head_attention_matches_naive_attention_per_head() {
        let device = Device::default();
        let [q, k, v] = side_by_side(&device);
        let pad =
            Tensor::<2, Bool>::from_data([[false, false, false, true, true], [false; 5]], &device);
        for causal in [false, true] {
            let ours = multi_head_attention(
                q.clone(),
                k.clone(),
                v.clone(),
                3,
                Some(pad.clone()),
                causal,
                0.0,
            );
            let reference = merge(naive(
                split(q.clone(), 3),
                split(k.clone(), 3),
                split(v.clone(), 3),
                Some(pad.clone()),
                causal,
            ));
            let diff: f32 = (ours - reference).abs().max().into_scalar();
            assert!(diff < 1e-5, "causal {causal}: {diff}");
        }
    }

    #[test]
    fn multi_head_attention_gradients_match_the_composed_ones() {
        let device = Device::default().autodiff();
        let [q, k, v] = side_by_side(&device).map(|t| t.require_grad());
        let pad =
            Tensor::<2, Bool>::from_data([[false, false, false, false, true], [false; 5]], &device);
        let weights = Tensor::<3>::random([2, 5, 12], Distribution::Normal(0.0, 1.0), &device);
        let ours = multi_head_attention(
            q.clone(),
            k.clone(),
            v.clone(),
            3,
            Some(pad.clone()),
            true,
            0.0,
        );
        let ours = (ours * weights.clone()).sum().backward();
        let composed = attention_probs(split(q.clone(), 3), split(k.clone(), 3), Some(pad), true)
            .matmul(split(v.clone(), 3));
        let composed = (merge(composed) * weights).sum().backward();
        for (name, x) in [("q", &q), ("k", &k), ("v", &v)] {
            let (a, b) = (x.grad(&ours).unwrap(), x.grad(&composed).unwrap());
            let diff: f32 = (a - b).abs().max().into_scalar();
            assert!(diff < 1e-4, "d{name}: {diff}");
        }
    }

    #[test]
    fn multi_head_attention_dropout_keeps_the_expected_weight() {
        let device = Device::default().autodiff();
        let q = Tensor::<3>::random([8, 32, 16], Distribution::Normal(0.0, 1.0), &device);
        let v = Tensor::<3>::ones([8, 32, 16], &device);
        // Each output is the sum of its kept weights, scaled by 1 / (1 - p): 1 on average.
        let out = multi_head_attention(q.clone(), q.clone(), v.clone(), 2, None, false, 0.5);
        let values: Vec<f32> = out.into_data().try_to_vec().unwrap();
        let mean = values.iter().sum::<f32>() / values.len() as f32;
        assert!((mean - 1.0).abs() < 0.05, "mean {mean}");
        assert!(
            values.iter().any(|&x| (x - 1.0).abs() > 0.1),
            "nothing was dropped"
        );
        let kept = multi_head_attention(q.clone(), q, v, 2, None, false, 0.0);
        let max: f32 = (kept - 1.0).abs().max().into_scalar();
        assert!(max < 1e-5, "without dropout the weights sum to 1: {max}");
    }

    #[test]
    fn causal_mask_hides_the_future() {
        let device = Device::default();
        let mask: Vec<bool> = causal_mask(3, &device).into_data().try_to_vec().unwrap();
        assert_eq!(
            mask,
            vec![false, true, true, false, false, true, false, false, false]
        );
    }
}
