//! Statistical tests of the samplers, seeded, with tolerances derived from Monte-Carlo error.

use burn::tensor::{Device, Tensor, TensorData};
use ebm_core::{DiagGaussian, Energy, Gaussian, SeededRng};
use ebm_mcmc::diagnostics::ks_two_sample;
use ebm_mcmc::{
    AdaptConfig, AdaptScope, ChainState, Hmc, Kernel, Mala, McmcError, Phase, RunConfig, Rwm, Sgld,
    StepSize, Ula, hamiltonian, leapfrog, run,
};
use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, RngSeed};

fn device() -> Device {
    Device::flex()
}

/// Host copy of a `[n, d]` tensor, one `Vec` per coordinate.
fn columns(t: Tensor<2>) -> Vec<Vec<f64>> {
    let [n, d] = t.dims();
    let v = t.into_data().try_into_vec_as::<f32>().unwrap();
    (0..d)
        .map(|j| (0..n).map(|i| v[i * d + j] as f64).collect())
        .collect()
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

fn variance(v: &[f64]) -> f64 {
    let m = mean(v);
    v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len() as f64 - 1.0)
}

/// A random mean (entries N(0, 1)) and a random SPD covariance `Q diag(lambda) Q^T` with a
/// random rotation `Q` (Gram-Schmidt on a Gaussian matrix) and eigenvalues uniform in [0.5, 2],
/// so that one set of step sizes suits every case.
fn random_gaussian(d: usize, rng: &mut SeededRng) -> (Vec<f64>, Vec<f64>) {
    let mean: Vec<f64> = (0..d).map(|_| rng.normal_f64()).collect();
    let mut q: Vec<Vec<f64>> = Vec::new();
    while q.len() < d {
        let mut v: Vec<f64> = (0..d).map(|_| rng.normal_f64()).collect();
        for u in &q {
            let dot: f64 = v.iter().zip(u).map(|(a, b)| a * b).sum();
            v.iter_mut().zip(u).for_each(|(a, b)| *a -= dot * b);
        }
        let norm = v.iter().map(|a| a * a).sum::<f64>().sqrt();
        if norm > 1e-3 {
            q.push(v.into_iter().map(|a| a / norm).collect());
        }
    }
    let lambda: Vec<f64> = (0..d).map(|_| 0.5 + 1.5 * rng.uniform_f64()).collect();
    let mut cov = vec![0.0; d * d];
    for i in 0..d {
        for j in 0..d {
            cov[i * d + j] = (0..d).map(|k| q[k][i] * lambda[k] * q[k][j]).sum();
        }
    }
    // Exact symmetry for the constructor's check.
    for i in 0..d {
        for j in 0..i {
            let s = 0.5 * (cov[i * d + j] + cov[j * d + i]);
            cov[i * d + j] = s;
            cov[j * d + i] = s;
        }
    }
    (mean, cov)
}

#[derive(Debug, Clone, Copy)]
enum Which {
    Rwm,
    Mala,
    Hmc,
}

/// `k` steps of a kernel from `x0`; returns the final positions.
fn steps<K: Kernel<2>, E: Energy<2>>(
    kernel: &K,
    energy: &E,
    x0: Tensor<2>,
    k: usize,
    rng: &mut SeededRng,
) -> Tensor<2> {
    let mut state = kernel.init(energy, x0);
    for _ in 0..k {
        state = kernel.step(energy, state, rng).0;
    }
    state.position
}

