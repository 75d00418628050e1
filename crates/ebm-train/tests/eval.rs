//! Exact 2-D evaluation: quadrature NLL against a closed form, MMD² under equal and different
//! distributions, and the KDE against a known density.

use std::f64::consts::{E, PI};

use ebm_core::burn::tensor::Device;
use ebm_core::{DiagGaussian, Grid, SeededRng};
use ebm_train::eval::{eval_half_width, log_spaced, points_tensor};
use ebm_train::{Kde, MeanSe, exact_nll, mmd, mmd2_unbiased};

/// `n` draws of `N(mean, diag(sd^2))`.
fn gaussian(n: usize, mean: [f64; 2], sd: [f64; 2], rng: &mut SeededRng) -> Vec<[f64; 2]> {
    (0..n)
        .map(|_| {
            [
                mean[0] + sd[0] * rng.normal_f64(),
                mean[1] + sd[1] * rng.normal_f64(),
            ]
        })
        .collect()
}

#[test]
fn exact_nll_of_a_diagonal_gaussian_is_its_closed_form() {
    let device = Device::flex();
    let (mean, var) = ([0.3, -0.2], [0.5, 0.8]);
    let energy = DiagGaussian::new(&mean, &var, &device).unwrap();
    let mut rng = SeededRng::new(3);
    let points = gaussian(1000, mean, [var[0].sqrt(), var[1].sqrt()], &mut rng);
    // The box from the data: the data reach ~3.5 sd; a margin of 0.5 and a floor of 4.5 put the
    // edge >= 5 sd from the mean, where the mass outside is < 1e-6.
    let half = eval_half_width(&points, 0.5, 4.5).unwrap();
    let grid = Grid::square(half, 301).unwrap();
    let got = exact_nll(&energy, &grid, &points, &device).unwrap();
    let closed: Vec<f64> = points
        .iter()
        .map(|p| {
            (0..2)
                .map(|j| 0.5 * (p[j] - mean[j]).powi(2) / var[j] + 0.5 * (2.0 * PI * var[j]).ln())
                .sum()
        })
        .collect();
    let closed = MeanSe::of(&closed).unwrap();
    let log_z: f64 = var.iter().map(|v| 0.5 * (2.0 * PI * v).ln()).sum();
    // Same points, so no Monte-Carlo error: only quadrature (~1e-6 at this spacing) and f32
    // energies (relative 1e-7 of energies up to ~30) separate the two.
    assert!(
        (got.nll.mean - closed.mean).abs() < 1e-4,
        "{} vs {}",
        got.nll.mean,
        closed.mean
    );
    assert!((got.log_z - log_z).abs() < 1e-4, "{} vs {log_z}", got.log_z);
    assert!((got.nll.se - closed.se).abs() < 1e-4);
    assert!(got.edge_mass < 1e-6, "edge mass {}", got.edge_mass);
    assert_eq!(got.outside, 0);
    // Density integrates to 1 on the grid (trapezoid weights ~ h^2 inside).
    let h = 2.0 * half / 300.0;
    let mass: f64 = got.normalisation.density().iter().sum::<f64>() * h * h;
    assert!((mass - 1.0).abs() < 1e-3, "mass {mass}");
    // A box that cuts the density is reported by its edge mass.
    let small = exact_nll(&energy, &Grid::square(1.0, 101).unwrap(), &points, &device).unwrap();
    assert!(small.edge_mass > 1e-2, "edge mass {}", small.edge_mass);
    assert!(small.outside > 0);
    // Points are read through the tensor path unchanged.
    assert_eq!(points_tensor(&points, &device).dims(), [1000, 2]);
}

