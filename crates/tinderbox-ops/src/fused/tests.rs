//! The fused operations against burn's own, forward and backward, on the autodiff CPU device.

use super::*;
use burn::tensor::{Distribution, Tolerance};

fn device() -> Device {
    Device::default().autodiff()
}

fn random(shape: [usize; 3], device: &Device) -> Tensor<3> {
    Tensor::random(shape, Distribution::Normal(0.0, 2.0), device)
}

fn assert_close<const D: usize>(ours: Tensor<D>, theirs: Tensor<D>, what: &str) {
    assert_eq!(ours.dims(), theirs.dims(), "{what}: shape");
    let (ours, theirs) = (ours.into_data(), theirs.into_data());
    let diff = ours
        .iter::<f32>()
        .zip(theirs.iter::<f32>())
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(diff < 2e-5, "{what}: max abs difference {diff}");
}

/// Runs `ours` and `theirs` on the same input and a weighted sum of the output as the loss (so
/// that every output element has its own gradient) and compares outputs and input gradients.
fn check_unary(x: Tensor<3>, ours: fn(Tensor<3>) -> Tensor<3>, theirs: fn(Tensor<3>) -> Tensor<3>) {
    let weights = x.random_like(Distribution::Uniform(-1.0, 1.0)).detach();
    let run = |f: fn(Tensor<3>) -> Tensor<3>| {
        let x = x.clone().detach().require_grad();
        let y = f(x.clone());
        let grads = (y.clone() * weights.clone()).sum().backward();
        (y.detach(), x.grad(&grads).expect("x has a gradient"))
    };
    let (y_ours, dx_ours) = run(ours);
    let (y_theirs, dx_theirs) = run(theirs);
    assert_close(y_ours, y_theirs, "output");
    assert_close(dx_ours, dx_theirs, "input gradient");
}

#[test]
fn gelu_matches_burn_forward_and_backward() {
    let x = random([3, 5, 70], &device());
    check_unary(x, gelu, burn::tensor::activation::gelu);
}

#[test]
fn tanh_gelu_matches_burn_forward_and_backward() {
    let x = random([3, 5, 70], &device());
    check_unary(
        x.clone(),
        gelu_tanh,
        burn::tensor::activation::gelu_approximate,
    );
    // A strided view, and the same off autodiff.
    check_unary(
        x.swap_dims(1, 2),
        gelu_tanh,
        burn::tensor::activation::gelu_approximate,
    );
    let plain = random([2, 3, 40], &Device::default());
    assert_close(
        gelu_tanh(plain.clone()),
        burn::tensor::activation::gelu_approximate(plain.clone()),
        "without autodiff",
    );
    // The extension called directly on f64 goes through f32 and back, as no burn primitive
    // computes it (only the CPU backend implements the extension, with the `flex` feature).
    #[cfg(feature = "flex")]
    {
        let wide = plain.cast(DType::F64);
        let ours = Tensor::<3>::from_dispatch(<Dispatch as FusedOps>::fused_gelu(
            wide.clone().into_dispatch(),
            true,
        ));
        assert_eq!(ours.dtype(), DType::F64);
        assert_close(
            ours.cast(DType::F32),
            burn::tensor::activation::gelu_approximate(wide).cast(DType::F32),
            "f64",
        );
    }
}

#[test]
fn softmax_matches_burn_forward_and_backward_with_masked_keys() {
    let x = random([3, 5, 70], &device());
    let masked = x.clone().lower_elem(-2.0);
    let x = x.mask_fill(masked, f32::MIN);
    check_unary(
        x,
        |x| softmax(x, 2),
        |x| burn::tensor::activation::softmax(x, 2),
    );
}

#[test]
fn strided_inputs_and_other_dimensions_give_burns_result() {
    let x = random([4, 6, 8], &device()).swap_dims(1, 2);
    check_unary(x.clone(), gelu, burn::tensor::activation::gelu);
    check_unary(
        x.clone(),
        |x| softmax(x, 2),
        |x| burn::tensor::activation::softmax(x, 2),
    );
    check_unary(
        x,
        |x| softmax(x, 1),
        |x| burn::tensor::activation::softmax(x, 1),
    );
}

