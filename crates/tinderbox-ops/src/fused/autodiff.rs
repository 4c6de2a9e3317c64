//! [`FusedOps`] under autodiff: one graph node per operation, whose backward pass calls the inner
//! backend's fused gradient. Each keeps what its gradient needs (GELU and layer norm their input,
//! softmax its output, the dense layer its input and weight) rather than the intermediate tensors of a composed version.

use super::FusedOps;
use crate::adamw::AdamWStep;
use burn::backend::autodiff::Autodiff;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind, unary};
use burn::backend::tensor::FloatTensor;
use burn::backend::{AutodiffBackend, Backend};

#[derive(Debug)]
struct Gelu {
    tanh: bool,
}

impl<B: Backend + FusedOps> Backward<B, 1> for Gelu {
    type State = B::FloatTensorPrimitive;

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let x = ops.state;
        unary::<B, _>(ops.parents, ops.node, grads, |grad| {
            B::fused_gelu_backward(x, grad, self.tanh)
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

#[derive(Debug)]
struct Linear;

impl<B: Backend + FusedOps> Backward<B, 3> for Linear {
    /// The input and the weight.
    type State = (B::FloatTensorPrimitive, B::FloatTensorPrimitive);

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let (x, weight) = ops.state;
        let grad = grads.consume::<B>(&ops.node);
        let [x_node, weight_node, bias_node] = ops.parents;
        if let Some(node) = x_node {
            let dx = B::fused_linear_backward_input(weight, grad.clone());
            grads.register::<B>(node.id, dx);
        }
        if weight_node.is_none() && bias_node.is_none() {
            return;
        }
        let (dweight, dbias) = B::fused_linear_backward_params(x, grad);
        for (node, grad) in [(weight_node, dweight), (bias_node, dbias)] {
            if let Some(node) = node {
                grads.register::<B>(node.id, grad);
            }
        }
    }
}

#[derive(Debug)]
struct Attention;

impl<B: Backend + FusedOps> Backward<B, 3> for Attention {
    /// q, k, v, the probabilities before dropout, the dropout multipliers, the number of heads.
    type State = ([B::FloatTensorPrimitive; 5], usize);

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let ([q, k, v, probs, keep], heads) = ops.state;
        let grad = grads.consume::<B>(&ops.node);
        let (dq, dk, dv) = B::fused_attention_backward(q, k, v, probs, keep, grad, heads);
        for (node, grad) in ops.parents.into_iter().zip([dq, dk, dv]) {
            if let Some(node) = node {
                grads.register::<B>(node.id, grad);
            }
        }
    }
}

impl<B: Backend + FusedOps, C: CheckpointStrategy> FusedOps for Autodiff<B, C> {
    fn fused_gelu(x: FloatTensor<Self>, tanh: bool) -> FloatTensor<Self> {
        let node = x.node();
        let x = x.into_primitive();
        match (Gelu { tanh })
            .prepare::<C>([node])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => prep.finish(x.clone(), B::fused_gelu(x, tanh)),
            OpsKind::UnTracked(prep) => prep.finish(B::fused_gelu(x, tanh)),
        }
    }

