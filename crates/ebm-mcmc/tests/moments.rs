//! Long runs of MALA and HMC through the runner: the mean and every covariance entry are within
//! 4 Monte-Carlo standard errors of the truth on a correlated Gaussian, a two-mode mixture and a
//! banana.
//!
//! Tolerances are derived, not tuned. For a series `y_t` (a coordinate `x_i`, or the product
//! `(x_i - mu_i)(x_j - mu_j)` whose expectation is `Sigma_ij`) the Monte-Carlo standard error of
//! its average over all chains and draws is `sd(y) / sqrt(ESS(y))`, with the ESS of that same
//! series (Stan's split-chain ESS of the mean, [`ess_basic`] on [`split_chains`]). Under a
//! correct sampler the standardised error `z = (mean(y) - truth) / se` is approximately N(0, 1),
//! so `|z| < 4` fails with probability about 6e-5 per assertion (about 0.3% over the 43 asserted
//! here, all seeded). So that the check cannot pass vacuously through a huge standard error, every
//! series must have an ESS of at least 200 (a floor, not a tolerance: with ESS effective draws the
//! estimated `se` is itself uncertain by about `1 / sqrt(2 ESS)`, 5% at 200, so `|z| < 4` means a
//! true `|z|` below 4.2). Negative controls show the same check rejecting ULA's known bias (by 25
//! standard errors) and a kernel that never moves (started at exact draws, its moments are right
//! but its ESS is only that of the independent starts, which a second floor, [`MOVED_ESS`],
//! rejects).

mod common;

use burn::tensor::{Device, Tensor};
use common::Frozen;
use ebm_core::{Banana, Energy, Gaussian, GaussianMixture, SeededRng};
use ebm_mcmc::diagnostics::{ess_basic, split_chains};
use ebm_mcmc::{Hmc, Kernel, Mala, RunConfig, RunOutput, StepSize, Ula, run};

fn device() -> Device {
    Device::flex()
}

/// One asserted moment: what it is, its estimate, the truth, the standard error, the ESS.
#[derive(Debug)]
struct Moment {
    what: String,
    estimate: f64,
    truth: f64,
    se: f64,
    ess: f64,
}

impl Moment {
    fn z(&self) -> f64 {
        (self.estimate - self.truth) / self.se
    }
}

