//! Annealed importance sampling (Neal 2001): `log Z` of any energy, with its standard error.
//!
//! Between a base `p_0 = exp(-E_0) / Z_0` with known `Z_0` (an isotropic Gaussian, or the uniform
//! distribution on a box) and the target `exp(-E_1) / Z_1`, the geometric path at inverse
//! temperatures `0 = beta_0 < beta_1 < ... < beta_K = 1` is
//!
//! ```text
//! f_k(x) = -(1 - beta_k) E_0(x) - beta_k E_1(x)          (log of the unnormalised density)
//! ```
//!
//! Each chain starts at an exact draw `x_1 ~ p_0`, and for `k = 1..K` adds
//! `f_k(x_k) - f_{k-1}(x_k) = -(beta_k - beta_{k-1}) (E_1(x_k) - E_0(x_k))` to its log weight, then
//! moves `x_{k+1} ~ T_k(x_k, .)` with an MCMC kernel (MALA or HMC here) that leaves `p_k` invariant.
//! The weight `w = exp(sum)` is unbiased for `Z_1 / Z_0`, so with `M` chains
//!
//! ```text
//! log Z_1 ≈ log Z_0 + log( (1/M) sum_m w_m )
//! se(log Z_1) ≈ sd(w) / (sqrt(M) mean(w))          (delta method)
//! ESS = (sum_m w_m)^2 / sum_m w_m^2
//! ```
//!
//! By Jensen's inequality the log of the mean weight is biased low: forward AIS is a stochastic
//! lower bound on `log Z_1`. Run backwards from exact draws of the target (`x_K ~ p_K`, adding
//! `f_{k-1}(x_k) - f_k(x_k)` and moving with `T_{k-1}`), the weights are unbiased for `Z_0 / Z_1`,
//! so `log Z_0 - log mean(w)` is a stochastic upper bound (reverse AIS, as in the bidirectional
//! Monte Carlo of Grosse et al. 2015). The pair is a sandwich around `log Z_1`; it is a proof only
//! when the reverse chains start at exact draws.
//!
//! With the uniform box as base the path is the target restricted to the box
//! (`p_k ∝ 1_box(x) exp(-beta_k E_1(x))`, `log Z_0 = d log(hi - lo)`): AIS then estimates `log Z`
//! of the target on the box, exactly what quadrature computes in 1-D and 2-D.
//!
//! Step sizes: a fixed one, or one adapted beforehand by a pilot run on a ladder of temperatures
//! (Robbins-Monro on the acceptance probability) and interpolated along the schedule; the main run
//! then uses a schedule fixed in advance, so its weights stay unbiased.

use burn::tensor::{Device, Tensor};
use ebm_core::{Energy, EnergyError, SeededRng};
use serde::{Deserialize, Serialize};

use crate::error::{McmcError, Phase};
use crate::hmc::Hmc;
use crate::kernel::{ChainState, Kernel, StepSize, sum_per_chain};
use crate::mala::Mala;

/// The tractable start of the path, with known `log Z_0`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum AisBase {
    /// `N(mean, sd^2 I)`: `E_0 = |x - mean|^2 / (2 sd^2)`, `log Z_0 = d (log sd + log(2 pi) / 2)`.
    Gaussian {
        /// The mean of every coordinate.
        mean: f64,
        /// The standard deviation of every coordinate.
        sd: f64,
    },
    /// The uniform distribution on `[lo, hi]^d`: `E_0 = 0` inside, `+inf` outside,
    /// `log Z_0 = d log(hi - lo)`.
    UniformBox {
        /// Lower bound of every coordinate.
        lo: f64,
        /// Upper bound of every coordinate.
        hi: f64,
    },
}

