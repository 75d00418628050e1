//! The 2-D toy densities of the flow and energy-based-model literature.
//!
//! The definitions and scales are those of FFJORD (Grathwohl et al. 2019, `lib/toy_data.py`),
//! which take some sets from scikit-learn (`make_swiss_roll`, `make_circles`, `make_moons`).
//! Each generator is seeded with a ChaCha8 stream, so a `(n, seed)` pair always gives the same
//! points. Sets that FFJORD builds from evenly spaced angles (rings, circles, moons) are built the
//! same way and then shuffled; sets it returns in class order (pinwheel, 2spirals) are balanced
//! over their classes for any `n` and shuffled too, so that every prefix is a fair sample.

use std::f64::consts::{FRAC_1_SQRT_2, PI};
use std::fmt;
use std::str::FromStr;

use burn::tensor::{Device, Tensor, TensorData};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::DataError;

mod generators;

use generators::{
    checkerboard, circles, eight_gaussians, moons, pinwheel, rings, swiss_roll, two_spirals,
};

/// One of the eight 2-D toy densities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ToyDataset {
    /// `8gaussians`: eight isotropic Gaussians on a circle.
    ///
    /// Centres `4 * (cos k*pi/4, sin k*pi/4)`, `k = 0..8` (the axes and the diagonals `/sqrt(2)`),
    /// picked uniformly; `x = (centre + 0.5 * N(0, I)) / 1.414`. So `x` is a mixture of
    /// `N(centre / 1.414, (0.5 / 1.414)^2 I)` with weights 1/8; see [`eight_gaussians_log_density`].
    /// Mean 0, `E[x1^2] = E[x2^2] = (8 + 0.25) / 1.414^2 ~ 4.1262`.
    EightGaussians,
    /// `moons`: scikit-learn `make_moons(n, noise=0.1)`, then `* 2 + (-1, -0.2)`.
    ///
    /// Upper moon `(cos t, sin t)` for `n/2` values of `t` evenly spaced over `[0, pi]`, lower moon
    /// `(1 - cos t, 0.5 - sin t)` for the other points, plus `0.1 * N(0, I)`, then scaled and
    /// shifted. Mean about `(0, 0.3)`.
    Moons,
    /// `swissroll`: scikit-learn `make_swiss_roll(n, noise=1.0)[:, [0, 2]] / 5`.
    ///
    /// `t = 1.5 pi (1 + 2 U(0,1))`, `x = (t cos t + N(0,1), t sin t + N(0,1)) / 5`.
    SwissRoll,
    /// `checkerboard`: uniform on the 8 black squares of a 4x4 board over `[-4, 4]^2`.
    ///
    /// `x1 = 4 U - 2`, `x2 = U - 2 B + (floor(x1) mod 2)` with `B` a fair bit, then `* 2`.
    /// Every point has `floor(x1 / 2) + floor(x2 / 2)` even. Mean 0, `E[x1^2] = 16/3`.
    Checkerboard,
    /// `pinwheel`: five curved arms.
    ///
    /// Arm `k` uniform in `0..5`; `f = (1 + 0.3 N(0,1), 0.1 N(0,1))`;
    /// angle `a = 2 pi k / 5 + 0.25 exp(f1)`;
    /// `x = 2 (f1 cos a + f2 sin a, -f1 sin a + f2 cos a)`. Mean 0.
    Pinwheel,
    /// `rings`: four concentric rings of radii 3, 2.25, 1.5 and 0.75.
    ///
    /// A quarter of the points on each ring (the smallest takes the remainder) at evenly spaced
    /// angles `2 pi i / m` (no end point), shuffled, plus `0.08 * N(0, I)`. Mean 0.
    Rings,
    /// `circles`: scikit-learn `make_circles(n, factor=0.5, noise=0.08) * 3`.
    ///
    /// Half the points at evenly spaced angles on the unit circle, half on the circle of radius
    /// 0.5, shuffled, plus `0.08 * N(0, I)`, all times 3: radii 3 and 1.5, noise 0.24. Mean 0.
    Circles,
    /// `2spirals`: two interleaved spirals.
    ///
    /// `r = sqrt(U) * 3 pi` (540 degrees), `d = (-r cos r + 0.5 U, r sin r + 0.5 U)`;
    /// half the points are `d / 3`, half `-d / 3`, plus `0.1 * N(0, I)`. Mean 0.
    TwoSpirals,
}