/// KS p-values, one per coordinate, of `chains` chains started at exact draws of the Gaussian
/// target and moved by `which` on the Gaussian with covariance `cov * run_scale`, against fresh
/// exact draws of the target.
fn invariance_p_values(which: Which, d: usize, seed: u64, run_scale: f64) -> Vec<f64> {
    // 30,000 chains: under the wrong target (variance x1.3, sd ratio 1.14) every marginal CDF is
    // off by D = max_x |Phi(x) - Phi(x / 1.14)| = 0.032, so sqrt(n/2) D = 3.9 with an sd of about
    // 0.36, while p < 1e-3 needs only 1.95: the wrong-target check fails with a margin of 5 sd.
    const CHAINS: usize = 30_000;
    let device = device();
    let mut rng = SeededRng::new(seed);
    let (mean, cov) = random_gaussian(d, &mut rng);
    let target = Gaussian::new(&mean, &cov, &device).unwrap();
    let scaled: Vec<f64> = cov.iter().map(|c| c * run_scale).collect();
    let run_on = Gaussian::new(&mean, &scaled, &device).unwrap();
    let x0 = target.sample(CHAINS, &mut rng);
    // Step sizes for eigenvalues in [0.5, 2.6]; enough steps that the wrong-target chains relax
    // to their own stationary law (the slowest direction contracts by at least 5% per step for
    // RWM, 11% for MALA, and HMC's trajectory of length 1.5 decorrelates within a few steps).
    let x = match which {
        Which::Rwm => steps(
            &Rwm::new(StepSize::Shared(1.2)).unwrap(),
            &run_on,
            x0,
            100,
            &mut rng,
        ),
        Which::Mala => steps(
            &Mala::new(StepSize::Shared(0.3)).unwrap(),
            &run_on,
            x0,
            60,
            &mut rng,
        ),
        Which::Hmc => steps(
            &Hmc::new(StepSize::Shared(0.3), 5).unwrap(),
            &run_on,
            x0,
            20,
            &mut rng,
        ),
    };
    let fresh = target.sample(CHAINS, &mut rng);
    columns(x)
        .iter()
        .zip(columns(fresh).iter())
        .map(|(a, b)| ks_two_sample(a, b).1)
        .collect()
}

fn proptest_config() -> ProptestConfig {
    ProptestConfig {
        cases: 8,
        rng_seed: RngSeed::Fixed(20_260_101),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(proptest_config())]

    /// Exact kernels leave the target invariant: started at exact draws, after k steps every
    /// marginal is indistinguishable from fresh exact draws (two-sample KS, p > 1e-3).
    #[test]
    fn kernels_leave_a_gaussian_invariant(d in 1usize..=4, seed in any::<u64>()) {
        for which in [Which::Rwm, Which::Mala, Which::Hmc] {
            let p = invariance_p_values(which, d, seed, 1.0);
            eprintln!("invariance {which:?} d={d}: {p:?}");
            prop_assert!(p.iter().all(|&p| p > 1e-3), "{which:?} d={d}: p-values {p:?}");
        }
    }

    /// The same check has power: run on a target with variance x1.3, every marginal fails it.
    #[test]
    fn the_invariance_check_rejects_a_wrong_target(d in 1usize..=4, seed in any::<u64>()) {
        for which in [Which::Rwm, Which::Mala, Which::Hmc] {
            let p = invariance_p_values(which, d, seed, 1.3);
            eprintln!("wrong target {which:?} d={d}: {p:?}");
            prop_assert!(p.iter().all(|&p| p < 1e-3), "{which:?} d={d}: p-values {p:?}");
        }
    }
}

/// A long run through the runner: for each kernel, the mean of every coordinate is within 4
/// Monte-Carlo standard errors `sd / sqrt(ESS)` of the truth, R-hat is near 1 and the adapted
/// acceptance is near the kernel's target.
#[test]
fn long_runs_recover_the_mean() {
    let device = device();
    let mut rng = SeededRng::new(5);
    let (mu, cov) = random_gaussian(3, &mut rng);
    let target = Gaussian::new(&mu, &cov, &device).unwrap();
    let config = RunConfig {
        warmup: 300,
        draws: 500,
        thin: 2,
        ..RunConfig::default()
    };
    for which in [Which::Rwm, Which::Mala, Which::Hmc] {
        let init = rng.normal([16, 3], &device).mul_scalar(3.0);
        let mut calls = 0usize;
        let progress = |_: &ebm_mcmc::Progress| calls += 1;
        let (out, target_accept) = match which {
            Which::Rwm => {
                let mut k = Rwm::new(StepSize::Shared(0.5)).unwrap();
                (
                    run(&target, &mut k, init, &config, &mut rng, progress).unwrap(),
                    Rwm::TARGET_ACCEPT,
                )
            }
            Which::Mala => {
                let mut k = Mala::new(StepSize::Shared(0.1)).unwrap();
                (
                    run(&target, &mut k, init, &config, &mut rng, progress).unwrap(),
                    Mala::TARGET_ACCEPT,
                )
            }
            Which::Hmc => {
                let mut k = Hmc::new(StepSize::Shared(0.1), 5).unwrap();
                (
                    run(&target, &mut k, init, &config, &mut rng, progress).unwrap(),
                    Hmc::TARGET_ACCEPT,
                )
            }
        };
        assert_eq!(calls, 300 + 1000, "{which:?}: one progress call per step");
        assert_eq!(out.shape, vec![16, 500, 3]);
        assert_eq!(out.draws.len(), 16 * 500 * 3);
        let report = &out.report;
        // 16 well-mixed chains: R-hat - 1 is O(1/draws); 1.05 is a loose bound that a chain
        // stuck at its (overdispersed) start would exceed.
        assert!(
            report.max_rhat < 1.05,
            "{which:?}: rhat {}",
            report.max_rhat
        );
        for j in 0..3 {
            let all: Vec<f64> = out.coordinate(j).concat();
            let sd = cov[j * 3 + j].sqrt();
            let mcse = sd / report.ess_bulk[j].sqrt();
            let err = (mean(&all) - mu[j]).abs();
            assert!(
                err < 4.0 * mcse,
                "{which:?} coord {j}: error {err} > 4 * mcse {mcse}"
            );
        }
        // Dual averaging hits its target only approximately (the final step size is an average
        // of iterates, and the acceptance depends on it nonlinearly): within 0.1.
        let acc = mean(&report.accept_prob);
        eprintln!(
            "{which:?}: acc {acc} rhat {} ess {:?} step {:?}",
            report.max_rhat, report.ess_bulk, report.step_size
        );
        assert!(
            (acc - target_accept).abs() < 0.1,
            "{which:?}: acceptance {acc}"
        );
        assert!(matches!(report.step_size, StepSize::Shared(_)));
    }
}

