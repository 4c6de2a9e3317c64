//! Views of explanations: coloured tokens in a terminal, a self-contained HTML page, PNG
//! heatmaps over images. Positive attributions are green (they raise the explained class's
//! probability), negative ones red, each scaled by the largest magnitude of its explanation.

mod heatmap;
mod html;
mod terminal;

pub use heatmap::{heatmap_png, write_heatmap};
pub use html::{HtmlText, html_page};
pub use terminal::terminal_line;

/// `values` divided by their largest magnitude (all zeros stay zero).
pub(crate) fn normalised(values: &[f32]) -> Vec<f32> {
    let max = values.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    if max == 0.0 || !max.is_finite() {
        return vec![0.0; values.len()];
    }
    values.iter().map(|v| v / max).collect()
}

/// The colour of a normalised attribution in `[-1, 1]`: white to green or to red.
pub(crate) fn colour(v: f32) -> [u8; 3] {
    let t = v.abs().clamp(0.0, 1.0);
    let mix = |from: f32, to: f32| (from + (to - from) * t).round() as u8;
    if v >= 0.0 {
        [mix(255.0, 46.0), mix(255.0, 160.0), mix(255.0, 67.0)]
    } else {
        [mix(255.0, 214.0), mix(255.0, 39.0), mix(255.0, 40.0)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_by_the_largest_magnitude_and_colours_by_sign() {
        assert_eq!(normalised(&[1.0, -2.0, 0.5]), vec![0.5, -1.0, 0.25]);
        assert_eq!(normalised(&[0.0, 0.0]), vec![0.0, 0.0]);
        assert_eq!(colour(0.0), [255, 255, 255]);
        assert_eq!(colour(1.0), [46, 160, 67]);
        assert_eq!(colour(-1.0), [214, 39, 40]);
    }
}
