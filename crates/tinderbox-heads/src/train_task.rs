//! The training glue (feature `train`): the heads' models as `tinderbox-train` [`TrainTask`]s
//! and as burn's `TrainStep`/`InferenceStep`, on `tinderbox-data`'s batches. Everything else
//! in this crate works without it, so that inference pulls in neither the loop nor the data
//! sources.

use burn::nn::loss::CrossEntropyLossConfig;
use burn::train::{ClassificationOutput, InferenceStep, TrainOutput, TrainStep};
use tinderbox_data::mlm::MlmBatch;
use tinderbox_data::text::TextBatch;
use tinderbox_data::vision::ImageBatch;
use tinderbox_nn::SequenceEncoder;
use tinderbox_nn::cnn::ImageModel;
use tinderbox_ops::cross_entropy;
use tinderbox_train::TrainTask;

use crate::{
    BertForMaskedLm, Head, ImageClassifier, LstmForMaskedLm, MaskedLm, SequenceClassifier,
};

impl<M: ImageModel> ImageClassifier<M> {
    /// Scores a batch: logits, mean cross-entropy and targets.
    pub fn forward_batch(&self, batch: ImageBatch) -> ClassificationOutput {
        let logits = self.model.forward_images(batch.images);
        let loss = CrossEntropyLossConfig::new()
            .init(&logits.device())
            .forward(logits.clone(), batch.targets.clone());
        ClassificationOutput::new(loss, logits, batch.targets)
    }
}

impl<E: SequenceEncoder, H: Head> SequenceClassifier<E, H> {
    /// Scores a batch: logits, the head's loss and the labels.
    pub fn forward_batch(&self, batch: TextBatch) -> ClassificationOutput {
        let logits = self.logits(batch.ids, batch.mask_pad);
        let loss = self.head.loss(logits.clone(), batch.labels.clone());
        ClassificationOutput::new(loss, logits, batch.labels)
    }
}

/// Scores an [`MlmBatch`]: the mean cross-entropy at the masked positions, with their logits
/// and original tokens as the rows of a [`ClassificationOutput`] (so accuracy is masked-token
/// accuracy).
pub fn masked_lm_output<M: MaskedLm>(model: &M, batch: MlmBatch) -> ClassificationOutput {
    let logits = model.logits_at(batch.input_ids, batch.mask_pad, batch.masked_positions);
    let loss = cross_entropy(logits.clone(), batch.masked_labels.clone(), 0.0);
    ClassificationOutput::new(loss, logits, batch.masked_labels)
}

impl<M: ImageModel + Clone + Send + 'static> TrainTask for ImageClassifier<M> {
    type Batch = ImageBatch;

    fn forward_classification(&self, batch: ImageBatch) -> ClassificationOutput {
        self.forward_batch(batch)
    }
}

impl<E, H> TrainTask for SequenceClassifier<E, H>
where
    E: SequenceEncoder + Clone + Send + 'static,
    H: Head + Clone + Send + 'static,
{
    type Batch = TextBatch;

    fn forward_classification(&self, batch: TextBatch) -> ClassificationOutput {
        self.forward_batch(batch)
    }
}

impl TrainTask for BertForMaskedLm {
    type Batch = MlmBatch;

    fn forward_classification(&self, batch: MlmBatch) -> ClassificationOutput {
        masked_lm_output(self, batch)
    }
}

impl TrainTask for LstmForMaskedLm {
    type Batch = MlmBatch;

    fn forward_classification(&self, batch: MlmBatch) -> ClassificationOutput {
        masked_lm_output(self, batch)
    }
}

/// burn's `TrainStep` and `InferenceStep` for a model with a `forward_batch`, so that burn's
/// `Learner` trains it too.
macro_rules! burn_steps {
    ([$($generics:tt)*] $model:ty, $batch:ty) => {
        impl<$($generics)*> TrainStep for $model {
            type Input = $batch;
            type Output = ClassificationOutput;

            fn step(&self, batch: $batch) -> TrainOutput<ClassificationOutput> {
                let output = self.forward_batch(batch);
                TrainOutput::new(self, output.loss.backward(), output)
            }
        }

        impl<$($generics)*> InferenceStep for $model {
            type Input = $batch;
            type Output = ClassificationOutput;

            fn step(&self, batch: $batch) -> ClassificationOutput {
                self.forward_batch(batch)
            }
        }
    };
}

burn_steps!([M: ImageModel] ImageClassifier<M>, ImageBatch);
burn_steps!([E: SequenceEncoder, H: Head] SequenceClassifier<E, H>, TextBatch);

#[cfg(test)]
mod tests {
    use super::*;
    use burn::prelude::*;
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