/// Per-chain adaptation gives one step size per chain; chains of a badly scaled start still
/// reach acceptances near the target.
#[test]
fn per_chain_adaptation_gives_a_vector_of_step_sizes() {
    let device = device();
    let mut rng = SeededRng::new(6);
    let target = DiagGaussian::new(&[0.0, 0.0], &[1.0, 4.0], &device).unwrap();
    let config = RunConfig {
        warmup: 400,
        draws: 400,
        thin: 1,
        adapt: Some(AdaptConfig {
            scope: AdaptScope::PerChain,
            target_accept: None,
        }),
        diagnostics: true,
    };
    let mut k = Mala::new(StepSize::PerChain(vec![0.01, 0.1, 1.0, 10.0])).unwrap();
    let init = rng.normal([4, 2], &device);
    let out = run(&target, &mut k, init, &config, &mut rng, |_| {}).unwrap();
    let StepSize::PerChain(h) = &out.report.step_size else {
        panic!("expected per-chain step sizes")
    };
    assert_eq!(h.len(), 4);
    // Each chain's own mean acceptance over 400 steps: the sd of a mean of 400 correlated
    // acceptance probabilities is below 0.05, and dual averaging lands within ~0.05 of target.
    eprintln!("per-chain acc {:?} h {h:?}", out.report.accept_prob);
    for (c, a) in out.report.accept_prob.iter().enumerate() {
        assert!(
            (a - Mala::TARGET_ACCEPT).abs() < 0.15,
            "chain {c}: acceptance {a}, h {h:?}"
        );
    }
    // Wrong length for the chains: typed error, no panic.
    let mut bad = Mala::new(StepSize::PerChain(vec![0.1, 0.1])).unwrap();
    let err = run(
        &target,
        &mut bad,
        rng.normal([3, 2], &device),
        &config,
        &mut rng,
        |_| {},
    );
    assert!(
        matches!(err, Err(McmcError::InvalidParameter { .. })),
        "{err:?}"
    );
}

/// Variance of `chains` chains of a kernel on N(0, s^2), pooled over `snapshots` states taken
/// `gap` steps apart after a burn-in.
fn stationary_variance<K: Kernel<2>>(kernel: &K, s2: f64, seed: u64) -> f64 {
    const CHAINS: usize = 20_000;
    let device = device();
    let target = DiagGaussian::new(&[0.0], &[s2], &device).unwrap();
    let mut rng = SeededRng::new(seed);
    let mut state = kernel.init(&target, target.sample(CHAINS, &mut rng));
    for _ in 0..100 {
        state = kernel.step(&target, state, &mut rng).0;
    }
    let mut pooled = Vec::new();
    for _ in 0..10 {
        for _ in 0..30 {
            state = kernel.step(&target, state, &mut rng).0;
        }
        pooled.extend(columns(state.position.clone()).remove(0));
    }
    variance(&pooled)
}

