//! Tests with power for the Gaussian-target kernels (RWM, MALA, HMC, ULA): one moment check per
//! sampler, and deliberately wrong samplers that the same check rejects.
//!
//! The target is a diagonal Gaussian in 4 dimensions with means `MU` and variances `VAR` (0.5 to
//! 2), so every moment is known. `N` independent chains start at a deliberately wrong
//! distribution, `y_0 = (x_0 - mu) / s ~ N(2, 0.5^2)` per coordinate (2 sd off, a quarter of the
//! variance), take `B` burn-in steps and `T` more. For each coordinate the check averages the
//! standardised `y_t` and `y_t^2` over each chain's `T` draws.
//!
//! Tolerance. The chains are independent, so the `N` per-chain averages are iid and the
//! Monte-Carlo standard error of their mean is exactly their sample sd over `sqrt(N)` (batch means
//! with one batch per chain: no model of the autocorrelation is needed). With `N` = 2,000 the mean
//! is normal to a good approximation, and a statistic passes when `|z| = |mean - expected| / se`
//! is below 4.5: a false alarm with probability 6.8e-6 per statistic, 5.4e-5 per run of the check
//! (8 statistics: 2 per coordinate), about 4e-4 over the 7 passing runs in this file (all seeded,
//! so a pass is reproducible).
//!
//! What is expected:
//! - an exact kernel (RWM, MALA, HMC) must reach the target: `E[y] = 0`, `E[y^2] = 1`. The start's
//!   bias decays with the burn-in; on a Gaussian `y` is (close to) an eigenfunction of these
//!   kernels, so it decays like `|rho_1|^B` with `rho_1` the lag-1 autocorrelation of `y`, which the
//!   check measures. It requires `3.25 |rho_1|^B` (3.25 = the start's error in `E[y^2]`, the larger
//!   of the two) below a tenth of the standard error, so that the burn-in bias cannot move `z`
//!   by more than 0.1; a kernel that does not mix (`rho_1` near 1) fails this too.
//! - ULA at step `eps` is the AR(1) `y' = a y + sqrt(2 eps) / s z`, `a = 1 - eps / s^2`, so its law
//!   at step `t` is exactly `N(2 a^t, r + a^(2t) (0.25 - r))` with `r = 1 / (1 - eps / (2 s^2))`:
//!   the expected averages follow in closed form, transient included, and no burn-in bound is
//!   needed.
//!
//! The negative controls (written here, not in the library): a kernel that never moves; MALA
//! without the proposal-density ratio; HMC with the sign of the first leapfrog half-step flipped;
//! ULA at `eps = 0.1` as "MALA without its accept step" (a variance bias of 2.5-11%); ULA run at
//! 1.25 times the step size its law is predicted for.

mod common;
mod wrong_kernels;

use burn::tensor::{Device, Tensor, TensorData};
use common::Frozen;
use ebm_core::{DiagGaussian, SeededRng};
use ebm_mcmc::{ChainState, Hmc, Kernel, Mala, Rwm, StepSize, Ula};
use wrong_kernels::{HmcCopy, MalaCopy};

const MU: [f64; 4] = [1.0, -1.0, 0.5, 0.0];
const VAR: [f64; 4] = [0.5, 1.0, 1.5, 2.0];
/// The pass threshold on `|z|` (two-sided false-alarm rate 6.8e-6 per statistic).
const Z: f64 = 4.5;

/// What the check expects the chains' law to be.
#[derive(Debug, Clone, Copy)]
enum Law {
    /// The target, once the start is forgotten.
    Target,
    /// ULA's exact AR(1) law at this step size, from the start on.
    Ula(f64),
}

/// Chains, burn-in steps, draws per chain.
#[derive(Debug, Clone, Copy)]
struct Plan {
    chains: usize,
    burn_in: usize,
    draws: usize,
}

/// One checked average.
#[derive(Debug)]
struct Stat {
    what: String,
    estimate: f64,
    expected: f64,
    se: f64,
}

impl Stat {
    fn z(&self) -> f64 {
        (self.estimate - self.expected) / self.se
    }
}

/// What the check saw.
#[derive(Debug)]
struct Verdict {
    stats: Vec<Stat>,
    /// The lag-1 autocorrelation of `y`, per coordinate.
    rho1: Vec<f64>,
    /// For the target law: the bound `3.25 |rho_1|^B / se` on the burn-in bias in standard errors,
    /// worst over the coordinates.
    burn_in_bias_in_se: Option<f64>,
}

impl Verdict {
    fn worst_z(&self) -> f64 {
        self.stats.iter().map(|s| s.z().abs()).fold(0.0, |a, b| {
            if b.is_nan() { f64::INFINITY } else { a.max(b) }
        })
    }

    fn passes(&self) -> bool {
        self.worst_z() < Z && self.burn_in_bias_in_se.is_none_or(|b| b < 0.1)
    }

    fn print(&self, label: &str) {
        for s in &self.stats {
            eprintln!(
                "{label} {}: {:.5} vs {:.5}, se {:.5}, z {:+.2}",
                s.what,
                s.estimate,
                s.expected,
                s.se,
                s.z()
            );
        }
        eprintln!(
            "{label}: worst |z| {:.2}, rho1 {:?}, burn-in bias bound {:?} se",
            self.worst_z(),
            self.rho1,
            self.burn_in_bias_in_se
        );
    }
}

