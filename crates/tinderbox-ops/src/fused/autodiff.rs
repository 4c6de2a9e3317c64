//! [`FusedOps`] under autodiff: one graph node per operation, whose backward pass calls the inner
//! backend's fused gradient. Each keeps what its gradient needs (GELU and layer norm their input,
//! softmax its output) rather than the intermediate tensors of a composed version.

use super::FusedOps;
use burn::backend::autodiff::Autodiff;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind, unary};
use burn::backend::tensor::FloatTensor;
use burn::backend::{AutodiffBackend, Backend};

#[derive(Debug)]
struct Gelu;

impl<B: Backend + FusedOps> Backward<B, 1> for Gelu {
    type State = B::FloatTensorPrimitive;

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let x = ops.state;
        unary::<B, _>(ops.parents, ops.node, grads, |grad| {
            B::fused_gelu_backward(x, grad)
        });
    }
}

#[derive(Debug)]
struct Softmax;

impl<B: Backend + FusedOps> Backward<B, 1> for Softmax {
    type State = B::FloatTensorPrimitive;

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let y = ops.state;
        unary::<B, _>(ops.parents, ops.node, grads, |grad| {
            B::fused_softmax_backward(y, grad)
        });
    }
}

#[derive(Debug)]
struct LayerNorm;

impl<B: Backend + FusedOps> Backward<B, 3> for LayerNorm {
    /// The input, gamma and epsilon.
    type State = (B::FloatTensorPrimitive, B::FloatTensorPrimitive, f64);

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let (x, gamma, epsilon) = ops.state;
        let grad = grads.consume::<B>(&ops.node);
        let [x_node, gamma_node, beta_node] = ops.parents;
        let (dx, dgamma, dbeta) = B::fused_layer_norm_backward(x, gamma, grad, epsilon);
        for (node, grad) in [(x_node, dx), (gamma_node, dgamma), (beta_node, dbeta)] {
            if let Some(node) = node {
                grads.register::<B>(node.id, grad);
            }
        }
    }
}

impl<B: Backend + FusedOps, C: CheckpointStrategy> FusedOps for Autodiff<B, C> {
    fn fused_gelu(x: FloatTensor<Self>) -> FloatTensor<Self> {
        let node = x.node();
        let x = x.into_primitive();
        match Gelu.prepare::<C>([node]).compute_bound().stateful() {
            OpsKind::Tracked(prep) => prep.finish(x.clone(), B::fused_gelu(x)),
            OpsKind::UnTracked(prep) => prep.finish(B::fused_gelu(x)),
        }
    }

    fn fused_gelu_backward(x: FloatTensor<Self>, grad: FloatTensor<Self>) -> FloatTensor<Self> {
        // Second derivatives are not needed by any model here; the result is a constant.
        let dx = B::fused_gelu_backward(x.into_primitive(), grad.into_primitive());
        <Autodiff<B, C> as AutodiffBackend>::from_inner(dx)
    }

    fn fused_softmax(x: FloatTensor<Self>) -> FloatTensor<Self> {
        let node = x.node();
        let y = B::fused_softmax(x.into_primitive());
        match Softmax.prepare::<C>([node]).compute_bound().stateful() {
            OpsKind::Tracked(prep) => prep.finish(y.clone(), y),
            OpsKind::UnTracked(prep) => prep.finish(y),
        }
    }

    fn fused_softmax_backward(y: FloatTensor<Self>, grad: FloatTensor<Self>) -> FloatTensor<Self> {
        let dx = B::fused_softmax_backward(y.into_primitive(), grad.into_primitive());
        <Autodiff<B, C> as AutodiffBackend>::from_inner(dx)
    }

    fn fused_layer_norm(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
    ) -> FloatTensor<Self> {
        let nodes = [x.node(), gamma.node(), beta.node()];
        let (x, gamma, beta) = (
            x.into_primitive(),
            gamma.into_primitive(),
            beta.into_primitive(),
        );
        match LayerNorm.prepare::<C>(nodes).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let y = B::fused_layer_norm(x.clone(), gamma.clone(), beta, epsilon);
                prep.finish((x, gamma, epsilon), y)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::fused_layer_norm(x, gamma, beta, epsilon)),
        }
    }

    fn fused_layer_norm_backward(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        epsilon: f64,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        let (dx, dgamma, dbeta) = B::fused_layer_norm_backward(
            x.into_primitive(),
            gamma.into_primitive(),
            grad.into_primitive(),
            epsilon,
        );
        (
            <Autodiff<B, C> as AutodiffBackend>::from_inner(dx),
            <Autodiff<B, C> as AutodiffBackend>::from_inner(dgamma),
            <Autodiff<B, C> as AutodiffBackend>::from_inner(dbeta),
        )
    }
}
