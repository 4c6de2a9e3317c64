//! A PNG of an image beside its attribution map: the image in grey on the left; on the right the
//! image dimmed, with green where pixels raise the explained class and red where they lower it.

use std::path::Path;

use super::colour;
use crate::error::{ExplainError, Result};

/// PNG bytes for a single-channel image `pixels` (`[H, W]`, 0 to 1) and its per-pixel
/// attributions `heat`, each pixel drawn as a `scale x scale` square.
pub fn heatmap_png(
    pixels: &[f32],
    heat: &[f32],
    [h, w]: [usize; 2],
    scale: usize,
) -> Result<Vec<u8>> {
    if pixels.len() != h * w || heat.len() != h * w || scale == 0 {
        return Err(ExplainError::Image(format!(
            "a heatmap needs {h} x {w} pixels and attributions and a scale of at least 1"
        )));
    }
    let scaled = clipped(heat, 0.98);
    let gap = scale;
    let (width, height) = (2 * w * scale + gap, h * scale);
    let mut rgb = vec![255u8; width * height * 3];
    for y in 0..h {
        for x in 0..w {
            let p = pixels[y * w + x].clamp(0.0, 1.0);
            let grey = (255.0 * (1.0 - p)).round() as u8;
            let [r, g, b] = colour(scaled[y * w + x]);
            // Dark strokes of the image show through the colour at 30 %.
            let over = |c: u8| (c as f32 * (1.0 - 0.3 * p)).round() as u8;
            for dy in 0..scale {
                for dx in 0..scale {
                    let row = y * scale + dy;
                    let left = (row * width + x * scale + dx) * 3;
                    rgb[left..left + 3].copy_from_slice(&[grey, grey, grey]);
                    let right = (row * width + w * scale + gap + x * scale + dx) * 3;
                    rgb[right..right + 3].copy_from_slice(&[over(r), over(g), over(b)]);
                }
            }
        }
    }
    let mut bytes = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut bytes, width as u32, height as u32);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder
            .write_header()
            .map_err(|e| ExplainError::Png(e.to_string()))?;
        writer
            .write_image_data(&rgb)
            .map_err(|e| ExplainError::Png(e.to_string()))?;
    }
    Ok(bytes)
}

/// `values` divided by the `quantile` of their magnitudes and clipped to `[-1, 1]`, as Captum's
/// `visualize_image_attr` does (`outlier_perc=2`): a few extreme pixels do not wash out the rest.
fn clipped(values: &[f32], quantile: f64) -> Vec<f32> {
    let mut magnitudes: Vec<f32> = values
        .iter()
        .map(|v| v.abs())
        .filter(|v| v.is_finite())
        .collect();
    magnitudes.sort_by(f32::total_cmp);
    let at =
        ((magnitudes.len() as f64 * quantile) as usize).min(magnitudes.len().saturating_sub(1));
    let scale = magnitudes.get(at).copied().unwrap_or(0.0);
    if scale <= 0.0 {
        return super::normalised(values);
    }
    values
        .iter()
        .map(|v| (v / scale).clamp(-1.0, 1.0))
        .collect()
}

/// Writes [`heatmap_png`] to `path` atomically.
pub fn write_heatmap(
    path: &Path,
    pixels: &[f32],
    heat: &[f32],
    size: [usize; 2],
    scale: usize,
) -> Result<()> {
    let bytes = heatmap_png(pixels, heat, size, scale)?;
    tinderbox_io::write_atomic(path, &bytes)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_to_two_panels_of_the_scaled_size() {
        let pixels = [0.0, 1.0, 0.5, 0.0];
        let heat = [1.0, 0.0, -1.0, 0.0];
        let bytes = heatmap_png(&pixels, &heat, [2, 2], 3).unwrap();
        let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!((info.width, info.height), (2 * 2 * 3 + 3, 6));
        // Left panel: pixel (row 0, column 1) is full ink, drawn black.
        let at = |x: usize, y: usize| &buf[(y * info.width as usize + x) * 3..][..3];
        assert_eq!(at(3, 0), &[0, 0, 0]);
        // Right panel, pixel (0, 0): full green, no ink.
        assert_eq!(at(2 * 3 + 3, 0), &[46, 160, 67]);
        assert!(heatmap_png(&pixels, &heat[..3], [2, 2], 3).is_err());
    }

    #[test]
    fn an_outlier_is_clipped_instead_of_washing_out_the_rest() {
        let mut values = vec![0.5f32; 99];
        values.push(100.0);
        let c = clipped(&values, 0.98);
        assert_eq!((c[0], c[99]), (1.0, 1.0));
        assert_eq!(clipped(&[0.0, 0.0], 0.98), vec![0.0, 0.0]);
    }
}