/// ULA's known bias on N(0, s^2): stationary variance s^2 / (1 - eps / (2 s^2)); MALA at the same
/// eps has the exact variance s^2.
#[test]
fn ula_is_biased_as_predicted_and_mala_is_not() {
    let s2 = 1.0;
    // 200,000 pooled values: 20,000 independent chains x 10 snapshots 30 steps apart (the
    // lag-30 autocorrelation of x^2 is at most (1 - eps)^60 = 0.002 for eps >= 0.1, so the
    // snapshots are practically independent). The relative sd of a variance estimate from n
    // normal draws is sqrt(2/n) = 0.32%; 4 sds = 1.3%, well below the smallest bias tested (5.3%).
    let tol = 4.0 * (2.0f64 / 200_000.0).sqrt();
    for (i, eps) in [0.1, 0.3, 0.6].into_iter().enumerate() {
        let ula = Ula::new(StepSize::Shared(eps)).unwrap();
        let v = stationary_variance(&ula, s2, 100 + i as u64);
        let want = s2 / (1.0 - eps / (2.0 * s2));
        eprintln!("ULA eps={eps}: var {v} vs {want}");
        assert!(
            (v / want - 1.0).abs() < tol,
            "ULA eps={eps}: var {v} vs {want}"
        );
        let mala = Mala::new(StepSize::Shared(eps)).unwrap();
        let v = stationary_variance(&mala, s2, 200 + i as u64);
        eprintln!("MALA eps={eps}: var {v}");
        assert!(
            (v / s2 - 1.0).abs() < tol,
            "MALA eps={eps}: var {v} vs {s2}"
        );
    }
}

/// MALA's acceptance tends to 1 as eps -> 0 (1 - alpha = O(eps^{3/2})).
#[test]
fn mala_acceptance_tends_to_one() {
    let device = device();
    let mut rng = SeededRng::new(7);
    let (mu, cov) = random_gaussian(4, &mut rng);
    let target = Gaussian::new(&mu, &cov, &device).unwrap();
    let x0 = target.sample(2000, &mut rng);
    let mut rejection = Vec::new();
    for eps in [0.3, 0.03, 0.003, 0.0003] {
        let k = Mala::new(StepSize::Shared(eps)).unwrap();
        let state = k.init(&target, x0.clone());
        let (_, info) = k.step(&target, state, &mut rng);
        let a = columns(info.accept_prob.reshape([2000, 1])).remove(0);
        rejection.push(1.0 - mean(&a));
    }
    // Each 10x reduction of eps cuts the rejection by about 10^{1.5} = 32: ask for at least 5x,
    // and for the smallest eps an acceptance above 0.999.
    eprintln!("rejection {rejection:?}");
    for w in rejection.windows(2) {
        assert!(w[1] < w[0] / 5.0, "rejection not shrinking: {rejection:?}");
    }
    assert!(*rejection.last().unwrap() < 1e-3, "{rejection:?}");
}

/// Leapfrog is reversible: forward, flip the momentum, forward again returns to the start.
/// Its energy error over a fixed trajectory length shrinks as eps^2.
#[test]
fn leapfrog_is_reversible_and_second_order() {
    let device = device();
    let mut rng = SeededRng::new(8);
    let target = ebm_core::Banana::new(2, 0.1, &device).unwrap();
    let x0 = target.sample(500, &mut rng);
    let p0: Tensor<2> = rng.normal([500, 2], &device);
    let (e0, g0) = target.energy_and_grad(x0.clone());
    let eps = StepSize::Shared(0.05);
    let fwd = leapfrog(&target, x0.clone(), p0.clone(), g0.clone(), &eps, 20).unwrap();
    let back = leapfrog(
        &target,
        fwd.position,
        fwd.momentum.neg(),
        fwd.grad,
        &eps,
        20,
    )
    .unwrap();
    let dx = (back.position - x0.clone())
        .abs()
        .max()
        .into_scalar::<f32>();
    let dp = (back.momentum + p0.clone())
        .abs()
        .max()
        .into_scalar::<f32>();
    // f32 round-off over 40 steps on positions of size ~10: well below 1e-3.
    assert!(dx < 1e-3 && dp < 1e-3, "not reversible: dx {dx}, dp {dp}");

    let h0 = columns(hamiltonian(e0, p0.clone()).reshape([500, 1])).remove(0);
    let mut errors = Vec::new();
    for (eps, n) in [(0.1, 10), (0.05, 20), (0.025, 40)] {
        let end = leapfrog(
            &target,
            x0.clone(),
            p0.clone(),
            g0.clone(),
            &StepSize::Shared(eps),
            n,
        )
        .unwrap();
        let h1 = columns(hamiltonian(end.energy, end.momentum).reshape([500, 1])).remove(0);
        errors.push(mean(
            &h0.iter()
                .zip(&h1)
                .map(|(a, b)| (a - b).abs())
                .collect::<Vec<_>>(),
        ));
    }
    // Halving eps at fixed trajectory length divides the error by 4 (second order); allow
    // [3, 5.3] for the O(eps^4) terms.
    eprintln!("dx {dx} dp {dp} energy errors {errors:?}");
    for w in errors.windows(2) {
        let ratio = w[0] / w[1];
        assert!((3.0..5.3).contains(&ratio), "energy errors {errors:?}");
    }
}

