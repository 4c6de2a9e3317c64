//! Cross-entropy with an ignore index and label smoothing, as `torch.nn.functional.cross_entropy`
//! defines them (burn's loss has neither a negative ignore index nor an all-ignored batch).

use burn::prelude::*;
use burn::tensor::activation::log_softmax;

/// The label that marks a position without a target (Hugging Face's and PyTorch's default).
pub const IGNORE_INDEX: i64 = -100;

/// Mean cross-entropy of `logits [N, C]` against `targets [N]`, skipping every target equal to
/// [`IGNORE_INDEX`]. With `smoothing = ε` the target distribution is `1 - ε` on the label plus
/// `ε / C` everywhere, as in PyTorch. A batch whose targets are all ignored gives 0, not NaN.
///
/// ```
/// use burn::prelude::*;
/// use tinderbox_ops::{cross_entropy, IGNORE_INDEX};
///
/// let device = Device::default();
/// let logits = Tensor::<2>::from_floats([[0.0, 0.0], [5.0, -5.0]], &device);
/// let targets = Tensor::<1, Int>::from_ints([1, IGNORE_INDEX], &device);
/// let loss: f32 = cross_entropy(logits, targets, 0.0).into_scalar();
/// assert!((loss - 2f32.ln()).abs() < 1e-6); // only the first row counts
/// ```
pub fn cross_entropy(logits: Tensor<2>, targets: Tensor<1, Int>, smoothing: f64) -> Tensor<1> {
    let keep = targets.clone().not_equal_elem(IGNORE_INDEX);
    let safe_targets = targets.mask_fill(keep.clone().bool_not(), 0);
    let log_probs = log_softmax(logits, 1);
    let nll: Tensor<1> = log_probs
        .clone()
        .gather(1, safe_targets.unsqueeze_dim(1))
        .squeeze_dim::<1>(1)
        .neg();
    let per_row = if smoothing > 0.0 {
        let uniform: Tensor<1> = log_probs.mean_dim(1).squeeze_dim::<1>(1).neg();
        nll * (1.0 - smoothing) + uniform * smoothing
    } else {
        nll
    };
    let keep = keep.float();
    let count = keep.clone().sum().clamp_min(1.0);
    (per_row * keep).sum() / count
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f32, b: f32) {
        assert!((a - b).abs() < 1e-5, "{a} vs {b}");
    }

    #[test]
    fn matches_pytorch_values() {
        // torch.nn.functional.cross_entropy(logits, targets, ignore_index=-100,
        // label_smoothing=s) for these logits gives 1.2814906 (s=0) and 1.2731572 (s=0.1).
        let device = Device::default();
        let logits = Tensor::<2>::from_floats(
            [[1.0, 2.0, 0.5], [0.1, -1.0, 3.0], [2.0, 2.0, 2.0]],
            &device,
        );
        let targets = Tensor::<1, Int>::from_ints([0, IGNORE_INDEX, 2], &device);
        close(
            cross_entropy(logits.clone(), targets.clone(), 0.0).into_scalar(),
            1.2814905,
        );
        close(cross_entropy(logits, targets, 0.1).into_scalar(), 1.2731572);
    }

    #[test]
    fn all_ignored_gives_zero() {
        let device = Device::default();
        let logits = Tensor::<2>::ones([2, 4], &device);
        let targets = Tensor::<1, Int>::from_ints([IGNORE_INDEX, IGNORE_INDEX], &device);
        close(cross_entropy(logits, targets, 0.0).into_scalar(), 0.0);
    }

    #[test]
    fn ignored_rows_get_no_gradient() {
        let device = Device::default().autodiff();
        let logits = Tensor::<2>::from_floats([[1.0, 2.0], [3.0, -1.0]], &device).require_grad();
        let targets = Tensor::<1, Int>::from_ints([1, IGNORE_INDEX], &device);
        let grads = cross_entropy(logits.clone(), targets, 0.0).backward();
        let g: Vec<f32> = logits
            .grad(&grads)
            .unwrap()
            .into_data()
            .try_to_vec()
            .unwrap();
        assert_eq!(&g[2..], &[0.0, 0.0]);
        // d/dz of -log softmax(z)[1] = softmax(z) - onehot.
        let p1 = 1.0 / (1.0 + (-1f32).exp());
        close(g[1], p1 - 1.0);
    }
}
