//! Exact checks in 2-D: AND of two Gaussians is the Gaussian with summed precisions (MALA
//! draws match its mean and covariance within Monte-Carlo error); OR of two normalised
//! energies is their mixture (quadrature); NOT is proper with its guard and improper without.

use ebm_core::burn::tensor::Device;
use ebm_core::{Energy, Gaussian, Grid, SeededRng, normalise};
use ebm_mcmc::{AdaptConfig, AdaptScope, Mala, RunConfig, StepSize, run};
use ebm_poe::{Mixture, Negation, Product};

/// The inverse of a 2x2 matrix (row-major).
fn inv2(a: [f64; 4]) -> [f64; 4] {
    let det = a[0] * a[3] - a[1] * a[2];
    [a[3] / det, -a[1] / det, -a[2] / det, a[0] / det]
}

/// Mean and covariance (row-major) of the product of `N(m1, s1)` and `N(m2, s2)`: precisions add,
/// `P = S1^-1 + S2^-1`, and `mean = P^-1 (S1^-1 m1 + S2^-1 m2)`.
fn exact_product(m1: [f64; 2], s1: [f64; 4], m2: [f64; 2], s2: [f64; 4]) -> ([f64; 2], [f64; 4]) {
    let (p1, p2) = (inv2(s1), inv2(s2));
    let p: [f64; 4] = std::array::from_fn(|i| p1[i] + p2[i]);
    let cov = inv2(p);
    let b = [
        p1[0] * m1[0] + p1[1] * m1[1] + p2[0] * m2[0] + p2[1] * m2[1],
        p1[2] * m1[0] + p1[3] * m1[1] + p2[2] * m2[0] + p2[3] * m2[1],
    ];
    (
        [cov[0] * b[0] + cov[1] * b[1], cov[2] * b[0] + cov[3] * b[1]],
        cov,
    )
}

/// Sample mean and covariance (row-major) of 2-D draws stored flat.
fn sample_moments(draws: &[f32]) -> ([f64; 2], [f64; 4]) {
    let x: Vec<[f64; 2]> = draws
        .chunks(2)
        .map(|p| [p[0] as f64, p[1] as f64])
        .collect();
    let n = x.len() as f64;
    let m = [0, 1].map(|j| x.iter().map(|p| p[j]).sum::<f64>() / n);
    let mut c = [0.0; 4];
    for p in &x {
        for i in 0..2 {
            for j in 0..2 {
                c[i * 2 + j] += (p[i] - m[i]) * (p[j] - m[j]) / n;
            }
        }
    }
    (m, c)
}

#[test]
fn and_of_two_gaussians_is_the_gaussian_with_summed_precisions() {
    let device = Device::flex();
    let (m1, s1) = ([1.0, 0.0], [1.0, 0.3, 0.3, 0.5]);
    let (m2, s2) = ([-1.0, 2.0], [2.0, -0.5, -0.5, 1.0]);
    let (mean, cov) = exact_product(m1, s1, m2, s2);

    let and = Product::new(vec![
        Gaussian::new(&m1, &s1, &device).unwrap(),
        Gaussian::new(&m2, &s2, &device).unwrap(),
    ])
    .unwrap();
    let chains = 64;
    let init = SeededRng::new(11).normal([chains, 2], &device) * 2.0;
    let config = RunConfig {
        warmup: 300,
        draws: 400,
        thin: 1,
        adapt: Some(AdaptConfig {
            scope: AdaptScope::Shared,
            target_accept: None,
            mass: Default::default(),
        }),
        diagnostics: true,
    };
    let mut mala = Mala::new(StepSize::Shared(0.1)).unwrap();
    let out = run(
        &and,
        &mut mala,
        init,
        &config,
        &mut SeededRng::new(12),
        |_| {},
    )
    .unwrap();
    assert!(out.report.max_rhat < 1.05, "R-hat {}", out.report.max_rhat);
    let ess = out.report.min_ess_bulk;
    assert!(ess > 500.0, "ESS {ess}");
    let (m, c) = sample_moments(&out.draws);
    // Monte-Carlo error from the ESS: sd(mean_i) = sqrt(S_ii / ESS),
    // sd(S_ij hat) = sqrt((S_ii S_jj + S_ij^2) / ESS) (Gaussian fourth moments).
    for i in 0..2 {
        let tol = 4.0 * (cov[i * 3] / ess).sqrt();
        assert!(
            (m[i] - mean[i]).abs() < tol,
            "mean {m:?} vs {mean:?} (tol {tol})"
        );
        // The test has power: the naive average of the two means is far outside the tolerance.
        assert!(
            ((m1[i] + m2[i]) / 2.0 - mean[i]).abs() > tol,
            "no power on mean[{i}]"
        );
        for j in 0..2 {
            let tol = 4.0 * ((cov[i * 3] * cov[j * 3] + cov[i * 2 + j].powi(2)) / ess).sqrt();
            assert!(
                (c[i * 2 + j] - cov[i * 2 + j]).abs() < tol,
                "cov {c:?} vs {cov:?} (tol {tol})"
            );
        }
    }
    // ... and the sum of the covariances (a wrong composition rule) is rejected too.
    let wrong = s1[0] + s2[0];
    assert!((wrong - cov[0]).abs() > 4.0 * (2.0 * cov[0] * cov[0] / ess).sqrt());
}