/// An energy that is NaN where the first coordinate exceeds a threshold.
struct NanAbove {
    inner: DiagGaussian,
    threshold: f64,
}

impl Energy<2> for NanAbove {
    fn energy(&self, x: Tensor<2>) -> Tensor<1> {
        let [n, _] = x.dims();
        let bad = x
            .clone()
            .slice([0..n, 0..1])
            .reshape([n])
            .greater_elem(self.threshold);
        self.inner.energy(x).mask_fill(bad, f32::NAN)
    }
    fn energy_and_grad(&self, x: Tensor<2>) -> (Tensor<1>, Tensor<2>) {
        let [n, _] = x.dims();
        let bad = x
            .clone()
            .slice([0..n, 0..1])
            .reshape([n])
            .greater_elem(self.threshold);
        let (e, g) = self.inner.energy_and_grad(x);
        (e.mask_fill(bad, f32::NAN), g)
    }
}

/// NaN energies stop a run with a typed error naming the phase, step and number of chains; an
/// exact kernel rejects NaN proposals instead of accepting them.
#[test]
fn nan_energies_give_typed_errors_and_nan_proposals_are_rejected() {
    let device = device();
    let mut rng = SeededRng::new(9);
    let energy = NanAbove {
        inner: DiagGaussian::standard(2, &device).unwrap(),
        threshold: 1.0,
    };
    let config = RunConfig {
        warmup: 50,
        draws: 50,
        thin: 1,
        adapt: None,
        diagnostics: false,
    };
    // All chains start in the NaN region: the error names initialisation and all 8 chains.
    let init = Tensor::<2>::from_data(TensorData::new(vec![2.0f32; 16], [8, 2]), &device);
    let mut ula = Ula::new(StepSize::Shared(0.5)).unwrap();
    let err = run(&energy, &mut ula, init, &config, &mut rng, |_| {}).unwrap_err();
    assert_eq!(
        err,
        McmcError::NonFinite {
            phase: Phase::Init,
            step: 0,
            chains: 8,
            total: 8,
            first_chain: 0
        }
    );
    assert!(err.to_string().contains("8 of 8 chains"), "{err}");
    // ULA never rejects: from the origin its chains soon step past 1 and the run stops there.
    let init = Tensor::<2>::zeros([64, 2], &device);
    let err = run(&energy, &mut ula, init.clone(), &config, &mut rng, |_| {}).unwrap_err();
    match err {
        McmcError::NonFinite {
            phase: Phase::WarmUp,
            step,
            chains,
            total: 64,
            ..
        } => {
            assert!(step >= 1 && chains >= 1, "{err}");
        }
        other => panic!("expected a NaN error in warm-up, got {other:?}"),
    }
    // MALA and HMC reject every proposal into the NaN region: the run completes and no draw is
    // past the threshold.
    let mut mala = Mala::new(StepSize::Shared(0.5)).unwrap();
    let out = run(&energy, &mut mala, init.clone(), &config, &mut rng, |_| {}).unwrap();
    assert!(out.draws.chunks(2).all(|x| x[0] <= 1.0));
    let mut hmc = Hmc::new(StepSize::Shared(0.3), 3).unwrap();
    let out = run(&energy, &mut hmc, init, &config, &mut rng, |_| {}).unwrap();
    assert!(out.draws.chunks(2).all(|x| x[0] <= 1.0));
}

