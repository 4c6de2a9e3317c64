//! Gradient attributions of a differentiable score: integrated gradients, gradient x input and
//! saliency, for inputs of any rank (token embeddings `[1, L, E]`, images `[1, C, H, W]`).

use burn::prelude::*;

use crate::error::{ExplainError, Result};
use crate::method::{ExplainConfig, Method};

/// One attribution per element of the input, and the scores it explains.
#[derive(Debug, Clone, PartialEq)]
pub struct ElementAttribution {
    /// Attributions in the input's row-major order (without the leading 1).
    pub values: Vec<f32>,
    /// The score of the input.
    pub score: f32,
    /// The score of the baseline.
    pub baseline_score: f32,
}

/// Attributes `score(input)` to the elements of `input` with a gradient method.
///
/// `score` maps a batch `[n, ...]` to one number per row `[n]` (a class probability, say) and
/// must be differentiable: `input` and `baseline` (`[1, ...]`, same shape) live on an autodiff
/// device, and the model inside `score` is frozen there (`Module::freeze`: no parameter
/// gradient, no dropout). Integrated gradients evaluates `config.steps` points of the path from
/// `baseline` to `input`, `config.batch_size` per backward pass, weighted by `config.rule`;
/// gradient x input and saliency take one backward pass at `input`.
pub fn gradient_attribution<const D: usize, F>(
    score: F,
    input: Tensor<D>,
    baseline: Tensor<D>,
    config: &ExplainConfig,
) -> Result<ElementAttribution>
where
    F: Fn(Tensor<D>) -> Tensor<1>,
{
    let (dims, base_dims) = (input.dims(), baseline.dims());
    if D < 2 || dims[0] != 1 || dims != base_dims {
        return Err(ExplainError::Input(format!(
            "the input and the baseline must be one item [1, ...] of the same shape; got {dims:?} and {base_dims:?}"
        )));
    }
    let input = input.detach();
    let baseline = baseline.detach();
    let ends = tensor_values(score(Tensor::cat(vec![input.clone(), baseline.clone()], 0)))?;
    let (score_x, score_b) = (ends[0], ends[1]);
    let x = tensor_values(input.clone())?;
    let values = match config.method {
        Method::IntegratedGradients => {
            if config.steps == 0 {
                return Err(ExplainError::ZeroSteps);
            }
            let b = tensor_values(baseline.clone())?;
            let mean_grad = path_gradient(&score, input, baseline, config)?;
            x.iter()
                .zip(&b)
                .zip(&mean_grad)
                .map(|((x, b), g)| ((*x as f64 - *b as f64) * g) as f32)
                .collect()
        }
        Method::GradientXInput => {
            let grad = gradient_at(&score, input)?;
            x.iter().zip(&grad).map(|(x, g)| x * g).collect()
        }
        Method::Saliency => gradient_at(&score, input)?
            .into_iter()
            .map(f32::abs)
            .collect(),
        other => {
            return Err(ExplainError::Read(format!(
                "{other} is not a gradient method"
            )));
        }
    };
    Ok(ElementAttribution {
        values,
        score: score_x,
        baseline_score: score_b,
    })
}

/// `∫₀¹ ∇score(b + α(x - b)) dα` by the configured rule, `batch_size` points per backward.
fn path_gradient<const D: usize, F>(
    score: &F,
    input: Tensor<D>,
    baseline: Tensor<D>,
    config: &ExplainConfig,
) -> Result<Vec<f64>>
where
    F: Fn(Tensor<D>) -> Tensor<1>,
{
    let device = input.device();
    let diff = input - baseline.clone();
    let mut total: Vec<f64> = Vec::new();
    for chunk in config
        .rule
        .points(config.steps)
        .chunks(config.batch_size.max(1))
    {
        let mut shape = [1usize; D];
        shape[0] = chunk.len();
        let alphas: Vec<f32> = chunk.iter().map(|(a, _)| *a as f32).collect();
        let weights: Vec<f32> = chunk.iter().map(|(_, w)| *w as f32).collect();
        let alphas = Tensor::<1>::from_floats(alphas.as_slice(), &device).reshape(shape);
        let points = (baseline.clone() + diff.clone() * alphas)
            .detach()
            .require_grad();
        // d/dx_k of Σ_j w_j score(x_j) is w_k ∇score(x_k): one backward for the whole chunk.
        let weighted =
            (score(points.clone()) * Tensor::from_floats(weights.as_slice(), &device)).sum();
        let grads = backward(&weighted)?;
        let grad = points.grad(&grads).ok_or(ExplainError::NoGradient)?;
        let summed = tensor_values(grad.sum_dim(0))?;
        if total.is_empty() {
            total = vec![0.0; summed.len()];
        }
        for (t, g) in total.iter_mut().zip(summed) {
            *t += g as f64;
        }
    }
    Ok(total)
}

/// `∇score(x)` for one input `[1, ...]`.
fn gradient_at<const D: usize, F>(score: &F, input: Tensor<D>) -> Result<Vec<f32>>
where
    F: Fn(Tensor<D>) -> Tensor<1>,
{
    let x = input.require_grad();
    let grads = backward(&score(x.clone()).sum())?;
    tensor_values(x.grad(&grads).ok_or(ExplainError::NoGradient)?)
}

/// The gradients of `out`, or an error where nothing tracked it (burn panics instead).
fn backward(out: &Tensor<1>) -> Result<burn::tensor::Gradients> {
    if !out.is_tracked() {
        return Err(ExplainError::NoGradient);
    }
    Ok(out.backward())
}

/// A tensor's values as `f32`s, in row-major order (any device, any float type).
pub fn tensor_values<const D: usize>(t: Tensor<D>) -> Result<Vec<f32>> {
    t.into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .map_err(|e| ExplainError::Read(format!("{e:?}")))
}
