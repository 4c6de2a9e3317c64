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

    /// Called with the number of updates made (`step`) and planned (`total_steps`) before the
    /// first update a process makes (a fresh or resumed run) and after every update, for tasks
    /// that change their own weights as training goes (gradual magnitude pruning: `tinderbox_nn::pruning::MagnitudePruning`).
    /// The default leaves the model as it is.
    fn after_update(self, step: usize, total_steps: usize) -> Self {
        let _ = (step, total_steps);
        self
    }
}
