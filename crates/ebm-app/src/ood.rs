//! Out-of-distribution detection by energy, for `ebm classify`: how well the marginal energy
//! `E(x) = -logsumexp_y f_y(x)` of a conditional network, and for comparison its maximum softmax
//! probability, tell held-out digits from images that are not digits.
//!
//! The inliers are the held-out digits (every class). Each outlier set has as many images, made
//! from them with a seed:
//! - `uniform noise`: every pixel uniform on `[-1, 1]`;
//! - `gaussian-noised`: the digits plus Gaussian noise of sd 0.3, clamped to `[-1, 1]`;
//! - `upside down`: the digits turned by 180 degrees (a 0, 1 or 8 stays a digit);
//! - `block erased`: a square block of half the image's side (14x14 on 28x28 digits) at a
//!   random place set to the background, -1.
//!
//! The score "higher means outlier" is `E(x)` for the energy and `-max_y p(y | x)` for the
//! softmax; the AUROC is the probability that an outlier scores above an inlier (0.5: no better
//! than chance).

use anyhow::Result;
use burn::tensor::Device;
use ebm_core::neural::classify::logits;
use ebm_core::neural::confidences;
use ebm_core::{ConditionalNet, SeededRng};
use serde::Serialize;

use crate::score::auroc;

/// Sd of the Gaussian noise of the `gaussian-noised` set.
const NOISE_SD: f32 = 0.3;

/// The AUROCs of one outlier set.
#[derive(Debug, Clone, Serialize)]
pub struct OodRow {
    /// The outlier set.
    pub outliers: String,
    /// AUROC of the marginal energy `E(x)`.
    pub energy_auroc: f64,
    /// AUROC of `-max_y p(y | x)`.
    pub softmax_auroc: f64,
}

/// The two scores of each image: `(E(x), -max softmax)`.
fn scores(
    net: &ConditionalNet,
    images: &[f32],
    dims: [usize; 4],
    device: &Device,
) -> Result<(Vec<f64>, Vec<f64>)> {
    let rows = logits(net, images, dims, device)?;
    let energy = rows.iter().map(|r| -log_sum_exp(r)).collect();
    let softmax = confidences(&rows).into_iter().map(|c| -c).collect();
    Ok((energy, softmax))
}

/// `log sum_i exp(r_i)`, computed stably.
fn log_sum_exp(row: &[f32]) -> f64 {
    let top = row.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
    top + row
        .iter()
        .map(|&v| (v as f64 - top).exp())
        .sum::<f64>()
        .ln()
}

/// The outlier sets made from the inlier images `digits` (`dims` `[n, c, h, w]`) with `seed`.
pub fn outlier_sets(digits: &[f32], dims: [usize; 4], seed: u64) -> Vec<(String, Vec<f32>)> {
    let mut rng = SeededRng::new(seed);
    let uniform = rng.uniform_vec(digits.len(), -1.0, 1.0);
    let noised = digits
        .iter()
        .zip(rng.normal_vec(digits.len()))
        .map(|(x, z)| (x + NOISE_SD * z).clamp(-1.0, 1.0))
        .collect();
    vec![
        ("uniform noise".into(), uniform),
        ("gaussian-noised".into(), noised),
        ("upside down".into(), upside_down(digits, dims)),
        ("block erased".into(), block_erased(digits, dims, &mut rng)),
    ]
}

/// Every image turned by 180 degrees: each plane's pixels in reverse order.
fn upside_down(digits: &[f32], [_, _, h, w]: [usize; 4]) -> Vec<f32> {
    digits
        .chunks(h * w)
        .flat_map(|plane| plane.iter().rev().copied())
        .collect()
}

/// Every image with a square block, half the image's side, at a random place set to -1.
fn block_erased(digits: &[f32], [_, c, h, w]: [usize; 4], rng: &mut SeededRng) -> Vec<f32> {
    let side = (h.min(w) / 2).max(1);
    let mut out = digits.to_vec();
    for image in out.chunks_mut(c * h * w) {
        let top = (rng.uniform_f64() * (h - side + 1) as f64) as usize;
        let left = (rng.uniform_f64() * (w - side + 1) as f64) as usize;
        for plane in image.chunks_mut(h * w) {
            for row in plane.chunks_mut(w).skip(top).take(side) {
                row[left..left + side].fill(-1.0);
            }
        }
    }
    out
}

/// The AUROC of the energy and of the softmax for every outlier set against the inliers.
pub fn ood_table(
    net: &ConditionalNet,
    inliers: &[f32],
    dims: [usize; 4],
    seed: u64,
    device: &Device,
) -> Result<Vec<OodRow>> {
    let (in_energy, in_softmax) = scores(net, inliers, dims, device)?;
    outlier_sets(inliers, dims, seed)
        .into_iter()
        .map(|(name, images)| {
            let (energy, softmax) = scores(net, &images, dims, device)?;
            Ok(OodRow {
                outliers: name,
                energy_auroc: auroc(&in_energy, &energy),
                softmax_auroc: auroc(&in_softmax, &softmax),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outlier_sets_keep_the_shape_and_do_what_they_say() {
        let dims = [2, 1, 4, 4];
        let digits: Vec<f32> = (0..32).map(|i| i as f32 / 32.0 - 0.5).collect();
        let sets = outlier_sets(&digits, dims, 3);
        assert_eq!(sets.len(), 4);
        for (name, images) in &sets {
            assert_eq!(images.len(), digits.len(), "{name}");
            assert!(images.iter().all(|v| (-1.0..=1.0).contains(v)), "{name}");
        }
        // Turned twice is the identity; turned once, the first pixel is the plane's last.
        let turned = upside_down(&digits, dims);
        assert_eq!(turned[0], digits[15]);
        assert_eq!(upside_down(&turned, dims), digits);
        // A 2x2 block of -1 in each 4x4 image, the rest untouched.
        let erased = &sets[3].1;
        for (img, orig) in erased.chunks(16).zip(digits.chunks(16)) {
            let changed = img.iter().zip(orig).filter(|(a, b)| a != b).count();
            assert_eq!(changed, 4);
            assert_eq!(img.iter().filter(|&&v| v == -1.0).count(), 4);
        }
    }

    #[test]
    fn log_sum_exp_is_stable() {
        assert!((log_sum_exp(&[1000.0, 1000.0]) - (1000.0 + 2f64.ln())).abs() < 1e-9);
    }
}
