//! Data augmentation for image batches: random translations.
//!
//! Each image of a batch `[n, c, h, w]` moves by its own offset `(dy, dx)`, each uniform on
//! `-s..=s`; pixels that come in from outside the image take the background value (the batch's
//! minimum, -1 for digits scaled to `[-1, 1]`). Digits moved by a pixel or two are still the
//! same digits, so a classifier trained on them generalises better from few examples.

use burn::tensor::{Tensor, TensorData};
use ebm_core::SeededRng;

use crate::error::TrainError;
use crate::trainer::host_values;

/// `x` with every image translated by a random offset of at most `max_shift` pixels on each
/// axis, drawn from `rng`; `x` itself when `max_shift` is 0.
pub fn random_shift(
    x: Tensor<4>,
    max_shift: usize,
    rng: &mut SeededRng,
) -> Result<Tensor<4>, TrainError> {
    if max_shift == 0 {
        return Ok(x);
    }
    let dims = x.dims();
    let device = x.device();
    let values = host_values(x.into_data(), "augmented batch")?;
    let background = values.iter().copied().fold(f32::INFINITY, f32::min);
    let [_, c, h, w] = dims;
    let span = 2 * max_shift + 1;
    let mut out = vec![background; values.len()];
    for (src, dst) in values.chunks(c * h * w).zip(out.chunks_mut(c * h * w)) {
        let dy = (rng.next_u64() % span as u64) as isize - max_shift as isize;
        let dx = (rng.next_u64() % span as u64) as isize - max_shift as isize;
        for (sp, dp) in src.chunks(h * w).zip(dst.chunks_mut(h * w)) {
            shift_plane(sp, dp, [h, w], [dy, dx]);
        }
    }
    Ok(Tensor::from_data(TensorData::new(out, dims), &device))
}

/// Copies `src` into `dst` (both `h x w`) moved down by `dy` and right by `dx`; the pixels of
/// `dst` with no source keep their value.
fn shift_plane(src: &[f32], dst: &mut [f32], [h, w]: [usize; 2], [dy, dx]: [isize; 2]) {
    for y in 0..h as isize {
        let sy = y - dy;
        if !(0..h as isize).contains(&sy) {
            continue;
        }
        for x in 0..w as isize {
            let sx = x - dx;
            if (0..w as isize).contains(&sx) {
                dst[(y as usize) * w + x as usize] = src[(sy as usize) * w + sx as usize];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Device;

    #[test]
    fn a_plane_moves_by_its_offset_and_fills_with_the_background() {
        // 3x3 plane 1..9 moved down 1 and left 1.
        let src: Vec<f32> = (1..=9).map(|v| v as f32).collect();
        let mut dst = vec![0.0; 9];
        shift_plane(&src, &mut dst, [3, 3], [1, -1]);
        assert_eq!(dst, vec![0.0, 0.0, 0.0, 2.0, 3.0, 0.0, 5.0, 6.0, 0.0]);
    }

    #[test]
    fn shifts_keep_the_pixels_and_stay_within_bounds() {
        let device = Device::flex();
        let mut rng = SeededRng::new(1);
        // One bright pixel in the middle of each 9x9 image; after a shift of at most 2 it is
        // still there, at most 2 pixels away, and everything else is the background.
        let mut v = vec![-1.0f32; 16 * 81];
        for i in 0..16 {
            v[i * 81 + 40] = 1.0;
        }
        let x = Tensor::<4>::from_data(TensorData::new(v, [16, 1, 9, 9]), &device);
        let y = random_shift(x.clone(), 2, &mut rng).unwrap();
        let out = y.into_data().try_to_vec::<f32>().unwrap();
        let mut moved = 0;
        for img in out.chunks(81) {
            let at: Vec<usize> = (0..81).filter(|&p| img[p] == 1.0).collect();
            assert_eq!(at.len(), 1);
            let (py, px) = (at[0] / 9, at[0] % 9);
            assert!(py.abs_diff(4) <= 2 && px.abs_diff(4) <= 2);
            moved += usize::from(at[0] != 40);
        }
        assert!(moved > 8, "most of 16 images move (25 offsets): {moved}");
        let same = random_shift(x.clone(), 0, &mut rng).unwrap();
        assert_eq!(same.into_data(), x.into_data());
    }
}
