//! What the app writes: PNG grids and strips of images, `.npy` arrays, written atomically.

use std::path::Path;

use anyhow::{Context, Result};
use burn::tensor::Tensor;
use npyz::WriterBuilder;

/// Writes `bytes` to `path` through a temporary file and a rename, so a reader never sees half a file.
pub fn write_atomic(path: &Path, write: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("out");
    let tmp = path.with_file_name(format!(".{name}.tmp"));
    write(&tmp)?;
    std::fs::rename(&tmp, path)
        .with_context(|| format!("renaming {} to {}", tmp.display(), path.display()))
}

/// Writes `text` to `path` atomically.
pub fn write_text(path: &Path, text: &str) -> Result<()> {
    write_atomic(path, |tmp| {
        std::fs::write(tmp, text).with_context(|| format!("writing {}", tmp.display()))
    })
}

/// Writes `value` as pretty JSON to `path`, atomically.
pub fn write_json(path: &Path, value: &impl serde::Serialize) -> Result<()> {
    write_text(path, &serde_json::to_string_pretty(value)?)
}

/// Host copy of an image batch `[n, c, h, w]` with its dims; an error if the values cannot be
/// read back as `f32`.
pub fn host_images(x: Tensor<4>) -> Result<(Vec<f32>, [usize; 4])> {
    let dims = x.dims();
    let values = x
        .into_data()
        .try_to_vec_as::<f32>()
        .map_err(|e| anyhow::anyhow!("reading images back from the device: {e:?}"))?;
    Ok((values, dims))
}

/// Writes a float array as `.npy` (little-endian `f32`, C order) with the given shape.
pub fn write_npy(path: &Path, values: &[f32], shape: &[usize]) -> Result<()> {
    write_atomic(path, |tmp| {
        let file =
            std::fs::File::create(tmp).with_context(|| format!("creating {}", tmp.display()))?;
        let shape: Vec<u64> = shape.iter().map(|&d| d as u64).collect();
        let mut w = npyz::WriteOptions::new()
            .default_dtype()
            .shape(&shape)
            .writer(std::io::BufWriter::new(file))
            .begin_nd()
            .with_context(|| format!("writing {}", tmp.display()))?;
        w.extend(values.iter().copied())
            .with_context(|| format!("writing {}", tmp.display()))?;
        w.finish()
            .with_context(|| format!("writing {}", tmp.display()))
    })
}

/// Lays `n` images `[c, h, w]` in `[-1, 1]` out as a grid of `cols` columns with a 2-pixel
/// border, each pixel drawn `scale` x `scale`, and writes it as PNG (grey or RGB).
pub fn write_grid(
    path: &Path,
    values: &[f32],
    dims: [usize; 4],
    cols: usize,
    scale: usize,
) -> Result<()> {
    let [n, c, h, w] = dims;
    let cols = cols.clamp(1, n.max(1));
    let rows = n.div_ceil(cols).max(1);
    let pad = 2;
    let (gw, gh) = (
        (cols * (w + pad) + pad) * scale,
        (rows * (h + pad) + pad) * scale,
    );
    let mut rgb = vec![255u8; gw * gh * 3];
    for i in 0..n {
        let (r0, c0) = ((i / cols) * (h + pad) + pad, (i % cols) * (w + pad) + pad);
        for y in 0..h {
            for x in 0..w {
                let px = |ch: usize| {
                    let v = values[((i * c + ch.min(c - 1)) * h + y) * w + x];
                    ((v.clamp(-1.0, 1.0) + 1.0) * 127.5).round() as u8
                };
                let pixel = [px(0), px(1), px(2)];
                for dy in 0..scale {
                    for dx in 0..scale {
                        let o = (((r0 + y) * scale + dy) * gw + (c0 + x) * scale + dx) * 3;
                        rgb[o..o + 3].copy_from_slice(&pixel);
                    }
                }
            }
        }
    }
    write_atomic(path, |tmp| {
        let result = if c == 1 {
            let grey: Vec<u8> = rgb.chunks(3).map(|p| p[0]).collect();
            image::save_buffer_with_format(
                tmp,
                &grey,
                gw as u32,
                gh as u32,
                image::ColorType::L8,
                image::ImageFormat::Png,
            )
        } else {
            image::save_buffer_with_format(
                tmp,
                &rgb,
                gw as u32,
                gh as u32,
                image::ColorType::Rgb8,
                image::ImageFormat::Png,
            )
        };
        result.with_context(|| format!("writing {}", tmp.display()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_and_npy_are_written_and_readable() {
        let dir = std::env::temp_dir().join(format!("ebm-app-output-{}", std::process::id()));
        let values: Vec<f32> = (0..2 * 3 * 4).map(|i| i as f32 / 12.0 - 1.0).collect();
        write_grid(&dir.join("g.png"), &values, [2, 1, 3, 4], 2, 2).unwrap();
        let img = image::open(dir.join("g.png")).unwrap();
        assert_eq!((img.width(), img.height()), ((2 * 6 + 2) * 2, (5 + 2) * 2));
        write_npy(&dir.join("a.npy"), &values, &[2, 1, 3, 4]).unwrap();
        let bytes = std::fs::read(dir.join("a.npy")).unwrap();
        let npy = npyz::NpyFile::new(&bytes[..]).unwrap();
        assert_eq!(npy.shape(), &[2, 1, 3, 4]);
        assert_eq!(npy.into_vec::<f32>().unwrap(), values);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
