//! AIS with power: the estimate of `log Z` must be within 4.5 standard errors of the exact value,
//! and copies of the AIS loop with one temperature misweighted (its increment dropped, as an
//! off-by-one loop would, or doubled) must fail the same check. On a Gaussian (exact `log Z` in
//! closed form) with MALA transitions and on a tiny RBM (exact `log Z` by enumeration) with
//! annealed Gibbs transitions.
//!
//! Tolerance. The estimate is `log Z_0 + log mean(w)` over `M` independent chains; by the delta
//! method its standard error is `se = sd(w) / (sqrt(M) mean(w))` (the library's `se`) and it is
//! approximately normal for large `M`, with a Jensen bias of about `-se^2 / 2` (below 1e-3 se
//! here). `|z| = |log Z^ - log Z| / se < 4.5` fails by chance with probability 6.8e-6. The normal
//! approximation needs weights that are not dominated by a few chains: the check also requires an
//! importance-sampling ESS of at least `M / 2`.
//!
//! Not every change to AIS is an error: transitions that never move give plain importance
//! sampling from the base, whose weights are still unbiased (only noisier), so a frozen
//! transition is not a negative control here.

use ebm_core::burn::module::Module;
use ebm_core::burn::tensor::activation::softplus;
use ebm_core::burn::tensor::{Device, Tensor};
use ebm_core::rbm::log_z_exact;
use ebm_core::{BaseRateRbm, DiagGaussian, Energy, Rbm, RbmParams, SeededRng};
use ebm_mcmc::gibbs::annealed_sweep_from_input;
use ebm_mcmc::{
    AisBase, AisConfig, AisEstimate, ChainState, Direction, Kernel, KernelSpec, Mala, PathEnergy,
    StepSize, Temperatures, ais, ais_rbm,
};

/// The pass threshold on `|z|`.
const Z: f64 = 4.5;

/// How the copy weights temperature `j` (1-based, as the loop counts).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Weighting {
    Exact,
    Drop(usize),
    Double(usize),
}

impl Weighting {
    fn factor(self, step: usize) -> f64 {
        match self {
            Weighting::Drop(j) if j == step => 0.0,
            Weighting::Double(j) if j == step => 2.0,
            _ => 1.0,
        }
    }
}

/// The check: `z` of the estimate and whether it passes.
fn log_z_check(label: &str, est: &AisEstimate, truth: f64) -> (f64, bool) {
    let z = (est.log_z - truth) / est.se;
    println!(
        "{label}: log Z {:.4} ± {:.4} (truth {truth:.4}, z {z:+.2}), ESS {:.0}/{}",
        est.log_z, est.se, est.ess, est.chains
    );
    (z, z.abs() < Z && est.ess >= est.chains as f64 / 2.0)
}

fn host(t: Tensor<1>) -> Vec<f64> {
    t.into_data()
        .try_to_vec::<f32>()
        .unwrap()
        .into_iter()
        .map(f64::from)
        .collect()
}

// ---- Gaussian target, MALA transitions ----

const GAUSS_BASE: AisBase = AisBase::Gaussian { mean: 0.0, sd: 1.0 };
const GAUSS_CHAINS: usize = 4000;
const GAUSS_K: usize = 40;
const GAUSS_STEPS: usize = 2;
const GAUSS_EPS: f64 = 0.5;

/// A target far from the base: `log Z - log Z_0 = 2 log 3 = 2.2` nats.
fn gauss_target(device: &Device) -> DiagGaussian {
    DiagGaussian::new(&[0.5, -0.5, 1.0, 0.0], &[3.0; 4], device).unwrap()
}

fn gauss_config() -> AisConfig {
    AisConfig {
        chains: GAUSS_CHAINS,
        temperatures: Temperatures::linear(GAUSS_K).unwrap(),
        transition: KernelSpec::Mala { eps: GAUSS_EPS },
        steps_per_temperature: GAUSS_STEPS,
        adapt: None,
    }
}

/// The library's AIS loop (forward, MALA, fixed step size), copied with a weighting switch.
fn gauss_ais_copy<E: Energy<2>>(
    target: &E,
    weighting: Weighting,
    rng: &mut SeededRng,
) -> AisEstimate {
    let device = Device::flex();
    let temps = Temperatures::linear(GAUSS_K).unwrap();
    let betas = temps.betas();
    let d = 4;
    let mut x = GAUSS_BASE.sample([GAUSS_CHAINS, d], rng, &device);
    let mut lw = Tensor::<1>::zeros([GAUSS_CHAINS], &device);
    let kernel = Mala::new(StepSize::Shared(GAUSS_EPS)).unwrap();
    for step in 1..=GAUSS_K {
        let (e1, _) = target.energy_and_grad(x.clone());
        let (e0, _) = GAUSS_BASE.energy_and_grad(x.clone());
        let delta = (betas[step] - betas[step - 1]) * weighting.factor(step);
        lw = lw - (e1 - e0) * delta;
        if step == GAUSS_K {
            break;
        }
        let path = PathEnergy {
            base: GAUSS_BASE,
            target,
            beta: betas[step],
        };
        let mut state = ChainState::new(&path, x);
        for _ in 0..GAUSS_STEPS {
            state = kernel.step(&path, state, rng).0;
        }
        x = state.position;
    }
    AisEstimate::from_log_weights(host(lw), GAUSS_BASE.log_z(d), Direction::Forward, GAUSS_K)
        .unwrap()
}

