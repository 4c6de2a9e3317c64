//! The one trait a model implements to be trained by the [`Trainer`](crate::Trainer).

use burn::module::Module;
use burn::train::ClassificationOutput;

/// A model that turns a batch into a loss and class predictions.
///
/// The [`Trainer`](crate::Trainer) adds weight penalties, runs the backward pass, clips,
/// accumulates and steps the optimizer; the task only says how a batch is scored. Tasks that are
/// not plain classification (masked-LM) report the positions they score as rows of
/// [`ClassificationOutput`] (for example, only the masked tokens), so accuracy still means
/// "right predictions over scored positions".
pub trait TrainTask: Module + Clone + Send + 'static {
    /// The batch type, as a burn `Batcher` builds it.
    type Batch: Send + Clone + std::fmt::Debug + 'static;

    /// Scores a batch: the mean loss, the logits `[N, classes]` and the targets `[N]`.
    fn forward_classification(&self, batch: Self::Batch) -> ClassificationOutput;
}