#[test]
fn layer_norm_matches_burn_forward_and_every_gradient() {
    let device = device();
    let x = random([3, 5, 40], &device).add_scalar(3.0);
    let gamma = Tensor::<1>::random([40], Distribution::Normal(1.0, 0.5), &device);
    let beta = Tensor::<1>::random([40], Distribution::Normal(0.0, 0.5), &device);
    let weights = x.random_like(Distribution::Uniform(-1.0, 1.0));
    let run = |fused: bool| {
        let (x, gamma, beta) = (
            x.clone().require_grad(),
            gamma.clone().require_grad(),
            beta.clone().require_grad(),
        );
        let y = if fused {
            layer_norm(x.clone(), gamma.clone(), Some(beta.clone()), 1e-12)
        } else {
            burn::tensor::module::layer_norm(x.clone(), gamma.clone(), Some(beta.clone()), 1e-12)
        };
        let grads = (y.clone() * weights.clone()).sum().backward();
        (
            y.detach(),
            x.grad(&grads).expect("x"),
            gamma.grad(&grads).expect("gamma"),
            beta.grad(&grads).expect("beta"),
        )
    };
    let (y, dx, dgamma, dbeta) = run(true);
    let (y_ref, dx_ref, dgamma_ref, dbeta_ref) = run(false);
    assert_close(y, y_ref, "output");
    assert_close(dx, dx_ref, "x gradient");
    assert_close(dgamma, dgamma_ref, "gamma gradient");
    assert_close(dbeta, dbeta_ref, "beta gradient");
}

#[test]
fn layer_norm_without_beta_and_without_autodiff() {
    let device = Device::default();
    let x = random([2, 3, 16], &device);
    let gamma = Tensor::<1>::random([16], Distribution::Normal(1.0, 0.5), &device);
    let ours = layer_norm(x.clone(), gamma.clone(), None, 1e-5);
    let theirs = burn::tensor::module::layer_norm(x, gamma, None, 1e-5);
    ours.into_data()
        .assert_approx_eq::<f32>(&theirs.into_data(), Tolerance::absolute(2e-5));
}

#[test]
fn nan_propagates_as_in_burn() {
    let device = Device::default();
    let x = Tensor::<2>::from_floats([[1.0, f32::NAN, 0.5]], &device);
    let gamma = Tensor::<1>::ones([3], &device);
    for y in [
        gelu(x.clone()),
        softmax(x.clone(), 1),
        layer_norm(x, gamma, None, 1e-5),
    ] {
        let values: Vec<f32> = y.into_data().try_to_vec().expect("f32");
        assert!(values[1].is_nan(), "{values:?}");
    }
}

#[test]
fn the_cpu_device_takes_the_fused_path_with_and_without_autodiff() {
    for device in [Device::default(), device()] {
        // Without the `flex` feature (`cargo test -p tinderbox-ops`) every op is burn's own.
        let fused = fusable(&Tensor::<1>::zeros([1], &device));
        assert_eq!(fused, cfg!(feature = "flex"), "{device:?}");
        let int_like = Tensor::<1>::zeros([1], &device).cast(DType::F64);
        assert!(!fusable(&int_like), "f64 goes to burn's operations");
    }
}

#[test]
fn empty_tensors_pass_through_and_mismatched_widths_are_burns_error() {
    let device = device();
    let empty = Tensor::<2>::zeros([3, 0], &device);
    assert_eq!(softmax(empty.clone(), 1).dims(), [3, 0]);
    assert_eq!(softmax(empty.clone(), 0).dims(), [3, 0]);
    assert_eq!(gelu(empty).dims(), [3, 0]);
    // burn's layer norm reports a gamma of the wrong width; so does ours, by routing it there.
    let x = Tensor::<2>::ones([2, 4], &device);
    let gamma = Tensor::<1>::ones([3], &device);
    let outcome = std::panic::catch_unwind(|| layer_norm(x, gamma, None, 1e-5).into_data());
    assert!(outcome.is_err());
}

#[test]
fn unshared_inputs_are_overwritten_with_the_same_values_and_shared_ones_kept() {
    // Without autodiff nothing else holds a fresh tensor, so GELU and layer norm write over it.
    let device = Device::default();
    let x = random([4, 9, 70], &device);
    let kept = x.to_data();
    let (gamma, beta) = (
        Tensor::<1>::random([70], Distribution::Normal(1.0, 0.5), &device),
        Tensor::<1>::random([70], Distribution::Normal(0.0, 0.5), &device),
    );
    let shared = [
        gelu(x.clone()),
        layer_norm(x.clone(), gamma.clone(), Some(beta.clone()), 1e-5),
    ];
    // `x` itself is untouched by the calls that shared it.
    assert_eq!(x.to_data(), kept);
    let fresh = || Tensor::<3>::from_data(kept.clone(), &device);
    let owned = [
        gelu(fresh()),
        layer_norm(fresh(), gamma.clone(), Some(beta.clone()), 1e-5),
    ];
    for (a, b) in shared.into_iter().zip(owned) {
        assert_eq!(a.into_data(), b.into_data());
    }
    // And both equal burn's.
    assert_close(
        gelu(fresh()),
        burn::tensor::activation::gelu(fresh()),
        "gelu",
    );
    let burns = burn::tensor::module::layer_norm(fresh(), gamma.clone(), Some(beta.clone()), 1e-5);
    assert_close(
        layer_norm(fresh(), gamma, Some(beta), 1e-5),
        burns,
        "layer norm",
    );
}