impl AisBase {
    /// Checks the parameters (finite, `sd > 0`, `lo < hi`).
    pub fn validate(&self) -> Result<(), McmcError> {
        match *self {
            AisBase::Gaussian { mean, sd } if !(mean.is_finite() && sd.is_finite() && sd > 0.0) => {
                Err(McmcError::invalid(
                    "ais base",
                    "gaussian",
                    format!("need a finite mean and sd > 0, got mean {mean}, sd {sd}"),
                ))
            }
            AisBase::UniformBox { lo, hi } if !(lo.is_finite() && hi.is_finite() && lo < hi) => {
                Err(McmcError::invalid(
                    "ais base",
                    "box",
                    format!("need finite lo < hi, got [{lo}, {hi}]"),
                ))
            }
            _ => Ok(()),
        }
    }

    /// `log Z_0` in `d` dimensions.
    pub fn log_z(&self, d: usize) -> f64 {
        let d = d as f64;
        match *self {
            AisBase::Gaussian { sd, .. } => d * (sd.ln() + 0.5 * (2.0 * std::f64::consts::PI).ln()),
            AisBase::UniformBox { lo, hi } => d * (hi - lo).ln(),
        }
    }

    /// Exact draws of shape `dims` (`[chains, ...]`).
    pub fn sample<const D: usize>(
        &self,
        dims: [usize; D],
        rng: &mut SeededRng,
        device: &Device,
    ) -> Tensor<D> {
        match *self {
            AisBase::Gaussian { mean, sd } => rng.normal(dims, device) * sd + mean,
            AisBase::UniformBox { lo, hi } => rng.uniform(dims, lo as f32, hi as f32, device),
        }
    }

    /// `E_0(x)` (`+inf` outside the box) and `dE_0/dx` (0 for the box).
    pub fn energy_and_grad<const D: usize>(&self, x: Tensor<D>) -> (Tensor<1>, Tensor<D>) {
        match *self {
            AisBase::Gaussian { mean, sd } => {
                let diff = x - mean;
                let grad = diff.clone() / (sd * sd);
                (sum_per_chain(grad.clone() * diff) * 0.5, grad)
            }
            AisBase::UniformBox { lo, hi } => {
                let outside = x.clone().lower_elem(lo).float() + x.clone().greater_elem(hi).float();
                let n_out = sum_per_chain(outside);
                let e = n_out.clone().zeros_like();
                let e = e.mask_fill(n_out.greater_elem(0.5), f64::INFINITY);
                (e, x.zeros_like())
            }
        }
    }
}

/// The intermediate energy `E_beta = (1 - beta) E_0 + beta E_1` of the geometric path (for the box
/// base, `E_beta = beta E_1` inside and `+inf` outside).
#[derive(Debug, Clone)]
pub struct PathEnergy<'a, E: ?Sized> {
    /// The base.
    pub base: AisBase,
    /// The target energy `E_1`.
    pub target: &'a E,
    /// The inverse temperature `beta` in `[0, 1]`.
    pub beta: f64,
}

impl<E: ?Sized> PathEnergy<'_, E> {
    fn combine<const D: usize>(
        &self,
        e0: Tensor<1>,
        g0: Tensor<D>,
        e1: Tensor<1>,
        g1: Tensor<D>,
    ) -> (Tensor<1>, Tensor<D>) {
        let b = self.beta;
        match self.base {
            AisBase::Gaussian { .. } => (e0 * (1.0 - b) + e1 * b, g0 * (1.0 - b) + g1 * b),
            AisBase::UniformBox { .. } => (e0 + e1 * b, g1 * b),
        }
    }
}

impl<const D: usize, E: Energy<D> + ?Sized> Energy<D> for PathEnergy<'_, E> {
    fn energy(&self, x: Tensor<D>) -> Tensor<1> {
        let (e0, g0) = self.base.energy_and_grad(x.clone());
        let e1 = self.target.energy(x);
        let g1 = g0.clone();
        self.combine(e0, g0, e1, g1).0
    }

    fn name(&self) -> String {
        format!("AIS path to {} at beta = {}", self.target.name(), self.beta)
    }

    fn check_input(&self, dims: [usize; D]) -> Result<(), EnergyError> {
        self.target.check_input(dims)
    }

    fn energy_and_grad(&self, x: Tensor<D>) -> (Tensor<1>, Tensor<D>) {
        let x = x.inner();
        let (e1, g1) = self.target.energy_and_grad(x.clone());
        let (e0, g0) = self.base.energy_and_grad(x);
        self.combine(e0, g0, e1, g1)
    }
}