/// The expected per-chain averages of `y` and `y^2` for coordinate `j` over steps
/// `B + 1 ..= B + T`.
fn expected(law: Law, j: usize, plan: &Plan) -> (f64, f64) {
    match law {
        Law::Target => (0.0, 1.0),
        Law::Ula(eps) => {
            let s2 = VAR[j];
            let a = 1.0 - eps / s2;
            let r = 1.0 / (1.0 - eps / (2.0 * s2));
            let steps = plan.burn_in + 1..=plan.burn_in + plan.draws;
            let t = plan.draws as f64;
            let m1 = steps.clone().map(|k| 2.0 * a.powi(k as i32)).sum::<f64>() / t;
            let m2 = steps
                .map(|k| r + a.powi(2 * k as i32) * (0.25 - r + 4.0))
                .sum::<f64>()
                / t;
            (m1, m2)
        }
    }
}

fn host(t: Tensor<2>) -> Vec<f64> {
    t.into_data()
        .try_to_vec::<f32>()
        .unwrap()
        .into_iter()
        .map(f64::from)
        .collect()
}

/// Mean and standard error of iid values.
fn mean_se(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0);
    (m, (var / n).sqrt())
}

/// Runs `kernel` as the module docs describe and checks the averages against `law`.
fn moment_check<K: Kernel<2>>(kernel: &K, law: Law, plan: Plan, seed: u64) -> Verdict {
    let device = Device::flex();
    let target = DiagGaussian::new(&MU, &VAR, &device).unwrap();
    let (n, d) = (plan.chains, MU.len());
    let row = |v: Vec<f32>| Tensor::<2>::from_data(TensorData::new(v, [1, d]), &device);
    let mu = row(MU.iter().map(|&m| m as f32).collect());
    let sd = row(VAR.iter().map(|&v| v.sqrt() as f32).collect());
    let standard = |x: Tensor<2>| (x - mu.clone()) / sd.clone();
    let mut rng = SeededRng::new(seed);
    let y0 = rng.normal([n, d], &device).mul_scalar(0.5).add_scalar(2.0);
    let mut state = kernel.init(&target, y0 * sd.clone() + mu.clone());
    for _ in 0..plan.burn_in {
        state = kernel.step(&target, state, &mut rng).0;
    }
    let mut prev = standard(state.position.clone());
    let zeros = Tensor::<2>::zeros([n, d], &device);
    let (mut s1, mut s2, mut s11) = (zeros.clone(), zeros.clone(), zeros);
    for _ in 0..plan.draws {
        state = kernel.step(&target, state, &mut rng).0;
        let y = standard(state.position.clone());
        s1 = s1 + y.clone();
        s2 = s2 + y.clone().powi_scalar(2);
        s11 = s11 + y.clone() * prev;
        prev = y;
    }
    let (s1, s2, s11) = (host(s1), host(s2), host(s11));
    let t = plan.draws as f64;
    let mut stats = Vec::new();
    let mut rho1 = Vec::new();
    let mut worst_bias: f64 = 0.0;
    for j in 0..d {
        let col = |s: &[f64]| (0..n).map(|c| s[c * d + j] / t).collect::<Vec<_>>();
        let (m1, se1) = mean_se(&col(&s1));
        let (m2, se2) = mean_se(&col(&s2));
        let (lag1, _) = mean_se(&col(&s11));
        let rho = (lag1 - m1 * m1) / (m2 - m1 * m1);
        let (e1, e2) = expected(law, j, &plan);
        stats.push(Stat {
            what: format!("E[y{j}]"),
            estimate: m1,
            expected: e1,
            se: se1,
        });
        stats.push(Stat {
            what: format!("E[y{j}^2]"),
            estimate: m2,
            expected: e2,
            se: se2,
        });
        rho1.push(rho);
        let bound = 3.25 * rho.abs().min(1.0).powi(plan.burn_in as i32) / se1.min(se2);
        worst_bias = worst_bias.max(if bound.is_nan() { f64::INFINITY } else { bound });
    }
    Verdict {
        stats,
        rho1,
        burn_in_bias_in_se: matches!(law, Law::Target).then_some(worst_bias),
    }
}

/// Asserts that the check passes `kernel` and rejects every wrong one.
fn assert_power<K: Kernel<2>>(
    label: &str,
    kernel: &K,
    law: Law,
    plan: Plan,
    wrong: &[(&str, &dyn Fn(u64) -> Verdict)],
) {
    let v = moment_check(kernel, law, plan, 1);
    v.print(label);
    assert!(v.passes(), "{label}: the correct kernel fails: {v:?}");
    for (i, (what, run)) in wrong.iter().enumerate() {
        let v = run(2 + i as u64);
        v.print(what);
        assert!(!v.passes(), "{what} went unnoticed: {v:?}");
    }
}

