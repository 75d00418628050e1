//! AIS against known normalising constants: Gaussians of dimension 2, 100 and 500 (error within
//! 3 standard errors, shrinking as K grows), the reverse-AIS sandwich, and an RBM with 20 hidden
//! units against exact enumeration.

use ebm_core::burn::tensor::Device;
use ebm_core::rbm::log_z_exact;
use ebm_core::{BaseRateRbm, DiagGaussian, Energy, Gaussian, Rbm, RbmParams, SeededRng};
use ebm_mcmc::{
    AisAdapt, AisBase, AisConfig, AisEstimate, BlockGibbs, KernelSpec, Sandwich, Temperatures, ais,
    ais_rbm, held_out_log_likelihood,
};

const BASE: AisBase = AisBase::Gaussian { mean: 0.0, sd: 1.0 };

fn config(chains: usize, k: usize, transition: KernelSpec) -> AisConfig {
    AisConfig {
        chains,
        temperatures: Temperatures::sigmoid(k, 4.0).unwrap(),
        transition,
        steps_per_temperature: 1,
        adapt: Some(AisAdapt {
            pilot_chains: 32,
            ladder: 8,
            steps: 12,
            target_accept: None,
        }),
    }
}

fn run<E: Energy<2>>(energy: &E, d: usize, cfg: &AisConfig, seed: u64) -> AisEstimate {
    let device = Device::flex();
    ais(
        energy,
        BASE,
        [cfg.chains, d],
        cfg,
        &mut SeededRng::new(seed),
        &device,
    )
    .unwrap()
}

fn report(what: &str, est: &AisEstimate, truth: f64) {
    println!(
        "{what}: K = {}, log Z = {:.4} ± {:.4} (truth {truth:.4}, error {:+.4} = {:+.2} se), ESS {:.1}/{}, accept {:.3}",
        est.steps,
        est.log_z,
        est.se,
        est.log_z - truth,
        (est.log_z - truth) / est.se,
        est.ess,
        est.chains,
        est.mean_accept
    );
}

/// `|error| < 3 se`, with a meaningful standard error (enough effective samples to trust it).
fn assert_within_3_se(what: &str, est: &AisEstimate, truth: f64) {
    report(what, est, truth);
    assert!(
        est.ess > 10.0,
        "{what}: ESS {} too small to trust the se",
        est.ess
    );
    assert!(
        (est.log_z - truth).abs() < 3.0 * est.se,
        "{what}: |{} - {truth}| >= 3 x {}",
        est.log_z,
        est.se
    );
}

#[test]
fn correlated_gaussian_in_2d() {
    let device = Device::flex();
    let g = Gaussian::new(&[1.0, -0.5], &[2.0, 0.6, 0.6, 0.5], &device).unwrap();
    let truth = g.log_z().unwrap();
    let mala = KernelSpec::Mala { eps: 0.5 };
    let est = run(&g, 2, &config(256, 100, mala), 1);
    assert_within_3_se("gauss d=2 mala", &est, truth);
    let hmc = KernelSpec::Hmc {
        eps: 0.3,
        leapfrog: 5,
        jitter: 0.0,
    };
    let est = run(&g, 2, &config(256, 50, hmc), 2);
    assert_within_3_se("gauss d=2 hmc", &est, truth);
}

/// The targets in 100 and 500 dimensions: mean 0.3, variances log-spaced over [0.5, 2].
fn diag(d: usize) -> DiagGaussian {
    let device = Device::flex();
    let var: Vec<f64> = (0..d)
        .map(|i| (0.5f64.ln() + (4f64).ln() * i as f64 / (d - 1) as f64).exp())
        .collect();
    DiagGaussian::new(&vec![0.3; d], &var, &device).unwrap()
}

/// The sample variance of the log weights (its decrease with K is what shrinks the bias
/// `E[log Z^] - log Z ≈ -Var(log w) / (2M)`).
fn log_weight_variance(est: &AisEstimate) -> f64 {
    let n = est.log_weights.len() as f64;
    let m = est.log_weights.iter().sum::<f64>() / n;
    est.log_weights.iter().map(|w| (w - m).powi(2)).sum::<f64>() / (n - 1.0)
}

