//! The training glue (feature `train`): the heads' models as `tinderbox-train` [`TrainTask`]s
//! and as burn's `TrainStep`/`InferenceStep`, on `tinderbox-data`'s batches. Everything else
//! in this crate works without it, so that inference pulls in neither the loop nor the data
//! sources.

use burn::nn::loss::CrossEntropyLossConfig;
use burn::prelude::Tensor;
use burn::train::{ClassificationOutput, InferenceStep, TrainOutput, TrainStep};
use tinderbox_data::causal_lm::CausalLmBatch;
use tinderbox_data::mlm::MlmBatch;
use tinderbox_data::text::TextBatch;
use tinderbox_data::vision::ImageBatch;
use tinderbox_nn::SequenceEncoder;
use tinderbox_nn::cnn::ImageModel;
use tinderbox_ops::{cross_entropy, distillation_loss};
use tinderbox_train::TrainTask;

use crate::{
    BertForMaskedLm, Gpt2ForCausalLm, Head, ImageClassifier, LstmForMaskedLm, MaskedLm,
    SequenceClassifier,
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
    /// Scores a batch: logits, the head's loss and the labels; with distillation settings and
    /// a batch that carries a teacher's logits, the distillation loss instead.
    pub fn forward_batch(&self, batch: TextBatch) -> ClassificationOutput {
        let logits = self.logits(batch.ids, batch.mask_pad);
        let loss = match (self.distillation, batch.teacher_logits) {
            (Some(d), Some(teacher)) => distillation_loss(
                logits.clone(),
                teacher,
                batch.labels.clone(),
                d.temperature,
                d.alpha,
            ),
            _ => self.head.loss(logits.clone(), batch.labels.clone()),
        };
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

/// Scores a [`CausalLmBatch`]: the mean cross-entropy of the next token at each listed
/// position (Hugging Face's `GPT2LMHeadModel` loss with padding labelled -100), with those
/// positions' logits and tokens as the rows of a [`ClassificationOutput`] (so accuracy is
/// next-token accuracy).
///
/// A batch longer than the model's context has nothing to score it with: its loss is NaN, which
/// the trainers stop on, naming the step. A [`CausalLmCollator`](tinderbox_data::causal_lm::CausalLmCollator)
/// made with the model's `n_positions` never builds one.
pub fn causal_lm_output(model: &Gpt2ForCausalLm, batch: CausalLmBatch) -> ClassificationOutput {
    let targets = batch.targets;
    match model.logits_at(batch.input_ids, batch.mask_pad, batch.positions) {
        Ok(logits) => {
            let loss = cross_entropy(logits.clone(), targets.clone(), 0.0);
            ClassificationOutput::new(loss, logits, targets)
        }
        Err(_) => {
            let device = targets.device();
            let [m] = targets.dims();
            let vocab = model.transformer.config().vocab_size;
            ClassificationOutput::new(
                Tensor::<1>::from_floats([f32::NAN], &device),
                Tensor::zeros([m, vocab], &device),
                targets,
            )
        }
    }
}

impl TrainTask for Gpt2ForCausalLm {
    type Batch = CausalLmBatch;

    fn forward_classification(&self, batch: CausalLmBatch) -> ClassificationOutput {
        causal_lm_output(self, batch)
    }
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

    fn after_update(mut self, step: usize, total_steps: usize) -> Self {
        match self.pruning.take() {
            Some(mut pruning) => {
                let mut model = pruning.apply(self, step, total_steps);
                model.pruning = Some(pruning);
                model
            }
            None => self,
        }
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
    fn the_causal_loss_is_the_mean_next_token_negative_log_likelihood() {
        use tinderbox_data::causal_lm::CausalLmCollator;
        use tinderbox_nn::decoder::Gpt2Config;

        let device = Device::default();
        let mut config = Gpt2Config::new(30, 8, 8, 1, 2);
        config.initializer_range = 0.5;
        let model = Gpt2ForCausalLm::new(config.init(&device).unwrap());
        let rows = vec![vec![0, 4, 9, 2], vec![0, 17]];
        let batch = CausalLmCollator::new(1, 8).batch(&rows, &device).unwrap();
        let out = causal_lm_output(&model, batch);
        // By hand: each row alone through the whole-sequence pass, log-softmax of every logit.
        let mut nll = Vec::new();
        for row in &rows {
            let ids = Tensor::<1, Int>::from_data(
                TensorData::new(row.iter().map(|&i| i as i64).collect(), [row.len()]),
                &device,
            )
            .unsqueeze::<2>();
            let hidden = model.transformer.forward_sequence(ids, None).unwrap();
            let logits: Vec<f32> = model
                .transformer
                .logits(hidden)
                .unwrap()
                .into_data()
                .try_to_vec()
                .unwrap();
            for (at, next) in row.iter().enumerate().skip(1) {
                let scores = &logits[(at - 1) * 30..at * 30];
                let top = scores.iter().cloned().fold(f32::MIN, f32::max);
                let log_sum = scores.iter().map(|s| (s - top).exp()).sum::<f32>().ln() + top;
                nll.push(log_sum - scores[*next as usize]);
            }
        }
        let expected = nll.iter().sum::<f32>() / nll.len() as f32;
        let loss: f32 = out.loss.into_scalar();
        assert_eq!(out.output.dims(), [4, 30]);
        assert!((loss - expected).abs() < 1e-5, "{loss} vs {expected}");
        // A batch past the context is a NaN loss, not a panic.
        let long = CausalLmCollator::new(1, 20)
            .batch(&[vec![3; 12]], &device)
            .unwrap();
        let loss: f32 = causal_lm_output(&model, long).loss.into_scalar();
        assert!(loss.is_nan());
    }

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