    fn fused_gelu_backward(
        x: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        tanh: bool,
    ) -> FloatTensor<Self> {
        // Second derivatives are not needed by any model here; the result is a constant.
        let dx = B::fused_gelu_backward(x.into_primitive(), grad.into_primitive(), tanh);
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

    fn fused_linear(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        let nodes = [x.node(), weight.node(), bias.node()];
        let (x, weight, bias) = (
            x.into_primitive(),
            weight.into_primitive(),
            bias.into_primitive(),
        );
        match Linear.prepare::<C>(nodes).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let y = B::fused_linear(x.clone(), weight.clone(), bias);
                prep.finish((x, weight), y)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::fused_linear(x, weight, bias)),
        }
    }

    fn fused_linear_backward_input(
        weight: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        let dx = B::fused_linear_backward_input(weight.into_primitive(), grad.into_primitive());
        <Autodiff<B, C> as AutodiffBackend>::from_inner(dx)
    }

    fn fused_linear_backward_params(
        x: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>) {
        let (dweight, dbias) =
            B::fused_linear_backward_params(x.into_primitive(), grad.into_primitive());
        (
            <Autodiff<B, C> as AutodiffBackend>::from_inner(dweight),
            <Autodiff<B, C> as AutodiffBackend>::from_inner(dbias),
        )
    }

    fn fused_attention(
        q: FloatTensor<Self>,
        k: FloatTensor<Self>,
        v: FloatTensor<Self>,
        key_bias: FloatTensor<Self>,
        keep: FloatTensor<Self>,
        heads: usize,
        causal: bool,
    ) -> FloatTensor<Self> {
        let nodes = [q.node(), k.node(), v.node()];
        let [q, k, v] = [q, k, v].map(|t| t.into_primitive());
        // The masks are constants: no gradient flows into them.
        let (key_bias, keep) = (key_bias.into_primitive(), keep.into_primitive());
        match Attention.prepare::<C>(nodes).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let (context, probs) = B::fused_attention_with_probs(
                    q.clone(),
                    k.clone(),
                    v.clone(),
                    key_bias,
                    keep.clone(),
                    heads,
                    causal,
                );
                prep.finish(([q, k, v, probs, keep], heads), context)
            }
            OpsKind::UnTracked(prep) => {
                prep.finish(B::fused_attention(q, k, v, key_bias, keep, heads, causal))
            }
        }
    }

    fn fused_attention_with_probs(
        q: FloatTensor<Self>,
        k: FloatTensor<Self>,
        v: FloatTensor<Self>,
        key_bias: FloatTensor<Self>,
        keep: FloatTensor<Self>,
        heads: usize,
        causal: bool,
    ) -> (FloatTensor<Self>, FloatTensor<Self>) {
        let [q, k, v] = [q, k, v].map(|t| t.into_primitive());
        let (context, probs) = B::fused_attention_with_probs(
            q,
            k,
            v,
            key_bias.into_primitive(),
            keep.into_primitive(),
            heads,
            causal,
        );
        (
            <Autodiff<B, C> as AutodiffBackend>::from_inner(context),
            <Autodiff<B, C> as AutodiffBackend>::from_inner(probs),
        )
    }

    fn fused_adamw(
        param: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        moment_1: FloatTensor<Self>,
        moment_2: FloatTensor<Self>,
        step: AdamWStep,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        // Optimizers update the inner tensors; this only unwraps tensors that track nothing.
        let [param, grad, moment_1, moment_2] =
            [param, grad, moment_1, moment_2].map(|t| t.into_primitive());
        let (param, moment_1, moment_2) = B::fused_adamw(param, grad, moment_1, moment_2, step);
        (
            <Autodiff<B, C> as AutodiffBackend>::from_inner(param),
            <Autodiff<B, C> as AutodiffBackend>::from_inner(moment_1),
            <Autodiff<B, C> as AutodiffBackend>::from_inner(moment_2),
        )
    }

    fn fused_attention_backward(
        q: FloatTensor<Self>,
        k: FloatTensor<Self>,
        v: FloatTensor<Self>,
        probs: FloatTensor<Self>,
        keep: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        heads: usize,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        let [q, k, v, probs, keep, grad] = [q, k, v, probs, keep, grad].map(|t| t.into_primitive());
        let (dq, dk, dv) = B::fused_attention_backward(q, k, v, probs, keep, grad, heads);
        (
            <Autodiff<B, C> as AutodiffBackend>::from_inner(dq),
            <Autodiff<B, C> as AutodiffBackend>::from_inner(dk),
            <Autodiff<B, C> as AutodiffBackend>::from_inner(dv),
        )
    }
}
