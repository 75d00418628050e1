//! NUTS, the mass matrix and windowed warm-up, checked with the power test of `power.rs`
//! ([`power_check`]: 4-d diagonal Gaussian, chains started 2 sd off, every `E[y]` and `E[y^2]`
//! within 4.5 Monte-Carlo standard errors, the standard error from the spread of the per-chain
//! averages of independent chains, and a burn-in bias bound from the lag-1 autocorrelation;
//! the derivation is in that module's docs), each with negative controls that the same check
//! rejects:
//!
//! * NUTS with a U-turn check measured from the starting point instead of between the ends,
//!   and NUTS whose multinomial choice inside subtrees is biased towards the far half;
//! * a "leaky" adaptation that sets each chain's inverse mass from its current draw at every step
//!   (the proposal then depends on the state without a matching correction).
//!
//! The target has a host path, so NUTS on the CPU runs chain by chain there
//! (`ebm_mcmc::nuts`'s docs); the library kernel is checked on that path and, through
//! [`common::TensorPath`], on the batched tensor path, which the wrong copies also take.

mod common;
mod power_check;
mod wrong_nuts;

use burn::tensor::{Device, Tensor};
use common::{TensorOnly, TensorPath};
use ebm_core::{DiagGaussian, Energy, Funnel, SeededRng};
use ebm_mcmc::{
    AdaptConfig, ChainState, Hmc, InverseMass, Kernel, Mala, MassAdapt, McmcError, Nuts, RunConfig,
    StepInfo, StepSize, run,
};
use power_check::{Law, MU, Plan, VAR, assert_power, moment_check};
use wrong_nuts::{Fault, NutsCopy};

/// NUTS mixes fast on the Gaussian: 100 burn-in steps leave a bias bound far below 0.1 se.
const NUTS_PLAN: Plan = Plan {
    chains: 2000,
    burn_in: 100,
    draws: 150,
};

#[test]
fn the_nuts_copy_without_its_bug_equals_the_library_kernel() {
    let device = Device::flex();
    let target = DiagGaussian::new(&MU, &VAR, &device).unwrap();
    let x0 = target.sample(64, &mut SeededRng::new(3));
    let lib = Nuts::new(StepSize::Shared(0.4), 6).unwrap();
    let copy = NutsCopy {
        eps: StepSize::Shared(0.4),
        max_depth: 6,
        fault: Fault::None,
    };
    let mut a = lib.init(&target, x0.clone());
    let mut b = copy.init(&target, x0);
    let (mut ra, mut rb) = (SeededRng::new(4), SeededRng::new(4));
    for _ in 0..3 {
        a = lib.step(&TensorOnly(&target), a, &mut ra).0;
        b = copy.step(&target, b, &mut rb).0;
    }
    let diff = (a.position - b.position).abs().max().into_scalar::<f32>();
    assert_eq!(diff, 0.0, "the NUTS copy differs from the library");
}

#[test]
fn nuts_reaches_the_target_and_a_wrong_u_turn_or_a_biased_choice_is_rejected() {
    let eps = StepSize::Shared(0.5);
    let k = Nuts::new(eps.clone(), 8).unwrap();
    let wrong = |fault: Fault| {
        let eps = eps.clone();
        move |seed: u64| {
            let k = NutsCopy {
                eps: eps.clone(),
                max_depth: 8,
                fault,
            };
            moment_check(&k, Law::Target, NUTS_PLAN, seed)
        }
    };
    let u_turn = wrong(Fault::UTurnFromStart);
    let biased = wrong(Fault::BiasedChoice);
    let frozen = |seed: u64| moment_check(&common::Frozen(k.clone()), Law::Target, NUTS_PLAN, seed);
    assert_power(
        "nuts",
        &k,
        Law::Target,
        NUTS_PLAN,
        &[
            ("nuts with the u-turn measured from the start", &u_turn),
            ("nuts with a biased choice in subtrees", &biased),
            ("frozen nuts", &frozen),
        ],
    );
    assert_power(
        "nuts, tensor path",
        &TensorPath(k.clone()),
        Law::Target,
        NUTS_PLAN,
        &[],
    );
}

/// On the CPU with an energy that has a host path, NUTS runs chain by chain: the same seed gives
/// the same draws on one thread and on all of them, each chain counts its own leapfrog steps
/// (on the funnel, chains in the neck build deeper trees than those in the mouth), and the
/// energy and gradient cached in the new state are the energy's at the new positions.
#[test]
fn the_host_path_is_deterministic_per_chain_and_consistent() {
    let device = Device::flex();
    let funnel = Funnel::new(5, &device).unwrap();
    let x0 = funnel.sample(32, &mut SeededRng::new(8));
    let k = Nuts::new(StepSize::Shared(0.3), 8).unwrap();
    let steps = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let mut rng = SeededRng::new(9);
            let mut s = k.init(&funnel, x0.clone());
            let mut info = None;
            for _ in 0..5 {
                let (next, _, t) = k.step_traced(&funnel, s, &mut rng);
                (s, info) = (next, t);
            }
            (s, info.unwrap())
        })
    };
    let (one, t1) = steps(1);
    let (all, _) = steps(4);
    let read = |t: Tensor<2>| -> Vec<f32> { t.to_data().try_to_vec::<f32>().unwrap() };
    assert_eq!(read(one.position.clone()), read(all.position));
    let n: Vec<f32> = t1.num_steps.unwrap().to_data().try_to_vec::<f32>().unwrap();
    let (lo, hi) = n
        .iter()
        .fold((f32::MAX, 0f32), |(a, b), v| (a.min(*v), b.max(*v)));
    assert!(hi >= 4.0 * lo, "per-chain tree sizes {n:?}");
    let (e, g) = funnel.energy_and_grad(one.position.clone());
    let de = (e - one.energy).abs().max().into_scalar::<f32>();
    let dg = (g - one.grad.unwrap()).abs().max().into_scalar::<f32>();
    assert!(de < 1e-3 && dg < 1e-3, "cached energy {de}, gradient {dg}");
}