#[test]
fn or_of_two_normalised_energies_is_their_mixture() {
    let device = Device::flex();
    let (m1, s1) = ([-1.5, 0.0], [0.5, 0.2, 0.2, 0.8]);
    let (m2, s2) = ([1.5, 1.0], [1.0, -0.3, -0.3, 0.6]);
    let g1 = Gaussian::new(&m1, &s1, &device).unwrap();
    let g2 = Gaussian::new(&m2, &s2, &device).unwrap();
    let w = [0.3, 0.7];
    let grid = Grid::square(8.0, 201).unwrap();

    // Normalised components, weights w: exactly the mixture, log Z = 0.
    let or = Mixture::normalised(vec![g1.clone(), g2.clone()], &w).unwrap();
    assert!(or.log_z().unwrap().abs() < 1e-12);
    let q = normalise(&or, &grid, &device).unwrap();
    assert!(q.log_z.abs() < 1e-4, "log Z = {}", q.log_z);
    assert!(q.edge_mass() < 1e-6);
    let pdf = |m: [f64; 2], s: [f64; 4], x: [f64; 2]| {
        let pr = inv2(s);
        let d = [x[0] - m[0], x[1] - m[1]];
        let quad = d[0] * (pr[0] * d[0] + pr[1] * d[1]) + d[1] * (pr[2] * d[0] + pr[3] * d[1]);
        (-0.5 * quad).exp() / (2.0 * std::f64::consts::PI * (s[0] * s[3] - s[1] * s[2]).sqrt())
    };
    let density = q.density();
    let mut max_err: f64 = 0.0;
    let mut max_p: f64 = 0.0;
    for (i, x) in grid.coords().iter().enumerate() {
        let want = w[0] * pdf(m1, s1, *x) + w[1] * pdf(m2, s2, *x);
        max_err = max_err.max((density[i] - want).abs());
        max_p = max_p.max(want);
    }
    assert!(
        max_err < 1e-4 * max_p,
        "max density error {max_err} (peak {max_p})"
    );

    // Unnormalised components: Z = sum_i w_i Z_i, as log_z says and quadrature confirms.
    let or = Mixture::weighted(vec![g1, g2], &w, 1.0).unwrap();
    let q = normalise(&or, &grid, &device).unwrap();
    let closed = or.log_z().unwrap();
    assert!((q.log_z - closed).abs() < 1e-4, "{} vs {closed}", q.log_z);
    // At another temperature Z is not the mixture's, and log_z says it does not know.
    let hot = Mixture::weighted(
        vec![or.components()[0].clone(), or.components()[1].clone()],
        &w,
        2.0,
    )
    .unwrap();
    assert!(hot.log_z().is_none());
    let qh = normalise(&hot, &grid, &device).unwrap();
    assert!((qh.log_z - closed).abs() > 0.1);
}

#[test]
fn not_is_proper_with_its_guard_and_improper_without() {
    let device = Device::flex();
    // A wide base (variance 4) and a narrow expert to negate (variance 0.25) at (1, 0):
    // E_a - lambda E_b has precision 1/4 - lambda * 4 < 0 for lambda = 1: not normalisable.
    let base = Gaussian::new(&[0.0, 0.0], &[4.0, 0.0, 0.0, 4.0], &device).unwrap();
    let b = Gaussian::new(&[1.0, 0.0], &[0.25, 0.0, 0.0, 0.25], &device).unwrap();
    let lambda = 1.0;
    let grid = Grid::square(12.0, 241).unwrap();

    let cap = 2.0;
    let guarded = Negation::new(base.clone(), b.clone(), lambda, cap).unwrap();
    let q = normalise(&guarded, &grid, &device).unwrap();
    let log_z_base = base.log_z().unwrap();
    assert!(q.edge_mass() < 1e-6, "edge mass {}", q.edge_mass());
    assert!(q.log_z <= guarded.log_z_bound(log_z_base) + 1e-6);
    // The negated region is depleted: the density at b's mean is far below the base's there.
    let qa = normalise(&base, &grid, &device).unwrap();
    let centre = grid
        .coords()
        .iter()
        .position(|p| (p[0] - 1.0).abs() < 1e-9 && p[1].abs() < 1e-9)
        .unwrap();
    assert!(q.density()[centre] < 0.2 * qa.density()[centre]);

    // Without the guard (a cap far above any value E_b takes in the box) the mass runs to the
    // edge of any box: the density is not normalisable.
    let unguarded = Negation::new(base, b, lambda, 1e6).unwrap();
    let q = normalise(&unguarded, &grid, &device).unwrap();
    assert!(q.edge_mass() > 0.1, "edge mass {}", q.edge_mass());
}