/// The Monte-Carlo estimate of `E[y]` from a `[chains][draws]` series, with its standard error
/// `sd(y) / sqrt(ESS(y))`.
fn moment(what: String, series: &[Vec<f64>], truth: f64) -> Moment {
    let all: Vec<f64> = series.concat();
    let n = all.len() as f64;
    let estimate = all.iter().sum::<f64>() / n;
    let sd = (all.iter().map(|y| (y - estimate).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    let ess = ess_basic(&split_chains(series).expect("at least 4 draws per chain"));
    Moment {
        what,
        estimate,
        truth,
        se: sd / ess.sqrt(),
        ess,
    }
}

/// Every mean and every covariance entry (upper triangle with the diagonal) of the draws, against
/// the true mean `mu` and covariance `cov` (row-major `d x d`).
fn moments(out: &RunOutput<2>, mu: &[f64], cov: &[f64]) -> Vec<Moment> {
    let d = mu.len();
    assert_eq!(out.dims(), d);
    let coords: Vec<Vec<Vec<f64>>> = (0..d).map(|j| out.coordinate(j)).collect();
    let mut result = Vec::new();
    for i in 0..d {
        result.push(moment(format!("mean x{i}"), &coords[i], mu[i]));
    }
    for i in 0..d {
        for j in i..d {
            let product: Vec<Vec<f64>> = coords[i]
                .iter()
                .zip(&coords[j])
                .map(|(a, b)| {
                    a.iter()
                        .zip(b)
                        .map(|(x, y)| (x - mu[i]) * (y - mu[j]))
                        .collect()
                })
                .collect();
            result.push(moment(format!("cov x{i} x{j}"), &product, cov[i * d + j]));
        }
    }
    result
}

/// The worst `|z|` over the moments, after printing them all.
fn worst(label: &str, ms: &[Moment]) -> f64 {
    for m in ms {
        eprintln!(
            "{label} {}: {:.4} vs {:.4}, se {:.4}, ess {:.0}, z {:+.2}",
            m.what,
            m.estimate,
            m.truth,
            m.se,
            m.ess,
            m.z()
        );
    }
    ms.iter().map(|m| m.z().abs()).fold(0.0, f64::max)
}

/// 256 chains started at exact draws of the target (so no burn-in bias), 500 warm-up steps with
/// shared dual averaging to the kernel's target acceptance, then `draws` draws.
fn long_run<E: Energy<2>, K: Kernel<2>>(
    energy: &E,
    mut kernel: K,
    init: Tensor<2>,
    draws: usize,
    rng: &mut SeededRng,
) -> RunOutput<2> {
    let config = RunConfig {
        warmup: 500,
        draws,
        thin: 1,
        ..RunConfig::default()
    };
    run(energy, &mut kernel, init, &config, rng, |_| {}).unwrap()
}

const CHAINS: usize = 256;

/// The ESS every mean needs beyond the floor of 200: 1.5 x the number of chains. The chains
/// start at exact draws, so even a kernel that never moves has `CHAINS` independent draws, and
/// the split-chain ESS of such constant chains tends to `CHAINS` for every series (measured 256
/// after 2,000 draws); the correct runs' means reach 563 at the least (banana, HMC, `mean x1`).
/// Only what the sampler adds beyond its starts can clear this floor. It applies to the means
/// only: the products of the banana's heavy-tailed coordinates have an ESS near `CHAINS` under a
/// correct sampler too (HMC's `cov x1 x1`: 272 to 491 over seeds), while a frozen kernel fails on
/// its means already.
const MOVED_ESS: f64 = 1.5 * CHAINS as f64;

/// Whether a run passes: every moment within 4 standard errors, each series with an ESS of at
/// least 200 and each mean of at least [`MOVED_ESS`].
fn verdict(label: &str, out: &RunOutput<2>, mu: &[f64], cov: &[f64]) -> Result<(), String> {
    let ms = moments(out, mu, cov);
    let z = worst(label, &ms);
    if let Some(m) = ms.iter().find(|m| m.ess.is_nan() || m.ess < 200.0) {
        return Err(format!(
            "{label} {}: ESS {} too small for a meaningful check",
            m.what, m.ess
        ));
    }
    let mean = |m: &&Moment| m.what.starts_with("mean");
    if let Some(m) = ms
        .iter()
        .filter(mean)
        .find(|m| m.ess.is_nan() || m.ess < MOVED_ESS)
    {
        return Err(format!(
            "{label} {}: ESS {} is no more than the independent starts give",
            m.what, m.ess
        ));
    }
    if z.is_nan() || z >= 4.0 {
        return Err(format!("{label}: a moment is {z:.2} standard errors off"));
    }
    Ok(())
}

/// Asserts every moment of both MALA and HMC (L = 10) runs within 4 standard errors, each series
/// with an ESS of at least 200 (and each mean [`MOVED_ESS`]).
fn check_mala_and_hmc<E: Energy<2>>(
    name: &str,
    energy: &E,
    exact: impl Fn(usize, &mut SeededRng) -> Tensor<2>,
    mu: &[f64],
    cov: &[f64],
    seed: u64,
) {
    let mut rng = SeededRng::new(seed);
    let runs = [
        (
            "mala",
            long_run(
                energy,
                Mala::new(StepSize::Shared(0.1)).unwrap(),
                exact(CHAINS, &mut rng),
                2000,
                &mut rng,
            ),
        ),
        (
            "hmc",
            long_run(
                energy,
                Hmc::new(StepSize::Shared(0.1), 10).unwrap(),
                exact(CHAINS, &mut rng),
                1000,
                &mut rng,
            ),
        ),
    ];
    for (kernel, out) in &runs {
        let label = format!("{name} {kernel}");
        if let Err(e) = verdict(&label, out, mu, cov) {
            panic!("{e}");
        }
    }
}

#[test]
fn correlated_gaussian_mean_and_covariance() {
    let device = device();
    let mu = [1.0, -2.0, 0.5];
    // Correlations 0.8, -0.5 and -0.25; eigenvalues about 0.2 to 3.
    let cov = [1.0, 0.8, -0.5, 0.8, 1.0, -0.25, -0.5, -0.25, 2.0];
    let target = Gaussian::new(&mu, &cov, &device).unwrap();
    check_mala_and_hmc(
        "gaussian",
        &target,
        |n, rng| target.sample(n, rng),
        &mu,
        &cov,
        11,
    );
}

#[test]
fn two_mode_mixture_mean_and_covariance() {
    let device = device();
    // Modes at -1.5 e_1 and +1.5 e_1, unit variance, equal weights: mean 0, Var[x1] = 1 + 1.5^2,
    // Var[x2] = 1, uncorrelated. The modes are 3 sd apart, so MALA and HMC cross between them.
    let target = GaussianMixture::two_modes(2, 1.5, &device).unwrap();
    let mu = [0.0, 0.0];
    let cov = [1.0 + 1.5 * 1.5, 0.0, 0.0, 1.0];
    check_mala_and_hmc(
        "mixture",
        &target,
        |n, rng| target.sample(n, rng),
        &mu,
        &cov,
        12,
    );
}

#[test]
fn banana_mean_and_covariance() {
    let device = device();
    // x1 ~ N(0, 100), x2 = z - b x1^2 + 100 b: E[x2] = 0, Var[x2] = 1 + b^2 Var[x1^2]
    // = 1 + 2 b^2 100^2 = 9 for b = 0.02, and Cov(x1, x2) = -b E[x1^3] = 0.
    let b = 0.02;
    let target = Banana::new(2, b, &device).unwrap();
    let mu = [0.0, 0.0];
    let cov = [100.0, 0.0, 0.0, 1.0 + 2.0 * b * b * 1e4];
    check_mala_and_hmc(
        "banana",
        &target,
        |n, rng| target.sample(n, rng),
        &mu,
        &cov,
        13,
    );
}

/// Negative control: the same check rejects ULA, whose stationary variance on `N(0, 1)` is
/// `1 / (1 - eps/2)` (1.14 at `eps = 0.25`), while it accepts MALA at the same step size.
/// Expected rejection: the variance series `x^2` of AR(1) chains with `a = 1 - eps = 0.75` has
/// `tau = (1 + a^2) / (1 - a^2) = 3.6`, so 256,000 draws give an ESS near 72,000 and
/// `se = sqrt(2) 1.14 / sqrt(72,000) = 0.006` against a bias of 0.143: `z` about 24 (measured
/// 25.3 and 24.8).
#[test]
fn the_moment_check_rejects_ula_bias() {
    let device = device();
    let target = Gaussian::new(&[0.0, 0.0], &[1.0, 0.0, 0.0, 1.0], &device).unwrap();
    let mut rng = SeededRng::new(14);
    let config = RunConfig {
        warmup: 100,
        draws: 1000,
        thin: 1,
        adapt: None,
        diagnostics: false,
    };
    let mut ula = Ula::new(StepSize::Shared(0.25)).unwrap();
    let init = target.sample(CHAINS, &mut rng);
    let out = run(&target, &mut ula, init, &config, &mut rng, |_| {}).unwrap();
    let z = worst("ula", &moments(&out, &[0.0, 0.0], &[1.0, 0.0, 0.0, 1.0]));
    assert!(z > 4.0, "ULA's variance bias went unnoticed: worst z {z}");
    let mut mala = Mala::new(StepSize::Shared(0.25)).unwrap();
    let init = target.sample(CHAINS, &mut rng);
    let out = run(&target, &mut mala, init, &config, &mut rng, |_| {}).unwrap();
    let z = worst("mala", &moments(&out, &[0.0, 0.0], &[1.0, 0.0, 0.0, 1.0]));
    assert!(z < 4.0, "MALA at the same step size: worst z {z}");
}

/// Negative control: chains that never move, started at exact draws, have the right moments on
/// average, but their ESS is only that of the independent starts, so the same check rejects them.
/// 200 draws instead of 2,000, because the ESS of constant chains scans every lag (quadratic in
/// the draws); the ESS of constant chains falls toward `CHAINS` as the draws grow (267 at 200,
/// 257 at 2,000), so the shorter run is the harder case for the check.
#[test]
fn the_moment_check_rejects_a_kernel_that_never_moves() {
    let device = device();
    let target = Gaussian::new(&[0.0, 0.0], &[1.0, 0.0, 0.0, 1.0], &device).unwrap();
    let mut rng = SeededRng::new(15);
    let config = RunConfig {
        warmup: 0,
        draws: 200,
        thin: 1,
        adapt: None,
        diagnostics: false,
    };
    let mut frozen = Frozen(Mala::new(StepSize::Shared(0.25)).unwrap());
    let init = target.sample(CHAINS, &mut rng);
    let out = run(&target, &mut frozen, init, &config, &mut rng, |_| {}).unwrap();
    let v = verdict("frozen", &out, &[0.0, 0.0], &[1.0, 0.0, 0.0, 1.0]);
    eprintln!("frozen: {v:?}");
    assert!(
        v.is_err(),
        "a kernel that never moves passed the moment check"
    );
}