/// `M^{-1}` equal to the target's covariance (diagonal), and a dense `M^{-1}` with correlations
/// the target does not have: both leave the target invariant.
#[test]
fn nuts_hmc_and_mala_with_a_mass_matrix_reach_the_target() {
    let diag = InverseMass::diagonal(VAR.to_vec()).unwrap();
    let mut dense = vec![0.0; 16];
    for i in 0..4 {
        for j in 0..4 {
            dense[i * 4 + j] = if i == j { VAR[i] } else { 0.3 };
        }
    }
    let dense = InverseMass::dense(4, dense).unwrap();
    let nuts = Nuts::new(StepSize::Shared(0.8), 8)
        .unwrap()
        .with_inverse_mass(diag);
    assert_power("nuts diag", &nuts, Law::Target, NUTS_PLAN, &[]);
    let hmc = Hmc::new(StepSize::Shared(0.4), 4)
        .unwrap()
        .with_jitter(0.5)
        .unwrap()
        .with_inverse_mass(dense.clone());
    assert_power("hmc dense jittered", &hmc, Law::Target, NUTS_PLAN, &[]);
    let plan = Plan {
        chains: 2000,
        burn_in: 300,
        draws: 300,
    };
    let mala = Mala::new(StepSize::Shared(0.3))
        .unwrap()
        .with_inverse_mass(dense);
    let leaky = |seed: u64| {
        let k = LeakyMass(Mala::new(StepSize::Shared(0.3)).unwrap());
        moment_check(&k, Law::Target, plan, seed)
    };
    assert_power(
        "mala dense",
        &mala,
        Law::Target,
        plan,
        &[("mala with the current draw leaked into its mass", &leaky)],
    );
}

/// An adaptation that never stops and leaks the current draw: before every step each chain's
/// diagonal inverse mass is set from its own position, `M^{-1}_i = 0.2 + (x_i - mu_i)^2`.
struct LeakyMass<K>(K);

impl<K: Kernel<2> + Clone> Kernel<2> for LeakyMass<K> {
    fn name(&self) -> &'static str {
        "leaky mass"
    }

    fn step<E: Energy<2> + ?Sized>(
        &self,
        energy: &E,
        state: ChainState<2>,
        rng: &mut SeededRng,
    ) -> (ChainState<2>, StepInfo) {
        let [n, d] = state.position.dims();
        let x: Vec<f32> = state.position.to_data().try_to_vec().unwrap();
        let values = x
            .iter()
            .enumerate()
            .map(|(k, v)| 0.2 + (*v as f64 - MU[k % d]).powi(2))
            .collect();
        let mut inner = self.0.clone();
        let mass = InverseMass::per_chain_diagonal(n, values).unwrap();
        inner.set_inverse_mass(mass).unwrap();
        inner.step(energy, state, rng)
    }

    fn step_size(&self) -> &StepSize {
        self.0.step_size()
    }

    fn set_step_size(&mut self, step_size: StepSize) -> Result<(), McmcError> {
        self.0.set_step_size(step_size)
    }
}

/// Windowed warm-up through the runner: on a Gaussian with variances 0.5..2 (diagonal) and on a
/// correlated one (dense), the estimated inverse mass is the covariance within the estimate's
/// error (pooled over 200 chains x the last window of 100 draws: relative sd of a variance about
/// `sqrt(2 tau / n)`, below 5% here; 20% is asserted), the step size settles, and the adapted
/// kernel then passes the power check.
#[test]
fn windowed_warm_up_estimates_the_covariance_and_the_adapted_nuts_is_exact() {
    let device = Device::flex();
    let target = DiagGaussian::new(&MU, &VAR, &device).unwrap();
    for mass in [MassAdapt::Diag, MassAdapt::Dense] {
        let mut nuts = Nuts::new(StepSize::Shared(0.1), 8).unwrap();
        let config = RunConfig {
            warmup: 300,
            draws: 10,
            thin: 1,
            adapt: Some(AdaptConfig::shared(mass)),
            diagnostics: false,
        };
        let init = Tensor::<2>::zeros([200, 4], &device);
        let out = run(
            &target,
            &mut nuts,
            init,
            &config,
            &mut SeededRng::new(5),
            |_| {},
        )
        .unwrap();
        let got: Vec<f64> = match Kernel::<2>::inverse_mass(&nuts).unwrap() {
            InverseMass::Diagonal { values, .. } => values.clone(),
            InverseMass::Dense { inverse, .. } => (0..4).map(|i| inverse[i * 5]).collect(),
            InverseMass::Identity => panic!("{mass:?}: no mass adapted"),
        };
        for (g, v) in got.iter().zip(VAR) {
            assert!((g / v - 1.0).abs() < 0.2, "{mass:?}: {got:?} vs {VAR:?}");
        }
        assert_eq!(out.report.total_divergences(), Some(0));
        let steps = out.report.leapfrog_steps.clone().unwrap();
        assert!(steps.iter().all(|s| *s >= 10.0), "{steps:?}");
        assert_power(
            &format!("adapted nuts {mass:?}"),
            &nuts,
            Law::Target,
            NUTS_PLAN,
            &[],
        );
    }
}