#[test]
fn diagonal_gaussian_in_100d_with_the_reverse_sandwich() {
    let g = diag(100);
    let truth = g.log_z().unwrap();
    let mala = KernelSpec::Mala { eps: 0.3 };
    let short = run(&g, 100, &config(128, 10, mala), 3);
    report("gauss d=100", &short, truth);
    // Reverse AIS from exact draws bounds log Z from above (in expectation); forward from below.
    let cfg = config(128, 3000, mala);
    let draws = g.sample(128, &mut SeededRng::new(5));
    let s = Sandwich::estimate(&g, BASE, draws, &cfg, &mut SeededRng::new(6)).unwrap();
    assert_within_3_se("gauss d=100 forward", &s.lower, truth);
    assert_within_3_se("gauss d=100 reverse", &s.upper, truth);
    println!(
        "sandwich [{:.4}, {:.4}], gap {:.4}",
        s.lower.log_z,
        s.upper.log_z,
        s.gap()
    );
    assert!(s.lower.log_z < truth + 3.0 * s.lower.se);
    assert!(s.upper.log_z > truth - 3.0 * s.upper.se);
    assert!((short.log_z - truth).abs() > (s.lower.log_z - truth).abs());
    assert!(log_weight_variance(&short) > 10.0 * log_weight_variance(&s.lower));
}

#[test]
fn diagonal_gaussian_in_500d_error_shrinks_with_k() {
    let g = diag(500);
    let truth = g.log_z().unwrap();
    let mala = KernelSpec::Mala { eps: 0.3 };
    let runs: Vec<AisEstimate> = [10, 100, 3000]
        .iter()
        .map(|&k| run(&g, 500, &config(128, k, mala), 3))
        .collect();
    report("gauss d=500", &runs[0], truth);
    report("gauss d=500", &runs[1], truth);
    assert_within_3_se("gauss d=500", &runs[2], truth);
    for w in runs.windows(2) {
        // Each 10x or more in K cuts the error and the spread of the log weights.
        assert!((w[1].log_z - truth).abs() < (w[0].log_z - truth).abs());
        assert!(log_weight_variance(&w[1]) < log_weight_variance(&w[0]));
    }
    // The short runs miss by many standard errors: the bias, not the noise, dominates there.
    assert!((runs[0].log_z - truth).abs() > 3.0 * runs[0].se);
}

/// An RBM with 100 visible and 20 hidden units and weights of scale 0.3: strongly coupled enough
/// that the base-rate RBM is far from it (its log Z differs by several nats).
fn rbm_20_hidden(device: &Device) -> Rbm {
    let (nv, nh) = (100, 20);
    let mut rng = SeededRng::new(11);
    let mut draw = |n: usize, s: f64| (0..n).map(|_| s * rng.normal_f64()).collect::<Vec<_>>();
    let p = RbmParams {
        n_visible: nv,
        n_hidden: nh,
        weights: draw(nv * nh, 0.3),
        visible_bias: draw(nv, 0.5),
        hidden_bias: draw(nh, 0.5),
    };
    Rbm::from_params(&p, device).unwrap()
}

#[test]
fn rbm_ais_from_the_base_rate_rbm_agrees_with_enumeration() {
    let device = Device::flex();
    let rbm = rbm_20_hidden(&device);
    let truth = log_z_exact(&rbm).unwrap();
    // The base rate from the RBM's own draws (200 chains, 200 Gibbs sweeps), as it would be from
    // training data.
    let mut rng = SeededRng::new(12);
    let start = rng.uniform([200, 100], 0.0, 1.0, &device).round();
    let draws = BlockGibbs::new(200)
        .unwrap()
        .run(&rbm, start, &mut rng)
        .visible;
    let values = draws.into_data().try_to_vec::<f32>().unwrap();
    let base = BaseRateRbm::from_data(&values, 100, 1.0, &device).unwrap();
    println!(
        "rbm: exact log Z {truth:.4}, base-rate log Z {:.4}",
        base.log_z()
    );
    let temps = Temperatures::linear(1000).unwrap();
    let est = ais_rbm(&rbm, &base, 100, &temps, &mut rng, |_| {}).unwrap();
    assert_within_3_se("rbm 100x20", &est, truth);
    assert!((base.log_z() - truth).abs() > 10.0 * est.se);
    // The held-out log-likelihood of the draws with exact and estimated log Z.
    let ll = held_out_log_likelihood(
        &rbm,
        BaseRateRbm::from_bias(vec![0.0; 100], &device).sample(10, &mut rng),
        truth,
        0.0,
    )
    .unwrap();
    assert_eq!(ll.count, 10);
}