/// The copies without their bug take the library's step exactly (same draws, same positions),
/// so each negative control differs from the library kernel by its one bug only.
#[test]
fn the_copies_without_their_bug_equal_the_library_kernels() {
    let device = Device::flex();
    let target = DiagGaussian::new(&MU, &VAR, &device).unwrap();
    let x0 = target.sample(64, &mut SeededRng::new(3));
    let max_diff = |a: ChainState<2>, b: ChainState<2>| {
        (a.position - b.position).abs().max().into_scalar::<f32>()
    };
    let eps = StepSize::Shared(0.4);
    let lib = Mala::new(eps.clone()).unwrap();
    let copy = MalaCopy {
        eps: eps.clone(),
        q_ratio: true,
    };
    let a = lib.step(
        &target,
        lib.init(&target, x0.clone()),
        &mut SeededRng::new(4),
    );
    let b = copy.step(
        &target,
        copy.init(&target, x0.clone()),
        &mut SeededRng::new(4),
    );
    assert_eq!(
        max_diff(a.0, b.0),
        0.0,
        "MALA copy differs from the library"
    );
    let lib = Hmc::new(eps.clone(), 5).unwrap();
    let copy = HmcCopy {
        eps,
        n_leapfrog: 5,
        sign: 1.0,
    };
    let a = lib.step(
        &target,
        lib.init(&target, x0.clone()),
        &mut SeededRng::new(5),
    );
    let b = copy.step(&target, copy.init(&target, x0), &mut SeededRng::new(5));
    assert_eq!(max_diff(a.0, b.0), 0.0, "HMC copy differs from the library");
}

const EXACT_PLAN: Plan = Plan {
    chains: 2000,
    burn_in: 300,
    draws: 300,
};

#[test]
fn rwm_reaches_the_target_and_a_frozen_rwm_is_rejected() {
    let k = Rwm::new(StepSize::Shared(1.0)).unwrap();
    let frozen = |seed: u64| moment_check(&Frozen(k.clone()), Law::Target, EXACT_PLAN, seed);
    assert_power(
        "rwm",
        &k,
        Law::Target,
        EXACT_PLAN,
        &[("frozen rwm", &frozen)],
    );
}

#[test]
fn mala_reaches_the_target_and_missing_corrections_are_rejected() {
    let eps = StepSize::Shared(0.3);
    let k = Mala::new(eps.clone()).unwrap();
    let no_q = |seed: u64| {
        let k = MalaCopy {
            eps: eps.clone(),
            q_ratio: false,
        };
        moment_check(&k, Law::Target, EXACT_PLAN, seed)
    };
    let no_accept = |seed: u64| {
        let k = Ula::new(StepSize::Shared(0.1)).unwrap();
        moment_check(&k, Law::Target, EXACT_PLAN, seed)
    };
    let frozen = |seed: u64| moment_check(&Frozen(k.clone()), Law::Target, EXACT_PLAN, seed);
    assert_power(
        "mala",
        &k,
        Law::Target,
        EXACT_PLAN,
        &[
            ("mala without the q ratio", &no_q),
            ("mala without the accept step (ula eps 0.1)", &no_accept),
            ("frozen mala", &frozen),
        ],
    );
}

#[test]
fn hmc_reaches_the_target_and_a_leapfrog_sign_error_is_rejected() {
    let eps = StepSize::Shared(0.3);
    let k = Hmc::new(eps.clone(), 5).unwrap();
    let sign_error = |seed: u64| {
        let k = HmcCopy {
            eps: eps.clone(),
            n_leapfrog: 5,
            sign: -1.0,
        };
        moment_check(&k, Law::Target, EXACT_PLAN, seed)
    };
    let frozen = |seed: u64| moment_check(&Frozen(k.clone()), Law::Target, EXACT_PLAN, seed);
    assert_power(
        "hmc",
        &k,
        Law::Target,
        EXACT_PLAN,
        &[
            ("hmc with a flipped half-step", &sign_error),
            ("frozen hmc", &frozen),
        ],
    );
}

/// ULA's O(eps) bias matched exactly: at eps = 0.2 the stationary variance is
/// `s^2 / (1 - eps / (2 s^2))`, 25% above the target's for `s^2 = 0.5` and 5.3% for `s^2 = 2`,
/// and the check follows the AR(1) law from the wrong start on. Running at `1.25 eps` (stationary
/// variance up by 8% and 1.3% instead) and never moving are both rejected.
#[test]
fn ula_matches_its_exact_biased_law_and_a_wrong_step_size_is_rejected() {
    let plan = Plan {
        chains: 2000,
        burn_in: 0,
        draws: 300,
    };
    let eps = 0.2;
    let k = Ula::new(StepSize::Shared(eps)).unwrap();
    let wrong_eps = |seed: u64| {
        let k = Ula::new(StepSize::Shared(1.25 * eps)).unwrap();
        moment_check(&k, Law::Ula(eps), plan, seed)
    };
    let frozen = |seed: u64| moment_check(&Frozen(k.clone()), Law::Ula(eps), plan, seed);
    assert_power(
        "ula",
        &k,
        Law::Ula(eps),
        plan,
        &[("ula at 1.25 eps", &wrong_eps), ("frozen ula", &frozen)],
    );
}
