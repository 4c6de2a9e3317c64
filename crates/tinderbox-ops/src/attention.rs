//! Scaled dot-product attention with padding and causal masks: on burn's fused attention op,
//! except under autodiff on the CPU, where it is two matrix products around [`attention_probs`]
//! and its fused softmax. `cargo bench --bench attention` (MiniLM's shape): burn's op 8.5 ms
//! against 14.7 ms plain, but 34.2 ms against 20.6 ms forward and backward, where burn composes
//! the softmax from elementwise operations.

use burn::prelude::*;
use burn::tensor::module::attention;
use burn::tensor::ops::AttentionModuleOptions;

use crate::fused::{fusable, softmax};

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