/// The inverse temperatures `0 = beta_0 < beta_1 < ... < beta_K = 1`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Temperatures {
    betas: Vec<f64>,
}

impl Temperatures {
    /// A schedule from its values: must start at 0, end at 1 and increase strictly, `K >= 1`.
    pub fn new(betas: Vec<f64>) -> Result<Self, McmcError> {
        let bad = |reason: String| Err(McmcError::invalid("ais", "temperatures", reason));
        if betas.len() < 2 {
            return bad(format!(
                "need at least 2 values (0 and 1), got {}",
                betas.len()
            ));
        }
        if betas[0] != 0.0 || betas[betas.len() - 1] != 1.0 {
            return bad(format!(
                "must run from 0 to 1, got {} to {}",
                betas[0],
                betas[betas.len() - 1]
            ));
        }
        if let Some(i) = (1..betas.len()).find(|&i| betas[i].is_nan() || betas[i] <= betas[i - 1]) {
            return bad(format!(
                "must increase strictly: beta_{} = {} after beta_{} = {}",
                i,
                betas[i],
                i - 1,
                betas[i - 1]
            ));
        }
        Ok(Self { betas })
    }

    /// `K` equal steps: `beta_k = k / K`.
    pub fn linear(k: usize) -> Result<Self, McmcError> {
        if k == 0 {
            return Err(McmcError::invalid("ais", "temperatures", "K must be >= 1"));
        }
        let mut b: Vec<f64> = (0..=k).map(|i| i as f64 / k as f64).collect();
        b[k] = 1.0;
        Self::new(b)
    }

    /// The sigmoidal schedule of Grosse et al. (2015): `beta~_k = sigmoid(delta (2k/K - 1))`,
    /// rescaled to run from 0 to 1; dense at both ends (`delta = 4` is their default).
    pub fn sigmoid(k: usize, delta: f64) -> Result<Self, McmcError> {
        if k == 0 || !(delta.is_finite() && delta > 0.0) {
            return Err(McmcError::invalid(
                "ais",
                "temperatures",
                format!("need K >= 1 and delta > 0, got K = {k}, delta = {delta}"),
            ));
        }
        let s = |i: usize| 1.0 / (1.0 + (-delta * (2.0 * i as f64 / k as f64 - 1.0)).exp());
        let (lo, hi) = (s(0), s(k));
        let mut b: Vec<f64> = (0..=k).map(|i| (s(i) - lo) / (hi - lo)).collect();
        b[0] = 0.0;
        b[k] = 1.0;
        Self::new(b)
    }

    /// Piecewise linear: `segments` of `(end, steps)` from 0, e.g. Salakhutdinov and Murray's
    /// `[(0.5, 500), (0.9, 4000), (1.0, 10000)]` (14,500 steps).
    pub fn piecewise(segments: &[(f64, usize)]) -> Result<Self, McmcError> {
        let mut b = vec![0.0];
        let mut start = 0.0;
        for &(end, steps) in segments {
            if steps == 0 || end.is_nan() || end <= start {
                return Err(McmcError::invalid(
                    "ais",
                    "temperatures",
                    format!("segment ending at {end} after {start} with {steps} steps"),
                ));
            }
            for i in 1..=steps {
                b.push(start + (end - start) * i as f64 / steps as f64);
            }
            start = end;
        }
        if let Some(last) = b.last_mut()
            && (*last - 1.0).abs() < 1e-12
        {
            *last = 1.0;
        }
        Self::new(b)
    }