#[test]
fn mmd_is_zero_within_its_sd_for_one_distribution_and_large_for_two() {
    let mut rng = SeededRng::new(11);
    let (n, reps) = (100, 60);
    // Under H0, n MMD²_u tends to sum_l lambda_l (z_l^2 - 1): mean 0, sd = null_sd, and skewed
    // to the right; the most skewed case (one lambda) is a centred chi-square with 1 degree of
    // freedom, for which P(MMD² > 10 sd) = P(chi2_1 > 1 + 10 sqrt 2) ~ 1e-4 per replication.
    // Over 60 replications the sd estimate has relative sd <= 0.5 sqrt(2/59 + 12/60) ~ 0.23
    // (excess kurtosis 12 of chi2_1), so the ratio to the claimed sd lies in [0.3, 1.7]
    // (3 of those sds), and the mean lies within 5 standard errors of 0.
    let mut values = Vec::new();
    let mut sds = Vec::new();
    for _ in 0..reps {
        let x = gaussian(n, [0.0, 0.0], [1.0, 1.0], &mut rng);
        let y = gaussian(n, [0.0, 0.0], [1.0, 1.0], &mut rng);
        let m = mmd(&x, &y).unwrap();
        assert!(m.mmd2.abs() < 10.0 * m.null_sd, "{m:?}");
        values.push(m.mmd2);
        sds.push(m.null_sd);
    }
    let spread = MeanSe::of(&values).unwrap();
    let sd_emp = spread.se * (values.len() as f64).sqrt();
    let sd_claim = sds.iter().sum::<f64>() / sds.len() as f64;
    assert!(
        spread.mean.abs() < 5.0 * spread.se,
        "mean MMD² {} (se {})",
        spread.mean,
        spread.se
    );
    let ratio = sd_emp / sd_claim;
    assert!(
        (0.5..1.6).contains(&ratio),
        "empirical sd / null sd = {ratio}"
    );
    // A shift of one standard deviation, kernel bandwidth 1: the population value is
    // MMD² = 2 (1/3) (1 - exp(-1/6)) ~ 0.1024 (for N(m, I_2) and k with sigma = 1,
    // E k(x, x') = 1/3 and E k(x, y) = exp(-|dm|^2 / 6) / 3). The mean of 10 replications lies
    // within 4 of its standard errors, and each one is far above its null sd (a few 1e-3).
    let exact = 2.0 / 3.0 * (1.0 - (-1.0f64 / 6.0).exp());
    let mut shifted = Vec::new();
    for _ in 0..10 {
        let x = gaussian(2 * n, [0.0, 0.0], [1.0, 1.0], &mut rng);
        let y = gaussian(2 * n, [1.0, 0.0], [1.0, 1.0], &mut rng);
        let m = mmd2_unbiased(&x, &y, 1.0).unwrap();
        assert!(m.mmd2 > 10.0 * m.null_sd, "{m:?}");
        shifted.push(m.mmd2);
    }
    let shifted = MeanSe::of(&shifted).unwrap();
    assert!(
        (shifted.mean - exact).abs() < 4.0 * shifted.se,
        "MMD² {} ± {} vs {exact}",
        shifted.mean,
        shifted.se
    );
    let x = gaussian(2 * n, [0.0, 0.0], [1.0, 1.0], &mut rng);
    let y = gaussian(2 * n, [1.0, 0.0], [1.0, 1.0], &mut rng);
    // The statistic is symmetric in x and y.
    let a = mmd2_unbiased(&x, &y, 1.0).unwrap().mmd2;
    let b = mmd2_unbiased(&y, &x, 1.0).unwrap().mmd2;
    assert!((a - b).abs() < 1e-12);
}

#[test]
fn kde_on_a_gaussian_approaches_its_entropy_and_picks_a_sensible_bandwidth() {
    let mut rng = SeededRng::new(5);
    let train = gaussian(2000, [0.0, 0.0], [1.0, 1.0], &mut rng);
    let val = gaussian(500, [0.0, 0.0], [1.0, 1.0], &mut rng);
    let test = gaussian(1000, [0.0, 0.0], [1.0, 1.0], &mut rng);
    let fit = Kde::fit(train, &val, &log_spaced(0.05, 1.5, 12)).unwrap();
    // Silverman's rule for 2-D: h = n^(-1/6) = 0.28; the likelihood-chosen h is of that order.
    let h = fit.kde.bandwidth();
    assert!((0.1..0.6).contains(&h), "h = {h}");
    // The scores peak inside the grid, not at an end.
    let best = fit.scores.iter().position(|s| s.0 == h).unwrap();
    assert!(best > 0 && best < fit.scores.len() - 1, "{:?}", fit.scores);
    // Paired comparison with the true log density on the same points: the gap is KL(p || p_h)
    // >= 0 plus noise; for a Gaussian smoothed by h the KL is ln(1 + h^2) + 1/(1 + h^2) - 1
    // (~0.004 at h = 0.28) plus the variance term (1/2) ∫ Var(p_h) / p ~ A / (8 pi n h^2), with
    // A ~ 4 pi the area (radius 2) where that expansion holds: 1 / (2 n h^2) ~ 0.003. The bound
    // allows 3x this crude estimate plus 4 standard errors.
    let gaps: Vec<f64> = test
        .iter()
        .map(|&x| {
            let log_p = -0.5 * (x[0] * x[0] + x[1] * x[1]) - (2.0 * PI).ln();
            log_p - fit.kde.log_density(x)
        })
        .collect();
    let gap = MeanSe::of(&gaps).unwrap();
    let r = h * h;
    let expected = (1.0 + r).ln() + 1.0 / (1.0 + r) - 1.0 + 1.0 / (2.0 * 2000.0 * r);
    assert!(
        gap.mean > -4.0 * gap.se && gap.mean < 3.0 * expected + 4.0 * gap.se,
        "gap {} ± {} (expected ~{expected})",
        gap.mean,
        gap.se
    );
    // And the KDE NLL is near the entropy ln(2 pi e) of N(0, I_2).
    let nll = fit.kde.nll(&test).unwrap();
    let entropy = (2.0 * PI * E).ln();
    assert!(
        (nll.mean - entropy).abs() < 3.0 * expected + 4.0 * nll.se,
        "{} ± {} vs {entropy}",
        nll.mean,
        nll.se
    );
}
