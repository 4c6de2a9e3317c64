//! The progress bar of an epoch: batches done, examples per second, ETA, running loss and
//! accuracy. Hidden automatically when stderr is not a terminal.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// One epoch's progress bar.
pub struct EpochProgress {
    bar: ProgressBar,
}

impl EpochProgress {
    /// A bar for `batches` batches of epoch `epoch` of `epochs`; `visible` false hides it.
    pub fn new(epoch: usize, epochs: usize, batches: usize, visible: bool) -> Self {
        let target = if visible {
            ProgressDrawTarget::stderr_with_hz(5)
        } else {
            ProgressDrawTarget::hidden()
        };
        let bar = ProgressBar::with_draw_target(Some(batches as u64), target);
        bar.set_style(
            ProgressStyle::with_template(
                "{prefix} [{bar:30}] {pos}/{len} batches | {per_sec} | ETA {eta} | {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        bar.set_prefix(format!("epoch {epoch}/{epochs}"));
        Self { bar }
    }

    /// Advances by one batch and shows the running figures.
    pub fn batch_done(&self, loss: f64, accuracy: f64) {
        self.bar.inc(1);
        if self.bar.position().is_multiple_of(10) || Some(self.bar.position()) == self.bar.length()
        {
            self.bar
                .set_message(format!("loss {loss:.4} acc {accuracy:.4}"));
        }
    }

    /// Removes the bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