    /// Salakhutdinov and Murray's schedule scaled to about `k` steps: steps of `1/1000` up to 0.5,
    /// `1/10000` up to 0.9, `1/100000` up to 1 make 14,500; each segment keeps its share of `k`.
    pub fn salakhutdinov_murray(k: usize) -> Result<Self, McmcError> {
        let share = |n: f64| ((n * k as f64 / 14_500.0).round() as usize).max(1);
        Self::piecewise(&[
            (0.5, share(500.0)),
            (0.9, share(4000.0)),
            (1.0, share(10_000.0)),
        ])
    }

    /// The number of steps `K` (one less than the number of values).
    pub fn steps(&self) -> usize {
        self.betas.len() - 1
    }

    /// The values `beta_0..=beta_K`.
    pub fn betas(&self) -> &[f64] {
        &self.betas
    }
}

/// The MCMC kernel applied at every intermediate temperature.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum AisTransition {
    /// MALA with this step size (the initial one when adapting).
    Mala {
        /// Step size `eps`.
        step_size: f64,
    },
    /// HMC with this step size (the initial one when adapting) and `leapfrog` steps.
    Hmc {
        /// Step size `eps`.
        step_size: f64,
        /// Leapfrog steps `L`.
        leapfrog: usize,
    },
}

impl AisTransition {
    fn step_size(&self) -> f64 {
        match *self {
            AisTransition::Mala { step_size } | AisTransition::Hmc { step_size, .. } => step_size,
        }
    }

    fn target_accept(&self) -> f64 {
        match self {
            AisTransition::Mala { .. } => Mala::TARGET_ACCEPT,
            AisTransition::Hmc { .. } => Hmc::TARGET_ACCEPT,
        }
    }

    /// `steps` transitions of every chain at step size `eps` on `energy` from `state`; returns the
    /// new state and the sum over steps of the mean acceptance probability (a `[1]` tensor).
    fn apply<const D: usize, E: Energy<D> + ?Sized>(
        &self,
        energy: &E,
        state: ChainState<D>,
        eps: f64,
        steps: usize,
        rng: &mut SeededRng,
    ) -> Result<(ChainState<D>, Tensor<1>), McmcError> {
        let device = state.position.device();
        let mut acc = Tensor::<1>::zeros([1], &device);
        let mut state = state;
        match *self {
            AisTransition::Mala { .. } => {
                let k = Mala::new(StepSize::Shared(eps))?;
                for _ in 0..steps {
                    let (s, info) = k.step(energy, state, rng);
                    state = s;
                    acc = acc + info.accept_prob.mean();
                }
            }
            AisTransition::Hmc { leapfrog, .. } => {
                let k = Hmc::new(StepSize::Shared(eps), leapfrog)?;
                for _ in 0..steps {
                    let (s, info) = k.step(energy, state, rng);
                    state = s;
                    acc = acc + info.accept_prob.mean();
                }
            }
        }
        Ok((state, acc))
    }
}

/// Step-size adaptation by a pilot run before the estimate.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AisAdapt {
    /// Chains of the pilot run (its own draws; they are not part of the estimate).
    pub pilot_chains: usize,
    /// Temperatures of the pilot's ladder, taken at evenly spaced positions of the schedule.
    pub ladder: usize,
    /// Transitions per ladder temperature, each followed by `log eps += (a - target) / 2`.
    pub steps: usize,
    /// The acceptance to aim at; `None` takes the kernel's default (0.574 MALA, 0.65 HMC).
    pub target_accept: Option<f64>,
}

impl Default for AisAdapt {
    /// 64 pilot chains, a ladder of 16 temperatures, 20 transitions at each.
    fn default() -> Self {
        Self {
            pilot_chains: 64,
            ladder: 16,
            steps: 20,
            target_accept: None,
        }
    }
}