#[test]
fn gaussian_ais_passes_and_misweighted_copies_are_rejected() {
    let device = Device::flex();
    let target = gauss_target(&device);
    let truth = target.log_z().unwrap();
    let lib = ais(
        &target,
        GAUSS_BASE,
        [GAUSS_CHAINS, 4],
        &gauss_config(),
        &mut SeededRng::new(1),
        &device,
    )
    .unwrap();
    let (_, ok) = log_z_check("gauss ais (library)", &lib, truth);
    assert!(ok, "library AIS fails the check");
    // The copy without its bug is the library's AIS, weight for weight.
    let copy = gauss_ais_copy(&target, Weighting::Exact, &mut SeededRng::new(1));
    let diff = lib
        .log_weights
        .iter()
        .zip(&copy.log_weights)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    assert!(diff < 1e-5, "the copy differs from the library by {diff}");
    for (i, w) in [Weighting::Drop(GAUSS_K), Weighting::Double(3 * GAUSS_K / 4)]
        .into_iter()
        .enumerate()
    {
        let est = gauss_ais_copy(&target, w, &mut SeededRng::new(2 + i as u64));
        let (z, ok) = log_z_check(&format!("gauss ais {w:?}"), &est, truth);
        assert!(!ok, "{w:?} went unnoticed: z {z}");
    }
}

// ---- Tiny RBM, annealed Gibbs transitions ----

const RBM_CHAINS: usize = 4000;
const RBM_K: usize = 50;

/// 10 visible and 5 hidden units with weights of scale 1: `log Z` several nats from the uniform
/// base's.
fn tiny_rbm(device: &Device) -> Rbm {
    let (nv, nh) = (10, 5);
    let mut rng = SeededRng::new(31);
    let mut draw = |n: usize, s: f64| (0..n).map(|_| s * rng.normal_f64()).collect::<Vec<_>>();
    let p = RbmParams {
        n_visible: nv,
        n_hidden: nh,
        weights: draw(nv * nh, 1.0),
        visible_bias: draw(nv, 0.5),
        hidden_bias: draw(nh, 0.5),
    };
    Rbm::from_params(&p, device).unwrap()
}

/// The library's RBM AIS loop (forward), copied with a weighting switch.
fn rbm_ais_copy(
    rbm: &Rbm,
    base: &BaseRateRbm,
    weighting: Weighting,
    rng: &mut SeededRng,
) -> AisEstimate {
    let rbm = rbm.valid();
    let temps = Temperatures::linear(RBM_K).unwrap();
    let betas = temps.betas();
    let bias_a = base.bias_tensor();
    let bias_b = rbm.visible_bias.val();
    let mut v = base.sample(RBM_CHAINS, rng);
    let mut lw = Tensor::<1>::zeros([RBM_CHAINS], &v.device());
    for step in 1..=RBM_K {
        let a = rbm.hidden_input(v.clone());
        let vb = (v * (bias_b.clone() - bias_a.clone()).unsqueeze::<2>())
            .sum_dim(1)
            .reshape([RBM_CHAINS]);
        let (hi, lo) = (betas[step], betas[step - 1]);
        let sp = (softplus(a.clone().mul_scalar(hi), 1.0)
            - softplus(a.clone().mul_scalar(lo), 1.0))
        .sum_dim(1)
        .reshape([RBM_CHAINS]);
        lw = lw + (vb * (hi - lo) + sp) * weighting.factor(step);
        if step == RBM_K {
            break;
        }
        v = annealed_sweep_from_input(&rbm, &bias_a, betas[step], a, rng);
    }
    let base_log_z = base.log_z() + rbm.n_hidden() as f64 * std::f64::consts::LN_2;
    AisEstimate::from_log_weights(host(lw), base_log_z, Direction::Forward, RBM_K).unwrap()
}

#[test]
fn rbm_ais_passes_and_misweighted_copies_are_rejected() {
    let device = Device::flex();
    let rbm = tiny_rbm(&device);
    let truth = log_z_exact(&rbm).unwrap();
    let base = BaseRateRbm::from_bias(vec![0.0; 10], &device);
    let temps = Temperatures::linear(RBM_K).unwrap();
    let lib = ais_rbm(
        &rbm,
        &base,
        RBM_CHAINS,
        &temps,
        &mut SeededRng::new(1),
        |_| {},
    )
    .unwrap();
    let (_, ok) = log_z_check("rbm ais (library)", &lib, truth);
    assert!(ok, "library RBM AIS fails the check");
    let copy = rbm_ais_copy(&rbm, &base, Weighting::Exact, &mut SeededRng::new(1));
    let diff = lib
        .log_weights
        .iter()
        .zip(&copy.log_weights)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    assert!(diff < 1e-5, "the copy differs from the library by {diff}");
    for (i, w) in [Weighting::Drop(RBM_K), Weighting::Double(RBM_K / 2)]
        .into_iter()
        .enumerate()
    {
        let est = rbm_ais_copy(&rbm, &base, w, &mut SeededRng::new(2 + i as u64));
        let (z, ok) = log_z_check(&format!("rbm ais {w:?}"), &est, truth);
        assert!(!ok, "{w:?} went unnoticed: z {z}");
    }
}