/// Clipped SGLD follows the tutorial's order of operations: with no noise, a huge step and a
/// clip of c, one step moves every coordinate by exactly step * c toward the mode, then clamps
/// to the domain.
#[test]
fn sgld_clips_the_gradient_and_clamps_to_the_domain() {
    let device = device();
    let mut rng = SeededRng::new(10);
    let target = DiagGaussian::new(&[0.0, 0.0], &[1.0, 1.0], &device).unwrap();
    let k = Sgld::new(StepSize::Shared(0.1), 0.0)
        .unwrap()
        .with_grad_clip(0.5)
        .unwrap()
        .with_domain(-1.0, 1.0)
        .unwrap();
    let x0 = Tensor::<2>::from_data(
        TensorData::new(vec![0.9f32, -3.0, 0.02, 0.0], [2, 2]),
        &device,
    );
    let state = k.init(&target, x0);
    let (state, info) = k.step(&target, state, &mut rng);
    let x = state.position.into_data().try_into_vec_as::<f32>().unwrap();
    // (0.9, -3) -> clamp (0.9, -1) -> grad (0.9, -1) clipped (0.5, -0.5) -> (0.85, -0.95)
    // (0.02, 0) -> grad (0.02, 0) unclipped -> (0.018, 0)
    let want = [0.85f32, -0.95, 0.018, 0.0];
    for (a, b) in x.iter().zip(want) {
        assert!((a - b).abs() < 1e-6, "{x:?} vs {want:?}");
    }
    let accepted = info.accepted.into_data().try_to_vec::<bool>().unwrap();
    assert!(accepted.iter().all(|&a| a));
    assert!(Sgld::new(StepSize::Shared(0.1), -1.0).is_err());
    assert!(
        Sgld::new(StepSize::Shared(0.1), 0.1)
            .unwrap()
            .with_domain(1.0, 0.0)
            .is_err()
    );
}

/// MALA costs exactly one energy_and_grad call per step, thanks to the cached state; HMC costs L;
/// RWM one forward call; SGLD one gradient call (plus a forward unless told otherwise).
#[test]
fn kernels_make_the_stated_number_of_energy_calls() {
    use std::cell::Cell;
    struct Counting {
        inner: DiagGaussian,
        calls: Cell<usize>,
        forward: Cell<usize>,
    }
    impl Energy<2> for Counting {
        fn energy(&self, x: Tensor<2>) -> Tensor<1> {
            self.forward.set(self.forward.get() + 1);
            self.inner.energy(x)
        }
        fn energy_and_grad(&self, x: Tensor<2>) -> (Tensor<1>, Tensor<2>) {
            self.calls.set(self.calls.get() + 1);
            self.inner.energy_and_grad(x)
        }
    }
    let device = device();
    let energy = Counting {
        inner: DiagGaussian::standard(3, &device).unwrap(),
        calls: Cell::new(0),
        forward: Cell::new(0),
    };
    let mut rng = SeededRng::new(11);
    let k = Mala::new(StepSize::Shared(0.2)).unwrap();
    let mut state = ChainState::new(&energy, rng.normal([10, 3], &device));
    assert_eq!(energy.calls.get(), 1);
    for _ in 0..7 {
        state = k.step(&energy, state, &mut rng).0;
    }
    assert_eq!(energy.calls.get(), 1 + 7);
    assert_eq!(energy.forward.get(), 0);
    // HMC: L calls per step.
    let h = Hmc::new(StepSize::Shared(0.1), 4).unwrap();
    let (state, _) = h.step(&energy, state, &mut rng);
    assert_eq!(energy.calls.get(), 8 + 4);
    // RWM: one forward call, no gradient.
    let r = Rwm::new(StepSize::Shared(0.1)).unwrap();
    let (state, _) = r.step(&energy, state, &mut rng);
    assert_eq!((energy.calls.get(), energy.forward.get()), (12, 1));
    // SGLD: one gradient call plus one forward, or the gradient call alone when the energy is
    // taken at the noised point.
    let sgld = Sgld::new(StepSize::Shared(0.1), 0.01).unwrap();
    let (state, _) = sgld.step(&energy, state, &mut rng);
    assert_eq!((energy.calls.get(), energy.forward.get()), (13, 2));
    let sgld = sgld.with_energy_at_noised_point();
    let _ = sgld.step(&energy, state, &mut rng);
    assert_eq!((energy.calls.get(), energy.forward.get()), (14, 2));
}