/// What an AIS run does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AisConfig {
    /// Independent chains (importance samples) `M`.
    pub chains: usize,
    /// The schedule.
    pub temperatures: Temperatures,
    /// The kernel at every intermediate temperature.
    pub transition: AisTransition,
    /// Kernel steps per intermediate temperature (`>= 1`).
    pub steps_per_temperature: usize,
    /// Pilot adaptation of the step size, or `None` to use the transition's step size throughout.
    pub adapt: Option<AisAdapt>,
}

impl AisConfig {
    fn validate(&self) -> Result<(), McmcError> {
        if self.chains < 2 {
            return Err(McmcError::invalid(
                "ais",
                "chains",
                format!("need >= 2 chains for a standard error, got {}", self.chains),
            ));
        }
        if self.steps_per_temperature == 0 {
            return Err(McmcError::invalid(
                "ais",
                "steps_per_temperature",
                "must be >= 1",
            ));
        }
        StepSize::Shared(self.transition.step_size()).validate("ais", None)?;
        if let AisTransition::Hmc { leapfrog: 0, .. } = self.transition {
            return Err(McmcError::invalid("ais", "leapfrog", "must be >= 1"));
        }
        if let Some(a) = &self.adapt {
            if a.pilot_chains == 0 || a.ladder == 0 || a.steps == 0 {
                return Err(McmcError::invalid(
                    "ais",
                    "adapt",
                    "pilot chains, ladder and steps must all be >= 1",
                ));
            }
            if let Some(t) = a.target_accept
                && !(t > 0.0 && t < 1.0)
            {
                return Err(McmcError::invalid(
                    "ais",
                    "adapt.target_accept",
                    format!("must lie in (0, 1), got {t}"),
                ));
            }
        }
        Ok(())
    }
}

/// Forward AIS (a stochastic lower bound) or reverse AIS from target draws (an upper bound).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Direction {
    /// From the base to the target.
    Forward,
    /// From the target back to the base.
    Reverse,
}

/// An AIS estimate of `log Z`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AisEstimate {
    /// The estimate of `log Z` of the target.
    pub log_z: f64,
    /// Its standard error (delta method on the mean weight).
    pub se: f64,
    /// The effective sample size of the weights, `(sum w)^2 / sum w^2`, between 1 and `chains`.
    pub ess: f64,
    /// Chains `M`.
    pub chains: usize,
    /// Steps `K` of the schedule.
    pub steps: usize,
    /// `log Z_0` of the base.
    pub base_log_z: f64,
    /// Forward (lower bound) or reverse (upper bound).
    pub direction: Direction,
    /// The mean acceptance probability of the transitions (NaN for Gibbs transitions).
    pub mean_accept: f64,
    /// The pilot's adapted step sizes at its ladder `(beta, eps)` (empty without adaptation).
    pub step_sizes: Vec<(f64, f64)>,
    /// Every chain's log weight.
    pub log_weights: Vec<f64>,
}

impl AisEstimate {
    /// The estimate from every chain's final log weight: `log Z = log Z_0 + log mean w` forward,
    /// `log Z_0 - log mean w` in reverse, with the standard error and ESS of
    /// [`log_mean_exp_stats`]. `mean_accept` is NaN and `step_sizes` empty until set.
    pub fn from_log_weights(
        log_weights: Vec<f64>,
        base_log_z: f64,
        direction: Direction,
        steps: usize,
    ) -> Result<Self, McmcError> {
        let (lme, se, ess) = log_mean_exp_stats(&log_weights)?;
        Ok(Self {
            log_z: match direction {
                Direction::Forward => base_log_z + lme,
                Direction::Reverse => base_log_z - lme,
            },
            se,
            ess,
            chains: log_weights.len(),
            steps,
            base_log_z,
            direction,
            mean_accept: f64::NAN,
            step_sizes: Vec::new(),
            log_weights,
        })
    }
}