/// Standard deviation of each component of [`ToyDataset::EightGaussians`] (`0.5 / 1.414`).
pub const EIGHT_GAUSSIANS_STD: f64 = 0.5 / 1.414;

/// Differential entropy of [`ToyDataset::EightGaussians`] in nats, about 2.838.
///
/// The components barely overlap (neighbouring centres are about 6 standard deviations apart),
/// so the entropy is that of one component plus `ln 8`:
/// `ln(2 pi e sigma^2) + ln 8` with `sigma = 0.5 / 1.414`.
pub const EIGHT_GAUSSIANS_ENTROPY: f64 = 2.838;

/// The eight directions of [`ToyDataset::EightGaussians`]'s centres, on the unit circle.
const UNIT_CENTERS: [[f64; 2]; 8] = {
    let d = FRAC_1_SQRT_2;
    [
        [1.0, 0.0],
        [-1.0, 0.0],
        [0.0, 1.0],
        [0.0, -1.0],
        [d, d],
        [d, -d],
        [-d, d],
        [-d, -d],
    ]
};

/// The eight centres of [`ToyDataset::EightGaussians`], already divided by 1.414.
pub fn eight_gaussians_centers() -> [[f64; 2]; 8] {
    let s = 4.0 / 1.414;
    UNIT_CENTERS.map(|[a, b]| [a * s, b * s])
}

/// The exact log density of [`ToyDataset::EightGaussians`] at `x`.
///
/// `log p(x) = log( (1/8) sum_k N(x; mu_k, sigma^2 I) )` with `mu_k` from
/// [`eight_gaussians_centers`] and `sigma` = [`EIGHT_GAUSSIANS_STD`], computed with a stable
/// log-sum-exp. Its expectation under the density is minus the entropy, about -2.838
/// ([`EIGHT_GAUSSIANS_ENTROPY`]).
pub fn eight_gaussians_log_density(x: [f64; 2]) -> f64 {
    let var = EIGHT_GAUSSIANS_STD * EIGHT_GAUSSIANS_STD;
    let logits = eight_gaussians_centers().map(|[m0, m1]| {
        let d0 = x[0] - m0;
        let d1 = x[1] - m1;
        -(d0 * d0 + d1 * d1) / (2.0 * var)
    });
    let max = logits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let sum: f64 = logits.iter().map(|l| (l - max).exp()).sum();
    max + sum.ln() - 8f64.ln() - (2.0 * PI * var).ln()
}

impl ToyDataset {
    /// All the sets, in the order of their names in [`ToyDataset::NAMES`].
    pub const ALL: [ToyDataset; 8] = [
        ToyDataset::EightGaussians,
        ToyDataset::Moons,
        ToyDataset::SwissRoll,
        ToyDataset::Checkerboard,
        ToyDataset::Pinwheel,
        ToyDataset::Rings,
        ToyDataset::Circles,
        ToyDataset::TwoSpirals,
    ];

    /// The names that [`FromStr`] accepts, as FFJORD spells them.
    pub const NAMES: [&'static str; 8] = [
        "8gaussians",
        "moons",
        "swissroll",
        "checkerboard",
        "pinwheel",
        "rings",
        "circles",
        "2spirals",
    ];

    /// The set's name, as FFJORD spells it.
    pub fn name(self) -> &'static str {
        let i = Self::ALL.iter().position(|d| *d == self).unwrap_or(0);
        Self::NAMES[i]
    }

    /// `n` points drawn with the seed `seed`; the same `(n, seed)` gives the same points.
    pub fn sample(self, n: usize, seed: u64) -> Vec<[f32; 2]> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let points = match self {
            ToyDataset::EightGaussians => eight_gaussians(n, &mut rng),
            ToyDataset::Moons => moons(n, &mut rng),
            ToyDataset::SwissRoll => swiss_roll(n, &mut rng),
            ToyDataset::Checkerboard => checkerboard(n, &mut rng),
            ToyDataset::Pinwheel => pinwheel(n, &mut rng),
            ToyDataset::Rings => rings(n, &mut rng),
            ToyDataset::Circles => circles(n, &mut rng),
            ToyDataset::TwoSpirals => two_spirals(n, &mut rng),
        };
        points
            .into_iter()
            .map(|[a, b]| [a as f32, b as f32])
            .collect()
    }

    /// `n` points drawn with `seed`, as a `[n, 2]` tensor on `device`.
    pub fn sample_tensor(self, n: usize, seed: u64, device: &Device) -> Tensor<2> {
        points_to_tensor(&self.sample(n, seed), device)
    }
}

