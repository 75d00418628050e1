//! Image-quality measures of a restoration against the clean image: PSNR and SSIM, per image and
//! averaged over a batch.
//!
//! For images in `[-1, 1]` (dynamic range `L = 2`):
//!
//! ```text
//! PSNR(x, y) = 10 log10(L^2 / MSE(x, y))
//! SSIM(x, y) = mean over windows w of
//!              (2 mu_x mu_y + C1)(2 s_xy + C2) / ((mu_x^2 + mu_y^2 + C1)(s_x^2 + s_y^2 + C2))
//! ```
//!
//! with `C1 = (0.01 L)^2`, `C2 = (0.03 L)^2` and the local means, variances and covariance taken
//! under an 11x11 Gaussian window of standard deviation 1.5 at every position where it fits
//! inside the image (Wang, Bovik, Sheikh & Simoncelli 2004, the reference implementation's
//! settings; no padding). Images smaller than the window use one window the size of the image.

/// Dynamic range of images in `[-1, 1]`.
const RANGE: f64 = 2.0;
/// Side of the SSIM window.
const WINDOW: usize = 11;
/// Standard deviation of the SSIM window.
const WINDOW_SIGMA: f64 = 1.5;
/// PSNR is capped at this value (identical images).
const PSNR_CAP: f64 = 100.0;

/// `10 log10(4 / MSE)` of one image pair ([`crate::restore::psnr`]), capped at 100 dB for
/// identical images.
pub fn psnr(a: &[f32], b: &[f32]) -> f64 {
    crate::restore::psnr(a, b).min(PSNR_CAP)
}

/// The normalised 1-D Gaussian weights of a window of `side` values.
fn gaussian_weights(side: usize) -> Vec<f64> {
    let c = (side as f64 - 1.0) / 2.0;
    let w: Vec<f64> = (0..side)
        .map(|i| (-(i as f64 - c).powi(2) / (2.0 * WINDOW_SIGMA * WINDOW_SIGMA)).exp())
        .collect();
    let s: f64 = w.iter().sum();
    w.into_iter().map(|v| v / s).collect()
}

/// SSIM of one single-channel `h x w` image pair (row-major).
pub fn ssim_plane(a: &[f32], b: &[f32], h: usize, w: usize) -> f64 {
    let (wh, ww) = (WINDOW.min(h), WINDOW.min(w));
    let (gy, gx) = (gaussian_weights(wh), gaussian_weights(ww));
    let (c1, c2) = ((0.01 * RANGE).powi(2), (0.03 * RANGE).powi(2));
    let mut total = 0.0;
    let mut count = 0usize;
    for y0 in 0..=h - wh {
        for x0 in 0..=w - ww {
            let (mut ma, mut mb, mut saa, mut sbb, mut sab) = (0.0, 0.0, 0.0, 0.0, 0.0);
            for (dy, wy) in gy.iter().enumerate() {
                for (dx, wx) in gx.iter().enumerate() {
                    let k = (y0 + dy) * w + x0 + dx;
                    let (u, v, g) = (f64::from(a[k]), f64::from(b[k]), wy * wx);
                    ma += g * u;
                    mb += g * v;
                    saa += g * u * u;
                    sbb += g * v * v;
                    sab += g * u * v;
                }
            }
            let (va, vb, cov) = (saa - ma * ma, sbb - mb * mb, sab - ma * mb);
            total += (2.0 * ma * mb + c1) * (2.0 * cov + c2)
                / ((ma * ma + mb * mb + c1) * (va + vb + c2));
            count += 1;
        }
    }
    total / count.max(1) as f64
}

/// SSIM of one `[c, h, w]` image pair: the mean over channels.
pub fn ssim(a: &[f32], b: &[f32], dims: [usize; 3]) -> f64 {
    let [c, h, w] = dims;
    let plane = h * w;
    (0..c)
        .map(|ch| {
            let r = ch * plane..(ch + 1) * plane;
            ssim_plane(&a[r.clone()], &b[r], h, w)
        })
        .sum::<f64>()
        / c.max(1) as f64
}

/// Mean PSNR and mean SSIM over a batch of images of shape `dims` (`[c, h, w]` each).
pub fn batch_quality(restored: &[f32], clean: &[f32], dims: [usize; 3]) -> (f64, f64) {
    let len = dims.iter().product::<usize>().max(1);
    let n = (clean.len() / len).max(1);
    let (mut p, mut s) = (0.0, 0.0);
    for (r, c) in restored.chunks(len).zip(clean.chunks(len)) {
        p += psnr(r, c);
        s += ssim(r, c, dims);
    }
    (p / n as f64, s / n as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn psnr_of_a_known_error_and_of_identical_images() {
        // MSE 0.04: 10 log10(4 / 0.04) = 20 dB.
        assert!((psnr(&[0.0; 4], &[0.2; 4]) - 20.0).abs() < 1e-5);
        assert_eq!(psnr(&[0.5; 4], &[0.5; 4]), PSNR_CAP);
    }

    #[test]
    fn ssim_of_identical_images_is_one() {
        let img: Vec<f32> = (0..28 * 28)
            .map(|i| ((i * 37) % 100) as f32 / 50.0 - 1.0)
            .collect();
        assert!((ssim(&img, &img, [1, 28, 28]) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn ssim_of_constant_images_has_its_closed_form() {
        // Constant images a and b: every window has mu = a, b and zero variances, so
        // SSIM = (2ab + C1) / (a^2 + b^2 + C1) * (C2 / C2).
        let (a, b) = (0.5f32, -0.25f32);
        let c1 = (0.01 * RANGE).powi(2);
        let want = (2.0 * 0.5 * -0.25 + c1) / (0.25 + 0.0625 + c1);
        let got = ssim(&[a; 16 * 16], &[b; 16 * 16], [1, 16, 16]);
        assert!((got - want).abs() < 1e-9, "{got} vs {want}");
        // Negative control: a different offset gives a different value.
        let other = ssim(&[a; 16 * 16], &[0.0; 16 * 16], [1, 16, 16]);
        assert!((other - want).abs() > 0.1);
    }

    #[test]
    fn ssim_falls_with_noise_and_batch_quality_averages() {
        let clean: Vec<f32> = (0..28 * 28)
            .map(|i| if (i / 28) % 7 < 3 { 1.0 } else { -1.0 })
            .collect();
        let z = ebm_core::SeededRng::new(0).normal_vec(clean.len());
        let noisy: Vec<f32> = clean.iter().zip(z).map(|(v, z)| v + 0.5 * z).collect();
        let s = ssim(&noisy, &clean, [1, 28, 28]);
        assert!(s < 0.9 && s > 0.0, "{s}");
        let both: Vec<f32> = clean.iter().chain(&noisy).copied().collect();
        let reference: Vec<f32> = clean.iter().chain(&clean).copied().collect();
        let (p, q) = batch_quality(&both, &reference, [1, 28, 28]);
        assert!((p - (PSNR_CAP + psnr(&noisy, &clean)) / 2.0).abs() < 1e-9);
        assert!((q - (1.0 + s) / 2.0).abs() < 1e-9);
    }
}
