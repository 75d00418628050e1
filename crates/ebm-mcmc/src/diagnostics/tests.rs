//! ESS and R-hat against the theory of Gaussian AR(1) chains.

use super::*;
use ebm_core::SeededRng;

/// `m` chains of `n` draws of a stationary Gaussian AR(1), `x_t = phi x_{t-1} + sqrt(1-phi^2) e_t`.
fn ar1(m: usize, n: usize, phi: f64, rng: &mut SeededRng) -> Vec<Vec<f64>> {
    (0..m)
        .map(|_| {
            let mut x = rng.normal_f64();
            (0..n)
                .map(|_| {
                    x = phi * x + (1.0 - phi * phi).sqrt() * rng.normal_f64();
                    x
                })
                .collect()
        })
        .collect()
}

/// Relative Monte-Carlo sd of an integrated-autocorrelation-time estimate summed over a window
/// of `w` lags from `n` draws (Sokal's approximation `var(tau)/tau^2 ~ 2 (2w + 1) / n`).
fn tau_rel_sd(w: f64, n: f64) -> f64 {
    (2.0 * (2.0 * w + 1.0) / n).sqrt()
}

#[test]
fn ess_of_ar1_matches_theory() {
    let mut rng = SeededRng::new(11);
    let (m, n) = (8, 5000);
    let total = (m * n) as f64;
    for phi in [0.5, 0.8] {
        let chains = ar1(m, n, phi, &mut rng);
        let truth = total * (1.0 - phi) / (1.0 + phi);
        // Window: the lag where phi^w falls below the noise floor 1/sqrt(N) of the
        // autocorrelation estimates; 4 relative sds of the tau estimate (12% for phi=0.5,
        // 20% for phi=0.8 at N=40,000).
        let w = (total.sqrt().ln() / -phi.ln()).ceil();
        let tol = 4.0 * tau_rel_sd(w, total);
        for (name, ess) in [("basic", ess_basic(&chains)), ("bulk", ess_bulk(&chains))] {
            let rel = (ess - truth).abs() / truth;
            eprintln!("phi={phi} {name}: ess {ess} vs {truth} (rel {rel}, tol {tol})");
            assert!(
                rel < tol,
                "phi={phi} {name}: ess {ess} vs {truth} (rel {rel} > {tol})"
            );
        }
    }
}

#[test]
fn ess_of_iid_draws_is_about_n() {
    let mut rng = SeededRng::new(12);
    let (m, n) = (8, 5000);
    let total = (m * n) as f64;
    let chains = ar1(m, n, 0.0, &mut rng);
    // Geyer's sequence for iid draws keeps a few noise pairs (each pair sum ~ N(0, 2/N));
    // a window of 3 lags bounds that: 4 sds = 7.5%.
    let tol = 4.0 * tau_rel_sd(3.0, total);
    for ess in [ess_basic(&chains), ess_bulk(&chains)] {
        eprintln!("iid: ess {ess} vs {total} (tol {tol})");
        assert!((ess - total).abs() / total < tol, "ess {ess} vs {total}");
    }
}

#[test]
fn rhat_is_one_for_iid_and_large_for_shifted_chains() {
    let mut rng = SeededRng::new(13);
    let chains = ar1(4, 1000, 0.0, &mut rng);
    // 8 half-chains of 500 iid draws: R^2 - 1 ~ (chi2_7/7 - 1)/n, so R - 1 < 2.47/(2*500)
    // = 0.0025 with probability 0.999 (and the same for the folded value).
    let r = split_rhat(&chains);
    eprintln!("iid rhat {r}");
    assert!(r > 0.99 && r < 1.0025, "iid rhat {r}");
    let mut shifted = chains.clone();
    for (c, chain) in shifted.iter_mut().enumerate() {
        for x in chain.iter_mut() {
            *x += c as f64;
        }
    }
    let r = split_rhat(&shifted);
    assert!(r > 1.1, "shifted rhat {r}");
    // A trend inside a single chain shows up through the split.
    let trend = vec![
        (0..1000)
            .map(|i| i as f64 / 100.0 + rng.normal_f64())
            .collect(),
    ];
    assert!(split_rhat(&trend) > 1.1);
    // Antithetic chains (alternating signs): ESS above the number of draws, no panic.
    let alternating: Vec<Vec<f64>> = vec![
        (0..100)
            .map(|i| if i % 2 == 0 { 1.0 } else { -1.0 })
            .collect(),
    ];
    assert!(ess_basic(&alternating) > 100.0);
    let four = vec![vec![1.0, -1.0, 2.0, 0.5]; 2];
    assert!(!ess_basic(&four).is_nan());
    // Too short: NaN, not a panic.
    assert!(split_rhat(&[vec![1.0, 2.0]]).is_nan());
    assert!(ess_bulk(&[vec![1.0, 2.0]]).is_nan());
}