/// Constructors reject invalid parameters with typed errors.
#[test]
fn invalid_parameters_are_typed_errors() {
    assert!(Mala::new(StepSize::Shared(0.0)).is_err());
    assert!(Rwm::new(StepSize::Shared(f64::NAN)).is_err());
    assert!(Hmc::new(StepSize::Shared(0.1), 0).is_err());
    assert!(Ula::new(StepSize::PerChain(vec![0.1, -1.0])).is_err());
    let device = device();
    let target = DiagGaussian::standard(1, &device).unwrap();
    let mut rng = SeededRng::new(12);
    let mut k = Ula::new(StepSize::Shared(0.1)).unwrap();
    let zero_thin = RunConfig {
        thin: 0,
        ..RunConfig::default()
    };
    let err = run(
        &target,
        &mut k,
        Tensor::zeros([2, 1], &device),
        &zero_thin,
        &mut rng,
        |_| {},
    );
    assert!(matches!(err, Err(McmcError::InvalidParameter { .. })));
    // ULA has no acceptance target: adapting it without one is an error, not a panic.
    let err = run(
        &target,
        &mut k,
        Tensor::zeros([2, 1], &device),
        &RunConfig::default(),
        &mut rng,
        |_| {},
    );
    assert!(matches!(err, Err(McmcError::InvalidParameter { .. })));
}

/// A deterministic test kernel: every step adds 1 to every coordinate.
struct Shift {
    h: StepSize,
}

impl Kernel<2> for Shift {
    fn name(&self) -> &'static str {
        "shift"
    }
    fn step<E: Energy<2> + ?Sized>(
        &self,
        energy: &E,
        state: ChainState<2>,
        _rng: &mut SeededRng,
    ) -> (ChainState<2>, ebm_mcmc::StepInfo) {
        let n = state.num_chains();
        let device = state.position.device();
        let next = ChainState::without_grad(energy, state.position.add_scalar(1.0));
        (next, ebm_mcmc::StepInfo::all_accepted(n, &device))
    }
    fn step_size(&self) -> &StepSize {
        &self.h
    }
    fn set_step_size(&mut self, step_size: StepSize) -> Result<(), McmcError> {
        self.h = step_size;
        Ok(())
    }
}

/// The runner keeps every `thin`-th state after the warm-up, laid out `[chains, draws, dims]`,
/// and calls the progress callback once per step with the right phase and counters.
#[test]
fn runner_layout_thinning_and_progress() {
    let device = device();
    let target = DiagGaussian::standard(2, &device).unwrap();
    // Chain c starts at (10 c, 10 c + 1).
    let init: Vec<f32> = (0..3)
        .flat_map(|c| [10.0 * c as f32, 10.0 * c as f32 + 1.0])
        .collect();
    let init = Tensor::<2>::from_data(TensorData::new(init, [3, 2]), &device);
    let config = RunConfig {
        warmup: 4,
        draws: 5,
        thin: 3,
        adapt: None,
        diagnostics: true,
    };
    let mut seen = Vec::new();
    let mut k = Shift {
        h: StepSize::Shared(1.0),
    };
    let out = run(
        &target,
        &mut k,
        init,
        &config,
        &mut SeededRng::new(0),
        |p| seen.push((p.phase, p.step, p.steps)),
    )
    .unwrap();
    assert_eq!(out.shape, vec![3, 5, 2]);
    for c in 0..3 {
        for i in 0..5 {
            for j in 0..2 {
                // After the warm-up (4) and (i + 1) * thin sampling steps.
                let want = 10.0 * c as f32 + j as f32 + 4.0 + 3.0 * (i + 1) as f32;
                assert_eq!(
                    out.draws[(c * 5 + i) * 2 + j],
                    want,
                    "chain {c} draw {i} dim {j}"
                );
            }
        }
    }
    assert_eq!(seen.len(), 4 + 15);
    assert_eq!(seen[3], (Phase::WarmUp, 4, 4));
    assert_eq!(seen[4], (Phase::Sampling, 1, 15));
    assert_eq!(out.report.accept_rate, vec![1.0; 3]);
    // Deterministic, non-overlapping trends: R-hat flags them.
    assert!(out.report.max_rhat > 1.1, "{}", out.report.max_rhat);
}
