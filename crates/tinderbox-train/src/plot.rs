//! The curves of a run (loss and accuracy, train and validation, per epoch or per step) as a
//! PNG, drawn with plotters and the DejaVu Sans font compiled in, so no system font library is
//! needed.

use std::path::Path;
use std::sync::Once;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{FontStyle, FontTransform};

use crate::confusion::ConfusionMatrix;
use crate::error::{Result, TrainError};
use crate::metrics::EpochMetrics;
use crate::step_metrics::StepMetrics;

pub(crate) const FONT: &str = "sans-serif";

fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // DejaVu Sans is a valid TrueType font; registration cannot fail for it.
        let _ = plotters::style::register_font(FONT, FontStyle::Normal, dejavu::sans::regular());
    });
}

/// Draws loss (left) and accuracy (right) against the epoch into `path` (a `.png`), atomically.
pub fn plot_curves(history: &[EpochMetrics], path: &Path) -> Result<()> {
    write_png(path, |file| draw(history, file))
}

/// Draws loss (left) and accuracy (right) of a step-based run against the optimizer step into
/// `path` (a `.png`), atomically: training figures since the previous point, and the evaluation
/// set's.
pub fn plot_step_curves(history: &[StepMetrics], path: &Path) -> Result<()> {
    write_png(path, |file| draw_steps(history, file))
}

/// Draws a confusion matrix (rows: true class, columns: prediction) as a heat map with counts,
/// into `path` (a `.png`), atomically.
pub fn plot_confusion(matrix: &ConfusionMatrix, names: &[String], path: &Path) -> Result<()> {
    write_png(path, |file| draw_confusion(matrix, names, file))
}

/// Runs `draw` on a temporary `.png` beside `path` (plotters picks the format from the name)
/// and renames it to `path`, so a reader never sees half an image.
pub(crate) fn write_png(
    path: &Path,
    draw: impl FnOnce(&Path) -> std::result::Result<(), String>,
) -> Result<()> {
    register_font();
    tinderbox_io::write_atomic_with(path, draw).map_err(|e| match e {
        tinderbox_io::WithError::Write(e) => e.into(),
        tinderbox_io::WithError::Writer(reason) => TrainError::Plot {
            path: path.to_path_buf(),
            reason,
        },
    })
}

fn draw_confusion(
    matrix: &ConfusionMatrix,
    names: &[String],
    file: &Path,
) -> std::result::Result<(), String> {
    let n = matrix.counts.len().max(1);
    let cell = (560 / n as u32).clamp(28, 120) as i32;
    let short: Vec<String> = (0..n)
        .map(|i| {
            names
                .get(i)
                .map_or(i.to_string(), |s| s.chars().take(18).collect())
        })
        .collect();
    // Room for the longest class name, written horizontally on the left and downwards below.
    let label = short.iter().map(|s| s.chars().count()).max().unwrap_or(1) as i32 * 8 + 10;
    let (left, top) = (30 + label, 50);
    let grid = cell * n as i32;
    let size = ((left + grid + 30) as u32, (top + grid + label + 40) as u32);
    let root = BitMapBackend::new(file, size).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let err = |e: DrawingAreaErrorKind<_>| e.to_string();
    let centred = |size: f64| {
        (FONT, size)
            .into_font()
            .into_text_style(&root)
            .pos(Pos::new(HPos::Center, VPos::Center))
    };
    let accuracy = matrix.accuracy();
    root.draw(&Text::new(
        format!("Confusion matrix, test split (accuracy {accuracy:.3})"),
        (size.0 as i32 / 2, 20),
        centred(20.0),
    ))
    .map_err(err)?;
    let max = matrix
        .counts
        .iter()
        .flatten()
        .copied()
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    for (t, row) in matrix.counts.iter().enumerate() {
        for (p, &count) in row.iter().enumerate() {
            let (x0, y0) = (left + p as i32 * cell, top + t as i32 * cell);
            let shade = 1.0 - count as f64 / max;
            let level = (255.0 * shade) as u8;
            root.draw(&Rectangle::new(
                [(x0, y0), (x0 + cell, y0 + cell)],
                RGBColor(level, level, 255).filled(),
            ))
            .map_err(err)?;
            let text = centred((cell as f64 * 0.3).clamp(10.0, 18.0)).color(if shade < 0.5 {
                &WHITE
            } else {
                &BLACK
            });
            root.draw(&Text::new(
                count.to_string(),
                (x0 + cell / 2, y0 + cell / 2),
                text,
            ))
            .map_err(err)?;
        }
    }
    let labels = (FONT, 13).into_font().into_text_style(&root);
    for (i, name) in short.iter().enumerate() {
        let middle = i as i32 * cell + cell / 2;
        // Row labels end just left of the grid; column labels hang just below it.
        root.draw(&Text::new(
            name.clone(),
            (left - 6, top + middle),
            labels.clone().pos(Pos::new(HPos::Right, VPos::Center)),
        ))
        .map_err(err)?;
        root.draw(&Text::new(
            name.clone(),
            (left + middle + 6, top + grid + 6),
            labels.clone().transform(FontTransform::Rotate90),
        ))
        .map_err(err)?;
    }
    let captions = (FONT, 15).into_font().into_text_style(&root);
    root.draw(&Text::new(
        "predicted class",
        (left + grid / 2, top + grid + label + 22),
        captions.clone().pos(Pos::new(HPos::Center, VPos::Center)),
    ))
    .map_err(err)?;
    root.draw(&Text::new(
        "true class",
        (12, top + grid / 2),
        captions
            .transform(FontTransform::Rotate270)
            .pos(Pos::new(HPos::Center, VPos::Center)),
    ))
    .map_err(err)?;
    root.present().map_err(|e| e.to_string())
}

