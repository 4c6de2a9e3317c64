//! Image classification: any [`ImageModel`] scored with softmax cross-entropy (with the `train`
//! feature, on `ImageBatch`es, trainable by tinderbox's `Trainer` and by burn's `Learner`).

use burn::prelude::*;
use burn::tensor::activation::softmax;
use tinderbox_nn::cnn::ImageModel;

/// An image model with a softmax cross-entropy loss (Keras' `sparse_categorical_crossentropy`
/// on a softmax output).
///
/// ```
/// use burn::prelude::*;
/// use tinderbox_heads::ImageClassifier;
/// use tinderbox_nn::cnn::MnistCnnConfig;
///
/// let device = Device::default();
/// let classifier = ImageClassifier::new(MnistCnnConfig::new().init(&device));
/// let probs = classifier.predict_proba(Tensor::zeros([4, 1, 28, 28], &device));
/// assert_eq!(probs.dims(), [4, 10]);
/// ```
#[derive(Module, Debug)]
pub struct ImageClassifier<M> {
    /// The image model producing logits.
    pub model: M,
}

impl<M: ImageModel> ImageClassifier<M> {
    /// Wraps `model`.
    pub fn new(model: M) -> Self {
        Self { model }
    }

    /// Class probabilities `[B, classes]`.
    pub fn predict_proba(&self, images: Tensor<4>) -> Tensor<2> {
        softmax(self.model.forward_images(images), 1)
    }
}
