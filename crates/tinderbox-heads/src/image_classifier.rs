//! Image classification: any [`ImageModel`] scored with softmax cross-entropy on
//! [`ImageBatch`]es, trainable by tinderbox's `Trainer` and by burn's `Learner`.

use burn::nn::loss::CrossEntropyLossConfig;
use burn::prelude::*;
use burn::tensor::activation::softmax;
use burn::train::{ClassificationOutput, InferenceStep, TrainOutput, TrainStep};
use tinderbox_data::vision::ImageBatch;
use tinderbox_nn::cnn::ImageModel;
use tinderbox_train::TrainTask;

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

    /// Scores a batch: logits, mean cross-entropy and targets.
    pub fn forward_batch(&self, batch: ImageBatch) -> ClassificationOutput {
        let logits = self.model.forward_images(batch.images);
        let loss = CrossEntropyLossConfig::new()
            .init(&logits.device())
            .forward(logits.clone(), batch.targets.clone());
        ClassificationOutput::new(loss, logits, batch.targets)
    }
}

impl<M: ImageModel + Clone + Send + 'static> TrainTask for ImageClassifier<M> {
    type Batch = ImageBatch;

    fn forward_classification(&self, batch: ImageBatch) -> ClassificationOutput {
        self.forward_batch(batch)
    }
}

impl<M: ImageModel> TrainStep for ImageClassifier<M> {
    type Input = ImageBatch;
    type Output = ClassificationOutput;

    fn step(&self, batch: ImageBatch) -> TrainOutput<ClassificationOutput> {
        let output = self.forward_batch(batch);
        TrainOutput::new(self, output.loss.backward(), output)
    }
}

impl<M: ImageModel> InferenceStep for ImageClassifier<M> {
    type Input = ImageBatch;
    type Output = ClassificationOutput;

    fn step(&self, batch: ImageBatch) -> ClassificationOutput {
        self.forward_batch(batch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Distribution;
    use tinderbox_nn::cnn::MnistCnnConfig;

    #[test]
    fn loss_is_the_mean_negative_log_likelihood() {
        let device = Device::default();
        let classifier = ImageClassifier::new(
            MnistCnnConfig::new()
                .with_image_size([6, 6])
                .with_conv_channels(2)
                .with_hidden(4)
                .with_num_classes(3)
                .init(&device),
        );
        let images = Tensor::<4>::random([5, 1, 6, 6], Distribution::Default, &device);
        let targets = Tensor::<1, Int>::from_ints([0, 1, 2, 1, 0], &device);
        let out = classifier.forward_batch(ImageBatch {
            images: images.clone(),
            targets,
        });
        let probs = classifier
            .predict_proba(images)
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        let nll: f32 = [0usize, 1, 2, 1, 0]
            .iter()
            .enumerate()
            .map(|(i, &t)| -probs[i * 3 + t].ln())
            .sum::<f32>()
            / 5.0;
        let loss: f32 = out.loss.into_scalar();
        assert!((loss - nll).abs() < 1e-5, "{loss} vs {nll}");
    }
}