type Series<'a> = (&'a str, RGBColor, Vec<(f64, f64)>);

fn draw(history: &[EpochMetrics], file: &Path) -> std::result::Result<(), String> {
    let points = |f: &dyn Fn(&EpochMetrics) -> Option<f64>| -> Vec<(f64, f64)> {
        history
            .iter()
            .filter_map(|m| f(m).filter(|v| v.is_finite()).map(|v| (m.epoch as f64, v)))
            .collect()
    };
    let losses: Vec<Series> = vec![
        ("train", BLUE, points(&|m| Some(m.train_loss))),
        ("validation", RED, points(&|m| m.valid_loss)),
    ];
    let accuracies: Vec<Series> = vec![
        ("train", BLUE, points(&|m| Some(m.train_accuracy))),
        ("validation", RED, points(&|m| m.valid_accuracy)),
    ];
    two_panels(file, "epoch", &losses, &accuracies)
}

fn draw_steps(history: &[StepMetrics], file: &Path) -> std::result::Result<(), String> {
    let points = |f: &dyn Fn(&StepMetrics) -> Option<f64>| -> Vec<(f64, f64)> {
        history
            .iter()
            .filter_map(|m| f(m).filter(|v| v.is_finite()).map(|v| (m.step as f64, v)))
            .collect()
    };
    let losses: Vec<Series> = vec![
        ("train", BLUE, points(&|m| Some(m.train_loss))),
        ("held-out", RED, points(&|m| m.eval_loss)),
    ];
    let accuracies: Vec<Series> = vec![
        ("train", BLUE, points(&|m| Some(m.train_accuracy))),
        ("held-out", RED, points(&|m| m.eval_accuracy)),
    ];
    two_panels(file, "step", &losses, &accuracies)
}

/// Loss on the left, accuracy on the right.
fn two_panels(
    file: &Path,
    x_desc: &str,
    losses: &[Series],
    accuracies: &[Series],
) -> std::result::Result<(), String> {
    let root = BitMapBackend::new(file, (1200, 480)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let (left, right) = root.split_horizontally(600);
    panel(&left, "loss", x_desc, losses)?;
    panel(&right, "accuracy", x_desc, accuracies)?;
    root.present().map_err(|e| e.to_string())
}

fn panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    title: &str,
    x_desc: &str,
    series: &[Series],
) -> std::result::Result<(), String> {
    let all = series.iter().flat_map(|(_, _, p)| p.iter());
    let (mut lo, mut hi) = all.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &(_, y)| {
        (lo.min(y), hi.max(y))
    });
    if !lo.is_finite() {
        (lo, hi) = (0.0, 1.0);
    }
    let pad = ((hi - lo) * 0.08).max(1e-3);
    let last_epoch = series
        .iter()
        .flat_map(|(_, _, p)| p.iter().map(|&(x, _)| x))
        .fold(1.0, f64::max);
    let mut chart = ChartBuilder::on(area)
        .caption(title, (FONT, 22))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(56)
        .build_cartesian_2d(0.8..last_epoch + 0.2, (lo - pad)..(hi + pad))
        .map_err(|e| e.to_string())?;
    let epochs = last_epoch as usize;
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .x_labels(epochs.clamp(2, 12))
        .x_label_formatter(&|x| {
            if x.fract().abs() < 1e-9 {
                format!("{x:.0}")
            } else {
                String::new()
            }
        })
        .label_style((FONT, 13))
        .draw()
        .map_err(|e| e.to_string())?;
    for (name, color, points) in series {
        if points.is_empty() {
            continue;
        }
        let color = *color;
        chart
            .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))
            .map_err(|e| e.to_string())?
            .label(*name)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
            });
        chart
            .draw_series(points.iter().map(|&p| Circle::new(p, 3, color.filled())))
            .map_err(|e| e.to_string())?;
    }
    chart
        .configure_series_labels()
        .label_font((FONT, 13))
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confusion_matrix_png() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("confusion.png");
        let m = ConfusionMatrix::new(&[0, 1, 1, 2], &[0, 1, 2, 2], 3);
        plot_confusion(
            &m,
            &["business".into(), "sport".into(), "tech".into()],
            &path,
        )
        .unwrap();
        assert_eq!(&std::fs::read(&path).unwrap()[..4], b"\x89PNG");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn writes_a_png_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("curves.png");
        let history: Vec<EpochMetrics> = (1..=3)
            .map(|e| EpochMetrics {
                epoch: e,
                train_loss: 1.0 / e as f64,
                train_accuracy: 0.5 + 0.1 * e as f64,
                valid_loss: Some(1.2 / e as f64),
                valid_accuracy: (e > 1).then_some(0.6),
                ..Default::default()
            })
            .collect();
        plot_curves(&history, &path).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        // An empty history still draws (empty axes), e.g. right after a resume.
        plot_curves(&[], &path).unwrap();
    }
}