/// Summary of log weights: `(log mean w, se of log mean w, ESS)`, computed stably.
///
/// Fails if a weight is NaN or every weight is zero.
pub fn log_mean_exp_stats(log_weights: &[f64]) -> Result<(f64, f64, f64), McmcError> {
    let n = log_weights.len();
    if let Some(i) = log_weights
        .iter()
        .position(|w| w.is_nan() || *w == f64::INFINITY)
    {
        return Err(McmcError::NonFinite {
            phase: Phase::Sampling,
            step: 0,
            chains: log_weights.iter().filter(|w| w.is_nan()).count().max(1),
            total: n,
            first_chain: i,
        });
    }
    let m = log_weights
        .iter()
        .copied()
        .fold(f64::NEG_INFINITY, f64::max);
    if n == 0 || m == f64::NEG_INFINITY {
        return Err(McmcError::invalid(
            "ais",
            "log weights",
            "every importance weight is zero",
        ));
    }
    let w: Vec<f64> = log_weights.iter().map(|lw| (lw - m).exp()).collect();
    let sum: f64 = w.iter().sum();
    let mean = sum / n as f64;
    let var = if n > 1 {
        w.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64
    } else {
        f64::NAN
    };
    let se = (var / n as f64).sqrt() / mean;
    let ess = sum * sum / w.iter().map(|x| x * x).sum::<f64>();
    Ok((m + mean.ln(), se, ess))
}

fn host(t: Tensor<1>) -> Result<Vec<f64>, McmcError> {
    t.into_data()
        .try_to_vec::<f32>()
        .map(|v| v.into_iter().map(f64::from).collect())
        .map_err(|e| McmcError::Readback(format!("{e:?}")))
}

/// The step size at `beta`, interpolated linearly in `log eps` between the ladder points.
fn interpolate(ladder: &[(f64, f64)], beta: f64, fallback: f64) -> f64 {
    match ladder {
        [] => fallback,
        [(_, e)] => *e,
        _ => {
            if beta <= ladder[0].0 {
                return ladder[0].1;
            }
            for w in ladder.windows(2) {
                let ((b0, e0), (b1, e1)) = (w[0], w[1]);
                if beta <= b1 {
                    let t = if b1 > b0 {
                        (beta - b0) / (b1 - b0)
                    } else {
                        1.0
                    };
                    return (e0.ln() + t * (e1.ln() - e0.ln())).exp();
                }
            }
            ladder[ladder.len() - 1].1
        }
    }
}

/// The state of every chain at `x` for the path at `beta`, and `E_1(x) - E_0(x)` for the weight
/// (`E_1` alone for the box, whose `E_0` is 0 inside). One `energy_and_grad` call of the target.
fn state_at<const D: usize, E: Energy<D> + ?Sized>(
    base: AisBase,
    target: &E,
    beta: f64,
    x: Tensor<D>,
) -> (ChainState<D>, Tensor<1>) {
    let (e1, g1) = target.energy_and_grad(x.clone());
    let (e0, g0) = base.energy_and_grad(x.clone());
    let diff = match base {
        AisBase::Gaussian { .. } => e1.clone() - e0.clone(),
        AisBase::UniformBox { .. } => e1.clone(),
    };
    let path = PathEnergy { base, target, beta };
    let (energy, grad) = path.combine(e0, g0, e1, g1);
    (
        ChainState {
            position: x,
            energy,
            grad: Some(grad),
        },
        diff,
    )
}

