//! Knowledge distillation's loss (Hinton, Vinyals and Dean 2015, "Distilling the Knowledge in a
//! Neural Network"): the student matches the teacher's temperature-softened distribution and the
//! labels.

use burn::prelude::*;
use burn::tensor::activation::{log_softmax, softmax};

use crate::cross_entropy;

/// `α · T² · KL(softmax(t / T) ‖ softmax(s / T)) + (1 - α) · CE(s, labels)`, each term the mean
/// over the rows, for student logits `s [N, C]`, teacher logits `t [N, C]` (constants: no
/// gradient flows into them) and `labels [N]`. The `T²` keeps the soft term's gradients on the
/// scale of the hard one's as `T` changes (the paper's section 2). `α = 0` is plain
/// cross-entropy; at `α = 1` a student that reproduces the teacher's logits has loss 0.
///
/// ```
/// use burn::prelude::*;
/// use tinderbox_ops::{cross_entropy, distillation_loss};
///
/// let device = Device::default();
/// let student = Tensor::<2>::from_floats([[2.0, -1.0], [0.5, 0.0]], &device);
/// let labels = Tensor::<1, Int>::from_ints([0, 1], &device);
/// let same = distillation_loss(student.clone(), student.clone(), labels.clone(), 2.0, 1.0);
/// assert!(same.into_scalar::<f32>().abs() < 1e-6);
/// let hard = distillation_loss(student.clone(), student.clone(), labels.clone(), 2.0, 0.0);
/// let ce = cross_entropy(student, labels, 0.0);
/// assert!((hard.into_scalar::<f32>() - ce.into_scalar::<f32>()).abs() < 1e-6);
/// ```
pub fn distillation_loss(
    student: Tensor<2>,
    teacher: Tensor<2>,
    labels: Tensor<1, Int>,
    temperature: f64,
    alpha: f64,
) -> Tensor<1> {
    let [rows, _] = student.dims();
    let teacher = teacher.detach() / temperature;
    let target = softmax(teacher.clone(), 1);
    let target_log = log_softmax(teacher, 1);
    let student_log = log_softmax(student.clone() / temperature, 1);
    let kl: Tensor<1> = (target * (target_log - student_log)).sum() / rows.max(1) as f64;
    let soft = kl * (alpha * temperature * temperature);
    if alpha >= 1.0 {
        return soft;
    }
    soft + cross_entropy(student, labels, 0.0) * (1.0 - alpha)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The loss written out in f64, row by row.
    fn by_hand(s: &[[f64; 3]], t: &[[f64; 3]], labels: &[usize], temp: f64, alpha: f64) -> f64 {
        let log_softmax = |x: &[f64; 3], temp: f64| {
            let top = x.iter().cloned().fold(f64::MIN, f64::max) / temp;
            let sum: f64 = x.iter().map(|v| (v / temp - top).exp()).sum();
            x.map(|v| v / temp - top - sum.ln())
        };
        let mut total = 0.0;
        for ((s, t), &label) in s.iter().zip(t).zip(labels) {
            let (ls, lt) = (log_softmax(s, temp), log_softmax(t, temp));
            let kl: f64 = (0..3).map(|c| lt[c].exp() * (lt[c] - ls[c])).sum();
            let ce = -log_softmax(s, 1.0)[label];
            total += alpha * temp * temp * kl + (1.0 - alpha) * ce;
        }
        total / s.len() as f64
    }

    #[test]
    fn equals_the_formula_and_its_gradient_reaches_only_the_student() {
        let device = Device::default().autodiff();
        let s = [[1.0, -0.5, 0.3], [0.2, 2.0, -1.0]];
        let t = [[3.0, -1.0, 0.0], [-0.5, 1.5, 0.5]];
        let labels = [0usize, 2];
        let student =
            Tensor::<2>::from_floats(s.map(|r| r.map(|v| v as f32)), &device).require_grad();
        let teacher =
            Tensor::<2>::from_floats(t.map(|r| r.map(|v| v as f32)), &device).require_grad();
        let ids = Tensor::<1, Int>::from_ints([0, 2], &device);
        for (temp, alpha) in [(1.0, 0.5), (2.0, 0.5), (4.0, 0.9), (2.0, 1.0), (3.0, 0.0)] {
            let loss =
                distillation_loss(student.clone(), teacher.clone(), ids.clone(), temp, alpha);
            let value: f32 = loss.clone().into_scalar();
            let want = by_hand(&s, &t, &labels, temp, alpha);
            assert!(
                (value as f64 - want).abs() < 1e-5,
                "T {temp} α {alpha}: {value} vs {want}"
            );
            let grads = loss.backward();
            assert!(student.grad(&grads).is_some());
            assert!(teacher.grad(&grads).is_none());
        }
    }
}
