//! The seed program's MNIST CNN, after the Keras original (Keras 3 `Conv2D`, `MaxPooling2D`,
//! `Dense` with their default Glorot-uniform kernels and zero biases; the PyTorch twin in
//! `benches/compare/mnist_cnn_torch.py` reaches the same test accuracy, 98.5 %, constant rate):
//!
//! ```text
//! Conv2D(32, 3x3, relu) -> MaxPooling2D(2x2) -> Flatten -> Dense(128, relu) -> Dense(10)
//! ```
//!
//! with Glorot-uniform kernels and zero biases (Keras' defaults). The softmax lives in the loss.
//! Keras flattens channels-last and burn channels-first; the two orders are a fixed permutation
//! of `fc1`'s rows, so training from scratch is the same model.
//!
//! The convolution and pooling run as one fused op ([`conv2d_max_pool2`]), which gives the same
//! values as burn's `Conv2d` then `MaxPool2d` (to one rounding) at a third of the CPU time; the
//! `conv` field is a plain burn `Conv2d`, so the weights load and save as usual.

use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{Linear, LinearConfig, Relu};
use burn::prelude::*;
use tinderbox_ops::conv2d_max_pool2;

use crate::init::{glorot_uniform, zero_bias};

/// The recipe of a [`MnistCnn`]; saved in a run's `config.json`.
#[derive(Config, Debug, PartialEq)]
pub struct MnistCnnConfig {
    /// Input channels (1 for grey-scale).
    #[config(default = 1)]
    pub in_channels: usize,
    /// Input height and width.
    #[config(default = "[28, 28]")]
    pub image_size: [usize; 2],
    /// Convolution filters.
    #[config(default = 32)]
    pub conv_channels: usize,
    /// Convolution kernel size (square).
    #[config(default = 3)]
    pub kernel_size: usize,
    /// Units of the hidden dense layer.
    #[config(default = 128)]
    pub hidden: usize,
    /// Output classes.
    #[config(default = 10)]
    pub num_classes: usize,
}

/// Conv -> ReLU -> max-pool -> flatten -> dense -> ReLU -> dense.
///
/// ```
/// use burn::prelude::*;
/// use tinderbox_nn::cnn::MnistCnnConfig;
///
/// let device = Device::default();
/// let model = MnistCnnConfig::new().init(&device);
/// let logits = model.forward(Tensor::zeros([2, 1, 28, 28], &device));
/// assert_eq!(logits.dims(), [2, 10]);
/// assert_eq!(model.num_params(), 320 + 5408 * 128 + 128 + 1290);
/// ```
#[derive(Module, Debug)]
pub struct MnistCnn {
    conv: Conv2d,
    fc1: Linear,
    fc2: Linear,
    relu: Relu,
}

impl MnistCnnConfig {
    /// The number of features after convolution and pooling.
    pub fn flat_features(&self) -> usize {
        let [h, w] = self.image_size;
        let side = |s: usize| (s + 1).saturating_sub(self.kernel_size) / 2;
        self.conv_channels * side(h) * side(w)
    }

    /// Builds the model with Keras' initialisers.
    pub fn init(&self, device: &Device) -> MnistCnn {
        let mut conv = Conv2dConfig::new(
            [self.in_channels, self.conv_channels],
            [self.kernel_size, self.kernel_size],
        )
        .with_initializer(glorot_uniform())
        .init(device);
        conv.bias = Some(zero_bias(self.conv_channels, device));
        let dense = |d_in, d_out| {
            let mut layer = LinearConfig::new(d_in, d_out)
                .with_initializer(glorot_uniform())
                .init(device);
            layer.bias = Some(zero_bias(d_out, device));
            layer
        };
        MnistCnn {
            conv,
            fc1: dense(self.flat_features(), self.hidden),
            fc2: dense(self.hidden, self.num_classes),
            relu: Relu::new(),
        }
    }
}

impl MnistCnn {
    /// Images `[B, C, H, W]` in `0..1` to class logits `[B, classes]`.
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        let bias = self.conv.bias.as_ref().map(|b| b.val());
        // ReLU commutes with the max-pool, so it runs on the pooled map.
        let x = conv2d_max_pool2(images, self.conv.weight.val(), bias);
        let x: Tensor<2> = self.relu.forward(x).flatten(1, 3);
        let x = self.relu.forward(self.fc1.forward(x));
        self.fc2.forward(x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_matches_keras_defaults() {
        let device = Device::default();
        device.seed(3);
        let model = MnistCnnConfig::new().init(&device);
        // Glorot limit for the 3x3 conv: sqrt(6 / (9 + 288)); for fc1: sqrt(6 / (5408 + 128)).
        for (w, limit) in [
            (
                model.conv.weight.val().flatten::<1>(0, 3),
                (6.0f32 / 297.0).sqrt(),
            ),
            (
                model.fc1.weight.val().flatten::<1>(0, 1),
                (6.0f32 / 5536.0).sqrt(),
            ),
        ] {
            let v = w.into_data().try_to_vec::<f32>().unwrap();
            let max = v.iter().fold(0f32, |m, x| m.max(x.abs()));
            assert!(max <= limit, "max {max} over Glorot limit {limit}");
            assert!(
                max > 0.9 * limit,
                "max {max} far below Glorot limit {limit}"
            );
            // U(-l, l) has standard deviation l / sqrt(3); allow 5 standard errors of the mean.
            let mean = v.iter().sum::<f32>() / v.len() as f32;
            let bound = 5.0 * limit / (3.0 * v.len() as f32).sqrt();
            assert!(mean.abs() < bound, "mean {mean} over {bound}");
        }
        let biases = [
            model.conv.bias.as_ref().unwrap().val(),
            model.fc1.bias.as_ref().unwrap().val(),
            model.fc2.bias.as_ref().unwrap().val(),
        ];
        for b in biases {
            assert!(
                b.into_data()
                    .try_to_vec::<f32>()
                    .unwrap()
                    .iter()
                    .all(|&x| x == 0.0)
            );
        }
    }

    #[test]
    fn forward_equals_burns_conv_relu_pool_layers() {
        use burn::nn::pool::MaxPool2dConfig;
        use burn::tensor::Distribution;
        let device = Device::default();
        let model = MnistCnnConfig::new().init(&device);
        let x = Tensor::<4>::random([4, 1, 28, 28], Distribution::Default, &device);
        let pool = MaxPool2dConfig::new([2, 2]).init();
        let h = pool.forward(model.relu.forward(model.conv.forward(x.clone())));
        let h = model.relu.forward(model.fc1.forward(h.flatten::<2>(1, 3)));
        let expected = model.fc2.forward(h);
        let diff: f32 = (model.forward(x) - expected).abs().max().into_scalar();
        assert!(diff < 1e-5, "{diff}");
    }

    #[test]
    fn shapes_follow_the_config() {
        let device = Device::default();
        let config = MnistCnnConfig::new()
            .with_image_size([12, 10])
            .with_conv_channels(4)
            .with_hidden(8)
            .with_num_classes(3);
        assert_eq!(config.flat_features(), 4 * 5 * 4);
        let logits = config
            .init(&device)
            .forward(Tensor::ones([2, 1, 12, 10], &device));
        assert_eq!(logits.dims(), [2, 3]);
    }
}