/// The pilot run: step sizes at a ladder of temperatures, adapted toward the target acceptance.
fn pilot<const D: usize, E: Energy<D> + ?Sized>(
    target: &E,
    base: AisBase,
    dims: [usize; D],
    config: &AisConfig,
    adapt: &AisAdapt,
    rng: &mut SeededRng,
    device: &Device,
) -> Result<Vec<(f64, f64)>, McmcError> {
    let betas = config.temperatures.betas();
    let k = betas.len() - 1;
    let goal = adapt
        .target_accept
        .unwrap_or(config.transition.target_accept());
    let mut pdims = dims;
    pdims[0] = adapt.pilot_chains;
    let mut x = base.sample(pdims, rng, device);
    let mut log_eps = config.transition.step_size().ln();
    let mut ladder = Vec::with_capacity(adapt.ladder);
    for l in 1..=adapt.ladder {
        let beta = betas[(l * k / adapt.ladder).clamp(1, k)];
        let (mut state, _) = state_at(base, target, beta, x);
        let path = PathEnergy { base, target, beta };
        let mut kept = Vec::new();
        for s in 0..adapt.steps {
            let (next, acc) = config
                .transition
                .apply(&path, state, log_eps.exp(), 1, rng)?;
            state = next;
            let a = host(acc)?[0];
            let a = if a.is_finite() { a } else { 0.0 };
            log_eps += 0.5 * (a - goal);
            if s >= adapt.steps / 2 {
                kept.push(log_eps);
            }
        }
        let avg = kept.iter().sum::<f64>() / kept.len().max(1) as f64;
        ladder.push((beta, avg.exp()));
        x = state.position;
    }
    Ok(ladder)
}

/// Forward AIS from `base` to `target` over `[chains, event_dims...]` positions on `device`:
/// `log Z` of the target (a stochastic lower bound), its standard error and the weights' ESS.
///
/// Draws all randomness from `rng`. Fails on an invalid configuration, an event shape the
/// target rejects, or NaN log weights.
pub fn ais<const D: usize, E: Energy<D> + ?Sized>(
    target: &E,
    base: AisBase,
    event_dims: [usize; D],
    config: &AisConfig,
    rng: &mut SeededRng,
    device: &Device,
) -> Result<AisEstimate, McmcError> {
    config.validate()?;
    base.validate()?;
    let mut dims = event_dims;
    dims[0] = config.chains;
    target.check_input(dims)?;
    let step_sizes = match &config.adapt {
        Some(a) => pilot(target, base, dims, config, a, rng, device)?,
        None => Vec::new(),
    };
    let x = base.sample(dims, rng, device);
    run(target, base, x, config, step_sizes, Direction::Forward, rng)
}

/// Reverse AIS from draws `samples` (`[chains, ...]`) of the target back to `base`: a stochastic
/// upper bound on `log Z` when the draws are exact (approximate draws, such as long MCMC runs,
/// make it approximate). `config.chains` is ignored: there is one chain per draw.
pub fn reverse_ais<const D: usize, E: Energy<D> + ?Sized>(
    target: &E,
    base: AisBase,
    samples: Tensor<D>,
    config: &AisConfig,
    rng: &mut SeededRng,
) -> Result<AisEstimate, McmcError> {
    let dims = samples.dims();
    let config = AisConfig {
        chains: dims[0],
        ..config.clone()
    };
    config.validate()?;
    base.validate()?;
    target.check_input(dims)?;
    let step_sizes = match &config.adapt {
        Some(a) => pilot(target, base, dims, &config, a, rng, &samples.device())?,
        None => Vec::new(),
    };
    run(
        target,
        base,
        samples,
        &config,
        step_sizes,
        Direction::Reverse,
        rng,
    )
}

/// Forward and reverse AIS bracket `log Z`: `lower.log_z <~ log Z <~ upper.log_z`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sandwich {
    /// Forward AIS (a stochastic lower bound).
    pub lower: AisEstimate,
    /// Reverse AIS from target draws (a stochastic upper bound when the draws are exact).
    pub upper: AisEstimate,
}

impl Sandwich {
    /// Both directions with the same configuration: forward from the base, reverse from `samples`.
    pub fn estimate<const D: usize, E: Energy<D> + ?Sized>(
        target: &E,
        base: AisBase,
        samples: Tensor<D>,
        config: &AisConfig,
        rng: &mut SeededRng,
    ) -> Result<Self, McmcError> {
        let lower = ais(target, base, samples.dims(), config, rng, &samples.device())?;
        let upper = reverse_ais(target, base, samples, config, rng)?;
        Ok(Self { lower, upper })
    }