/// Points as a `[n, 2]` tensor on `device`.
pub fn points_to_tensor(points: &[[f32; 2]], device: &Device) -> Tensor<2> {
    let flat: Vec<f32> = points.iter().flatten().copied().collect();
    Tensor::<2>::from_data(TensorData::new(flat, [points.len(), 2]), device)
}

impl fmt::Display for ToyDataset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ToyDataset {
    type Err = DataError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::NAMES
            .iter()
            .position(|name| *name == s)
            .map(|i| Self::ALL[i])
            .ok_or_else(|| DataError::UnknownToyDataset {
                name: s.to_string(),
                valid: Self::NAMES.join(", "),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const N: usize = 4000;

    /// Mean and Monte-Carlo standard error of `values`.
    fn mean_se(values: impl Iterator<Item = f64>) -> (f64, f64) {
        let v: Vec<f64> = values.collect();
        let n = v.len() as f64;
        let mean = v.iter().sum::<f64>() / n;
        let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
        (mean, (var / n).sqrt())
    }

    fn assert_close(name: &str, values: impl Iterator<Item = f64>, expected: f64) {
        let (mean, se) = mean_se(values);
        assert!(
            (mean - expected).abs() <= 4.0 * se,
            "{name}: {mean} is not within 4 standard errors ({se}) of {expected}"
        );
    }

    #[test]
    fn names_round_trip_and_unknown_lists_valid_names() {
        for (d, name) in ToyDataset::ALL.iter().zip(ToyDataset::NAMES) {
            assert_eq!(d.name(), name);
            assert_eq!(name.parse::<ToyDataset>().unwrap(), *d);
            assert_eq!(d.to_string(), name);
        }
        let err = "spiral".parse::<ToyDataset>().unwrap_err();
        assert!(matches!(err, DataError::UnknownToyDataset { .. }));
        let msg = err.to_string();
        assert!(msg.contains("\"spiral\""), "{msg}");
        for name in ToyDataset::NAMES {
            assert!(msg.contains(name), "{msg} lacks {name}");
        }
    }

    #[test]
    fn every_set_is_reproducible_seed_dependent_finite_and_boxed() {
        for d in ToyDataset::ALL {
            let a = d.sample(1000, 7);
            assert_eq!(a.len(), 1000, "{d}");
            assert_eq!(a, d.sample(1000, 7), "{d} is not reproducible");
            assert_ne!(a, d.sample(1000, 8), "{d} ignores its seed");
            for p in &a {
                assert!(
                    p.iter().all(|v| v.is_finite() && v.abs() < 8.0),
                    "{d}: {p:?}"
                );
            }
            for n in [0, 1, 2, 3, 7] {
                assert_eq!(d.sample(n, 1).len(), n, "{d} with n = {n}");
            }
        }
    }

    #[test]
    fn centred_sets_have_mean_zero() {
        use ToyDataset::*;
        for d in [
            EightGaussians,
            Checkerboard,
            Pinwheel,
            Rings,
            Circles,
            TwoSpirals,
        ] {
            let p = d.sample(N, 3);
            assert_close(&format!("{d} mean x"), p.iter().map(|q| q[0] as f64), 0.0);
            assert_close(&format!("{d} mean y"), p.iter().map(|q| q[1] as f64), 0.0);
        }
    }

    #[test]
    fn eight_gaussians_second_moments_match_closed_form() {
        let p = ToyDataset::EightGaussians.sample(N, 11);
        // E[x^2] = (mean of the squared centre coordinate 8 + variance 0.25) / 1.414^2.
        let m2 = (8.0 + 0.25) / (1.414 * 1.414);
        assert_close("E[x^2]", p.iter().map(|q| (q[0] as f64).powi(2)), m2);
        assert_close("E[y^2]", p.iter().map(|q| (q[1] as f64).powi(2)), m2);
        assert_close("E[xy]", p.iter().map(|q| q[0] as f64 * q[1] as f64), 0.0);
    }

    #[test]
    fn eight_gaussians_log_density_is_normalised_and_has_the_stated_entropy() {
        // Riemann sum over [-6, 6]^2: the mass outside is negligible.
        let h = 0.03;
        let k = (12.0 / h) as usize;
        let mut mass = 0.0;
        for i in 0..k {
            for j in 0..k {
                let x = [-6.0 + (i as f64 + 0.5) * h, -6.0 + (j as f64 + 0.5) * h];
                mass += eight_gaussians_log_density(x).exp() * h * h;
            }
        }
        assert!((mass - 1.0).abs() < 1e-3, "mass {mass}");
        let exact = (2.0 * PI * std::f64::consts::E * EIGHT_GAUSSIANS_STD.powi(2)).ln() + 8f64.ln();
        assert!((exact - EIGHT_GAUSSIANS_ENTROPY).abs() < 1e-3, "{exact}");
        let p = ToyDataset::EightGaussians.sample(N, 5);
        assert_close(
            "entropy",
            p.iter()
                .map(|q| -eight_gaussians_log_density([q[0] as f64, q[1] as f64])),
            exact,
        );
    }

    #[test]
    fn checkerboard_fills_black_squares_uniformly() {
        let p = ToyDataset::Checkerboard.sample(N, 2);
        for q in &p {
            let parity = (q[0] / 2.0).floor() as i64 + (q[1] / 2.0).floor() as i64;
            assert_eq!(parity.rem_euclid(2), 0, "{q:?} is on a white square");
            assert!(q[0].abs() <= 4.0 && q[1].abs() <= 4.0, "{q:?}");
        }
        assert_close(
            "E[x^2]",
            p.iter().map(|q| (q[0] as f64).powi(2)),
            16.0 / 3.0,
        );
        assert_close(
            "E[y^2]",
            p.iter().map(|q| (q[1] as f64).powi(2)),
            16.0 / 3.0,
        );
    }

    #[test]
    fn moons_have_the_shifted_mean() {
        let p = ToyDataset::Moons.sample(N, 4);
        assert_close("mean x", p.iter().map(|q| q[0] as f64), 0.0);
        assert_close("mean y", p.iter().map(|q| q[1] as f64), 0.3);
    }

    #[test]
    fn rings_and_circles_lie_near_their_radii() {
        for (d, radii, noise) in [
            (ToyDataset::Rings, vec![3.0, 2.25, 1.5, 0.75], 0.08),
            (ToyDataset::Circles, vec![3.0, 1.5], 0.24),
        ] {
            let p = d.sample(N, 9);
            let mut hits = vec![0usize; radii.len()];
            for q in &p {
                let r = (q[0] as f64).hypot(q[1] as f64);
                let (k, dist) = radii
                    .iter()
                    .map(|r0| (r - r0).abs())
                    .enumerate()
                    .fold((0, f64::INFINITY), |a, b| if b.1 < a.1 { b } else { a });
                assert!(dist < 5.5 * noise, "{d}: radius {r}");
                hits[k] += 1;
            }
            let share = N / radii.len();
            for h in hits {
                assert!(
                    h.abs_diff(share) < share / 10,
                    "{d}: {h} points on one ring"
                );
            }
        }
    }

    #[test]
    fn tensor_has_shape_n_by_2() {
        let device = Device::flex();
        let t = ToyDataset::Moons.sample_tensor(10, 0, &device);
        assert_eq!(t.dims(), [10, 2]);
        let back: Vec<f32> = t.into_data().try_to_vec::<f32>().unwrap();
        let flat: Vec<f32> = ToyDataset::Moons
            .sample(10, 0)
            .into_iter()
            .flatten()
            .collect();
        assert_eq!(back, flat);
    }
}
