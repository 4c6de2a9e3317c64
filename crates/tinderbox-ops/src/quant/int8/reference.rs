//! The int8 tile in plain Rust: the definition that the vector builds match bit for bit.

use super::{GROUP, PANEL, Tile};

/// Rows of activations per tile (the most any build takes).
pub(crate) const MAX_ROWS: usize = 8;

/// `out [rows][16 · panels]`: each row's exact integer sum with each channel of the panels,
/// less the row's zero point times the channel's weight sum, as `f32`, times `s_x · s_w`, plus
/// the bias: in that order, one rounding per operation.
pub(crate) fn tile(t: &Tile, out: &mut [f32]) {
    let width = t.panels * PANEL;
    for r in 0..t.rows() {
        let acts = &t.acts[r * t.stride..(r + 1) * t.stride];
        for lane in 0..width {
            let panel = &t.weights[(lane / PANEL) * t.groups * PANEL * GROUP..];
            let (lane_in_panel, mut sum) = (lane % PANEL, 0i32);
            for (g, a) in acts.chunks_exact(GROUP).enumerate().take(t.groups) {
                let at = (g * PANEL + lane_in_panel) * GROUP;
                for (&a, &w) in a.iter().zip(&panel[at..at + GROUP]) {
                    let code = if t.signed { a as i32 } else { a as u8 as i32 };
                    sum += code * w as i32;
                }
            }
            let exact = sum - t.zeros[r] * t.sums[lane];
            let scale = t.scales[r] * t.w_scales[lane];
            out[r * width + lane] = exact as f32 * scale + t.bias[lane];
        }
    }
}