    /// The width `upper - lower` (an upper bound on the error of either, up to Monte-Carlo noise).
    pub fn gap(&self) -> f64 {
        self.upper.log_z - self.lower.log_z
    }
}

fn run<const D: usize, E: Energy<D> + ?Sized>(
    target: &E,
    base: AisBase,
    start: Tensor<D>,
    config: &AisConfig,
    step_sizes: Vec<(f64, f64)>,
    direction: Direction,
    rng: &mut SeededRng,
) -> Result<AisEstimate, McmcError> {
    let betas = config.temperatures.betas();
    let k = betas.len() - 1;
    let dims = start.dims();
    let device = start.device();
    let mut x = start.inner();
    let mut lw = Tensor::<1>::zeros([dims[0]], &device);
    let mut acc = Tensor::<1>::zeros([1], &device);
    let fallback = config.transition.step_size();
    // Forward: weight at beta_k then move at beta_k (k < K). Reverse: weight from beta_k down to
    // beta_{k-1}, then move at beta_{k-1} (k > 1).
    for step in 1..=k {
        let (kw, kb) = match direction {
            Direction::Forward => (step, step),
            Direction::Reverse => (k + 1 - step, k - step),
        };
        let move_beta = betas[kb];
        let (state, diff) = state_at(base, target, move_beta, x);
        let delta = betas[kw] - betas[kw - 1];
        lw = match direction {
            Direction::Forward => lw - diff * delta,
            Direction::Reverse => lw + diff * delta,
        };
        if step == k {
            break;
        }
        let path = PathEnergy {
            base,
            target,
            beta: move_beta,
        };
        let eps = interpolate(&step_sizes, move_beta, fallback);
        let (next, a) =
            config
                .transition
                .apply(&path, state, eps, config.steps_per_temperature, rng)?;
        acc = acc + a;
        x = next.position;
    }
    let transitions = (k.saturating_sub(1) * config.steps_per_temperature).max(1);
    let mut estimate =
        AisEstimate::from_log_weights(host(lw)?, base.log_z(event_of(&dims)), direction, k)?;
    estimate.mean_accept = host(acc)?[0] / transitions as f64;
    estimate.step_sizes = step_sizes;
    Ok(estimate)
}

fn event_of(dims: &[usize]) -> usize {
    dims[1..].iter().product()
}

/// A held-out log-likelihood: the mean of `log p(x) = -E(x) - log Z` over the data.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct HeldOutLogLikelihood {
    /// `mean_n(-E(x_n)) - log Z`, nats per item.
    pub mean: f64,
    /// The standard error from the data: `sd_n(E(x_n)) / sqrt(N)`.
    pub se_data: f64,
    /// The standard error of `log Z` (0 when exact).
    pub se_log_z: f64,
    /// Items `N`.
    pub count: usize,
}

/// `mean(-E(x)) - log Z` over a batch `x` (`[N, ...]`), with the standard error of `log Z` carried
/// along (0 for an exact `log Z`).
pub fn held_out_log_likelihood<const D: usize, E: Energy<D> + ?Sized>(
    energy: &E,
    x: Tensor<D>,
    log_z: f64,
    se_log_z: f64,
) -> Result<HeldOutLogLikelihood, McmcError> {
    let e = host(energy.try_energy(x.inner())?)?;
    let n = e.len();
    if n == 0 {
        return Err(McmcError::invalid(
            "held-out log-likelihood",
            "x",
            "no items",
        ));
    }
    let mean_e = e.iter().sum::<f64>() / n as f64;
    let var = if n > 1 {
        e.iter().map(|v| (v - mean_e).powi(2)).sum::<f64>() / (n - 1) as f64
    } else {
        0.0
    };
    Ok(HeldOutLogLikelihood {
        mean: -mean_e - log_z,
        se_data: (var / n as f64).sqrt(),
        se_log_z,
        count: n,
    })
}
