//! The pictures of a toy run: the normalised density as a heat map with samples on top, and
//! held-out data beside model samples.

use std::path::Path;

use anyhow::{Context, Result};

use crate::output::write_atomic;

/// Image side in pixels of the PNGs.
const SIDE: usize = 512;

/// A perceptually ordered colour map (anchors of matplotlib's "magma"), `t` in `[0, 1]`.
fn magma(t: f64) -> [u8; 3] {
    const C: [[f64; 3]; 6] = [
        [0.0, 0.0, 4.0],
        [59.0, 15.0, 112.0],
        [140.0, 41.0, 129.0],
        [222.0, 73.0, 104.0],
        [254.0, 159.0, 109.0],
        [252.0, 253.0, 191.0],
    ];
    let t = t.clamp(0.0, 1.0) * (C.len() - 1) as f64;
    let i = (t.floor() as usize).min(C.len() - 2);
    let f = t - i as f64;
    [0, 1, 2].map(|k| (C[i][k] + f * (C[i + 1][k] - C[i][k])).round() as u8)
}

/// Pixel of a point in the square `[-half, half]^2` (`y` up), if inside.
fn pixel(p: [f64; 2], half: f64) -> Option<(usize, usize)> {
    let u = (p[0] + half) / (2.0 * half);
    let v = (half - p[1]) / (2.0 * half);
    ((0.0..1.0).contains(&u) && (0.0..1.0).contains(&v))
        .then_some(((u * SIDE as f64) as usize, (v * SIDE as f64) as usize))
}

fn dot(rgb: &mut [u8], p: [f64; 2], half: f64, colour: [u8; 3]) {
    if let Some((x, y)) = pixel(p, half) {
        for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
            let (x, y) = ((x + dx).min(SIDE - 1), (y + dy).min(SIDE - 1));
            let o = (y * SIDE + x) * 3;
            rgb[o..o + 3].copy_from_slice(&colour);
        }
    }
}

fn save_rgb(path: &Path, rgb: &[u8]) -> Result<()> {
    write_atomic(path, |tmp| {
        image::save_buffer_with_format(
            tmp,
            rgb,
            SIDE as u32,
            SIDE as u32,
            image::ColorType::Rgb8,
            image::ImageFormat::Png,
        )
        .with_context(|| format!("writing {}", tmp.display()))
    })
}

/// The density on the grid (row-major, rows are `y`) as a heat map scaled to its maximum
/// (nearest grid point per pixel), with model samples as cyan dots.
pub fn write_density_png(
    path: &Path,
    density: &[f64],
    points: usize,
    half: f64,
    samples: &[[f64; 2]],
) -> Result<()> {
    let max = density.iter().copied().fold(0.0, f64::max).max(1e-300);
    let mut rgb = vec![0u8; SIDE * SIDE * 3];
    for py in 0..SIDE {
        let gy = points - 1 - (py * points / SIDE).min(points - 1);
        for px in 0..SIDE {
            let gx = (px * points / SIDE).min(points - 1);
            let c = magma(density[gy * points + gx] / max);
            let o = (py * SIDE + px) * 3;
            rgb[o..o + 3].copy_from_slice(&c);
        }
    }
    for &s in samples.iter().take(1000) {
        dot(&mut rgb, s, half, [0, 220, 255]);
    }
    save_rgb(path, &rgb)
}

/// Held-out data (grey) and model samples (red) on white.
pub fn write_scatter_png(
    path: &Path,
    half: f64,
    data: &[[f64; 2]],
    samples: &[[f64; 2]],
) -> Result<()> {
    let mut rgb = vec![255u8; SIDE * SIDE * 3];
    for &p in data.iter().take(2000) {
        dot(&mut rgb, p, half, [170, 170, 170]);
    }
    for &s in samples {
        dot(&mut rgb, s, half, [200, 30, 30]);
    }
    save_rgb(path, &rgb)
}
