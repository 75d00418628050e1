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
mod power_check;
mod wrong_kernels;

use burn::tensor::Device;
use common::{Frozen, TensorOnly};
use ebm_core::{DiagGaussian, SeededRng};
use ebm_mcmc::{ChainState, Hmc, Kernel, Mala, Rwm, StepSize, Ula};
use power_check::{Law, MU, Plan, VAR, assert_power, moment_check};
use wrong_kernels::{HmcCopy, MalaCopy};

/// The copies without their bug take the library's step exactly (same draws, same positions),
/// so each negative control differs from the library kernel by its one bug only. The library
/// kernel takes its tensor path here (the copies are tensor code); its host path makes the same
/// moves up to float rounding (`ebm_mcmc`'s `mala_host` tests).
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
        &TensorOnly(&target),
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
