//! Means with their spread over repeated runs (seeds), one line per method, panels side by side:
//! the figure of a learning curve (test accuracy against labelled examples, on a log axis).

use std::path::Path;

use plotters::prelude::*;

use crate::error::Result;
use crate::plot::{FONT, write_png};

/// One x value of a curve: the mean over runs and the lowest and highest run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SpreadPoint {
    /// Where on the x axis (must be > 0 on a log axis).
    pub x: f64,
    /// The mean of the runs.
    pub mean: f64,
    /// The lowest run.
    pub low: f64,
    /// The highest run.
    pub high: f64,
}

/// One method's curve.
#[derive(Debug, Clone, PartialEq)]
pub struct SpreadCurve {
    /// Its name in the legend.
    pub name: String,
    /// Its points, in any order (drawn sorted by x).
    pub points: Vec<SpreadPoint>,
}

/// One panel: a title and its curves.
#[derive(Debug, Clone, PartialEq)]
pub struct SpreadPanel {
    /// The caption (a dataset's name).
    pub title: String,
    /// The curves.
    pub curves: Vec<SpreadCurve>,
}

const COLORS: [RGBColor; 6] = [
    RGBColor(120, 120, 120),
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(255, 127, 14),
];

/// Draws the panels side by side into `path` (a `.png`), atomically: each curve's means joined
/// by a line, the lowest-to-highest run as a vertical bar, x on a log scale when `log_x`. A
/// curve keeps its colour across panels by its name's first appearance.
pub fn plot_spread_panels(
    panels: &[SpreadPanel],
    x_desc: &str,
    y_desc: &str,
    log_x: bool,
    path: &Path,
) -> Result<()> {
    write_png(path, |file| draw(panels, x_desc, y_desc, log_x, file))
}

fn draw(
    panels: &[SpreadPanel],
    x_desc: &str,
    y_desc: &str,
    log_x: bool,
    file: &Path,
) -> std::result::Result<(), String> {
    let width = 560 * panels.len().max(1) as u32;
    let root = BitMapBackend::new(file, (width, 460)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let mut names: Vec<&str> = Vec::new();
    for curve in panels.iter().flat_map(|p| &p.curves) {
        if !names.contains(&curve.name.as_str()) {
            names.push(&curve.name);
        }
    }
    let areas = root.split_evenly((1, panels.len().max(1)));
    for (panel, area) in panels.iter().zip(&areas) {
        let color = |name: &str| {
            let i = names.iter().position(|n| *n == name).unwrap_or(0);
            COLORS[i % COLORS.len()]
        };
        draw_panel(area, panel, x_desc, y_desc, log_x, &color)?;
    }
    root.present().map_err(|e| e.to_string())
}

fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    panel: &SpreadPanel,
    x_desc: &str,
    y_desc: &str,
    log_x: bool,
    color: &dyn Fn(&str) -> RGBColor,
) -> std::result::Result<(), String> {
    let points = || panel.curves.iter().flat_map(|c| c.points.iter());
    let finite = |v: f64| v.is_finite().then_some(v);
    let (x_lo, x_hi) = points()
        .filter_map(|p| finite(p.x).filter(|x| !log_x || *x > 0.0))
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| {
            (lo.min(x), hi.max(x))
        });
    let (y_lo, y_hi) = points()
        .flat_map(|p| [p.low, p.high, p.mean])
        .filter_map(finite)
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), y| {
            (lo.min(y), hi.max(y))
        });
    let (x_lo, x_hi) = if x_lo.is_finite() {
        (x_lo, x_hi)
    } else {
        (1.0, 10.0)
    };
    let (y_lo, y_hi) = if y_lo.is_finite() {
        (y_lo, y_hi)
    } else {
        (0.0, 1.0)
    };
    let y_pad = ((y_hi - y_lo) * 0.08).max(1e-3);
    let y_range = (y_lo - y_pad)..(y_hi + y_pad);
    let mut builder = ChartBuilder::on(area);
    builder
        .caption(&panel.title, (FONT, 22))
        .margin(14)
        .x_label_area_size(40)
        .y_label_area_size(56);
    if log_x {
        let mut chart = builder
            .build_cartesian_2d((x_lo / 1.3..x_hi * 1.3).log_scale(), y_range)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_desc(x_desc)
            .y_desc(y_desc)
            .x_label_formatter(&|x| format!("{x:.0}"))
            .label_style((FONT, 13))
            .draw()
            .map_err(|e| e.to_string())?;
        draw_curves(&mut chart, panel, color)
    } else {
        let pad = ((x_hi - x_lo) * 0.05).max(1e-3);
        let mut chart = builder
            .build_cartesian_2d((x_lo - pad)..(x_hi + pad), y_range)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_desc(x_desc)
            .y_desc(y_desc)
            .label_style((FONT, 13))
            .draw()
            .map_err(|e| e.to_string())?;
        draw_curves(&mut chart, panel, color)
    }
}

fn draw_curves<'a, DB: DrawingBackend + 'a, X, Y>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<X, Y>>,
    panel: &SpreadPanel,
    color: &dyn Fn(&str) -> RGBColor,
) -> std::result::Result<(), String>
where
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    for curve in &panel.curves {
        let mut points = curve.points.clone();
        points.retain(|p| p.x.is_finite() && p.mean.is_finite());
        points.sort_by(|a, b| a.x.total_cmp(&b.x));
        if points.is_empty() {
            continue;
        }
        let c = color(&curve.name);
        chart
            .draw_series(LineSeries::new(
                points.iter().map(|p| (p.x, p.mean)),
                c.stroke_width(2),
            ))
            .map_err(|e| e.to_string())?
            .label(curve.name.as_str())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2)));
        chart
            .draw_series(
                points.iter().map(|p| {
                    ErrorBar::new_vertical(p.x, p.low, p.mean, p.high, c.stroke_width(1), 8)
                }),
            )
            .map_err(|e| e.to_string())?;
        chart
            .draw_series(
                points
                    .iter()
                    .map(|p| Circle::new((p.x, p.mean), 3, c.filled())),
            )
            .map_err(|e| e.to_string())?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .label_font((FONT, 13))
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn curve(name: &str, shift: f64) -> SpreadCurve {
        SpreadCurve {
            name: name.into(),
            points: [100.0, 1000.0, 300.0]
                .iter()
                .map(|&x| SpreadPoint {
                    x,
                    mean: 0.5 + shift + x / 1e4,
                    low: 0.45 + shift,
                    high: 0.6 + shift + x / 1e4,
                })
                .collect(),
        }
    }

    #[test]
    fn draws_panels_to_a_png_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("curve.png");
        let panels = vec![
            SpreadPanel {
                title: "rotten-tomatoes".into(),
                curves: vec![curve("scratch", 0.0), curve("pre-trained", 0.05)],
            },
            SpreadPanel {
                title: "bbc-news".into(),
                curves: vec![curve("pre-trained", 0.1), curve("empty", 0.0)],
            },
        ];
        plot_spread_panels(&panels, "labelled examples", "test accuracy", true, &path).unwrap();
        let png = std::fs::read(&path).unwrap();
        assert_eq!(&png[..4], b"\x89PNG");
        // Two panels of 560 pixels: the width is in the header (bytes 16..20, big-endian).
        assert_eq!(u32::from_be_bytes(png[16..20].try_into().unwrap()), 1120);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        // A linear axis and a panel without points draw too.
        let empty = [SpreadPanel {
            title: "none".into(),
            curves: vec![],
        }];
        plot_spread_panels(&empty, "x", "y", false, &path).unwrap();
    }
}
