//! Progress of a training loop: a bar on a terminal (feature `progress`), and a plain line
//! every half minute when there is no terminal to draw on (a log file, CI, `nohup`), so that a
//! 14-minute epoch does not stay silent until it ends.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

#[cfg(feature = "progress")]
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How often a plain progress line is printed when no bar is drawn.
const PLAIN_EVERY: Duration = Duration::from_secs(30);

/// The progress of one pass: `done` of `total` units (batches or steps).
pub(crate) struct Progress {
    label: String,
    unit: &'static str,
    done: u64,
    total: u64,
    message: String,
    mode: Mode,
}

enum Mode {
    Hidden,
    #[cfg(feature = "progress")]
    Bar(ProgressBar),
    Plain {
        started: Instant,
        done_at_start: u64,
        last_line: Instant,
    },
}

impl Progress {
    /// Progress over `total` units, `done` of which are already behind (a resumed run), labelled
    /// `label` ("epoch 2/10"); `visible` false shows nothing.
    pub(crate) fn new(
        label: String,
        unit: &'static str,
        done: u64,
        total: u64,
        visible: bool,
    ) -> Self {
        let terminal = std::io::stderr().is_terminal();
        let mode = match (visible, terminal) {
            (false, _) => Mode::Hidden,
            #[cfg(feature = "progress")]
            (true, true) => Mode::Bar(bar(&label, unit, done, total)),
            _ => Mode::Plain {
                started: Instant::now(),
                done_at_start: done,
                last_line: Instant::now(),
            },
        };
        Self {
            label,
            unit,
            done,
            total,
            message: String::new(),
            mode,
        }
    }

    /// One more unit done; `message` (the running loss, say) is asked for only when shown.
    pub(crate) fn inc(&mut self, message: impl FnOnce() -> String) {
        self.done += 1;
        match &mut self.mode {
            Mode::Hidden => {}
            #[cfg(feature = "progress")]
            Mode::Bar(bar) => {
                bar.inc(1);
                if self.done.is_multiple_of(10) || self.done == self.total {
                    bar.set_message(message());
                }
            }
            Mode::Plain {
                started,
                done_at_start,
                last_line,
            } => {
                if last_line.elapsed() >= PLAIN_EVERY {
                    *last_line = Instant::now();
                    self.message = message();
                    let rate = (self.done - *done_at_start) as f64
                        / started.elapsed().as_secs_f64().max(1e-9);
                    eprintln!(
                        "{}",
                        plain_line(
                            &self.label,
                            self.unit,
                            self.done,
                            self.total,
                            rate,
                            &self.message
                        )
                    );
                }
            }
        }
    }

    /// The total changed (a step budget planned again).
    pub(crate) fn set_total(&mut self, total: u64) {
        self.total = total;
        #[cfg(feature = "progress")]
        if let Mode::Bar(bar) = &self.mode {
            bar.set_length(total);
        }
    }

    /// Prints `line` on stdout without tearing the bar.
    pub(crate) fn println(&self, line: &str) {
        match &self.mode {
            #[cfg(feature = "progress")]
            Mode::Bar(bar) => bar.suspend(|| println!("{line}")),
            _ => println!("{line}"),
        }
    }

    /// Removes the bar.
    pub(crate) fn finish(&self) {
        #[cfg(feature = "progress")]
        if let Mode::Bar(bar) = &self.mode {
            bar.finish_and_clear();
        }
    }
}

/// `epoch 1/2: 120/321 batches | 3.1 batches/s | ETA 1m05s | loss 0.6931 acc 0.5000`
fn plain_line(label: &str, unit: &str, done: u64, total: u64, rate: f64, message: &str) -> String {
    let left = total.saturating_sub(done) as f64 / rate.max(1e-9);
    let mut line = format!(
        "{label}: {done}/{total} {unit} | {rate:.2} {unit}/s | ETA {}",
        duration(left)
    );
    if !message.is_empty() {
        line.push_str(" | ");
        line.push_str(message);
    }
    line
}

/// `1h02m`, `4m05s`, `12s`.
fn duration(seconds: f64) -> String {
    let s = seconds.round().max(0.0) as u64;
    match (s / 3600, s % 3600 / 60, s % 60) {
        (0, 0, s) => format!("{s}s"),
        (0, m, s) => format!("{m}m{s:02}s"),
        (h, m, _) => format!("{h}h{m:02}m"),
    }
}

#[cfg(feature = "progress")]
fn bar(label: &str, unit: &str, done: u64, total: u64) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr_with_hz(5));
    bar.set_style(
        ProgressStyle::with_template(&format!(
            "{{prefix}} [{{bar:30}}] {{pos}}/{{len}} {unit} | {{per_sec}} | ETA {{eta}} | {{msg}}"
        ))
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar.set_prefix(label.to_string());
    bar.set_position(done);
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_line_names_the_position_rate_and_time_left() {
        let line = plain_line(
            "epoch 1/2",
            "batches",
            120,
            321,
            3.1,
            "loss 0.6931 acc 0.5000",
        );
        assert_eq!(
            line,
            "epoch 1/2: 120/321 batches | 3.10 batches/s | ETA 1m05s | loss 0.6931 acc 0.5000"
        );
        assert_eq!(duration(3725.0), "1h02m");
        assert_eq!(duration(12.4), "12s");
    }
}
