//! The runner: initial state, warm-up with adaptation, draws with thinning, diagnostics.
//!
//! [`run`] drives any [`Kernel`] over a batch of chains. Per step it reads back to the host once:
//! the energies (to stop on NaN or infinity with [`McmcError::NonFinite`]), the acceptance
//! probabilities and accepted mask (for adaptation and the report) and, on kept steps, the
//! positions. The result is the draws as one host `Vec<f32>` laid out `[chains, draws, dims]`
//! (`dims` the flattened event shape) and a [`RunReport`] with per-chain acceptance and the
//! rank-normalised split R-hat and bulk ESS of every coordinate ([`crate::diagnostics`]), and, for
//! kernels that integrate a trajectory (HMC), the number of divergent sampling steps per chain.

use burn::tensor::Tensor;
use ebm_core::{Energy, SeededRng};
use serde::{Deserialize, Serialize};

use crate::adaptation::AdaptScope;
use crate::diagnostics::{ess_bulk, split_rhat};
use crate::error::{McmcError, Phase};
use crate::kernel::{ChainState, Kernel, StepSize};
use crate::mass::MassAdapt;
use crate::warmup::WarmUp;

/// How to adapt the step size (and the mass matrix) during warm-up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdaptConfig {
    /// One step size for all chains, or one per chain.
    pub scope: AdaptScope,
    /// The target acceptance probability; `None` takes the kernel's default
    /// ([`Kernel::target_accept`]).
    pub target_accept: Option<f64>,
    /// The inverse mass matrix to estimate in Stan's windows ([`crate::warmup`]); kernels
    /// without a mass matrix accept only [`MassAdapt::None`].
    #[serde(default)]
    pub mass: MassAdapt,
}

impl AdaptConfig {
    /// Shared step-size adaptation to the kernel's target, with the mass matrix `mass`.
    pub fn shared(mass: MassAdapt) -> Self {
        Self {
            scope: AdaptScope::Shared,
            target_accept: None,
            mass,
        }
    }
}

/// What a run does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunConfig {
    /// Warm-up steps (discarded; the step size adapts during them if `adapt` is set).
    pub warmup: usize,
    /// Draws kept per chain.
    pub draws: usize,
    /// Steps per kept draw (`>= 1`): `draws * thin` sampling steps are run.
    pub thin: usize,
    /// Step-size adaptation during warm-up, or `None` to keep the kernel's step size.
    pub adapt: Option<AdaptConfig>,
    /// Whether to compute R-hat and ESS per coordinate (host work `O(chains * draws * dims)`
    /// plus sorting; turn off for images).
    pub diagnostics: bool,
}

impl Default for RunConfig {
    /// 500 warm-up steps with shared adaptation to the kernel's target, 1000 draws, no thinning,
    /// diagnostics on.
    fn default() -> Self {
        Self {
            warmup: 500,
            draws: 1000,
            thin: 1,
            adapt: Some(AdaptConfig::shared(MassAdapt::None)),
            diagnostics: true,
        }
    }
}

/// Where a run is, passed to the progress callback after every step.
#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    /// Warm-up or sampling.
    pub phase: Phase,
    /// The step just finished within the phase (1-based).
    pub step: usize,
    /// The number of steps in the phase.
    pub steps: usize,
    /// The mean acceptance probability of this step over chains.
    pub mean_accept_prob: f64,
    /// The mean step size over chains used for this step.
    pub step_size: f64,
}

/// Summary of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunReport {
    /// The kernel's name.
    pub kernel: String,
    /// Per chain, the mean Metropolis-Hastings acceptance probability over all sampling steps.
    pub accept_prob: Vec<f64>,
    /// Per chain, the fraction of sampling steps whose proposal was accepted.
    pub accept_rate: Vec<f64>,
    /// Per chain, the number of sampling steps whose trajectory diverged
    /// ([`TrajectoryInfo`](crate::TrajectoryInfo)); `None` for kernels that integrate no
    /// trajectory (all but HMC).
    #[serde(default)]
    pub divergences: Option<Vec<usize>>,
    /// Per chain, the leapfrog steps (gradient evaluations) of its own trajectories over all
    /// sampling steps, for kernels that count them (HMC, NUTS); a batched NUTS computes more
    /// (see [`crate::nuts`]).
    #[serde(default)]
    pub leapfrog_steps: Option<Vec<f64>>,
    /// The step size used for sampling (after adaptation).
    pub step_size: StepSize,
    /// Rank-normalised split R-hat per coordinate (empty when diagnostics are off).
    pub rhat: Vec<f64>,
    /// Bulk ESS per coordinate (empty when diagnostics are off).
    pub ess_bulk: Vec<f64>,
    /// The largest R-hat over coordinates (NaN if diagnostics are off or undefined).
    pub max_rhat: f64,
    /// The smallest bulk ESS over coordinates (NaN if diagnostics are off or undefined).
    pub min_ess_bulk: f64,
    /// The median bulk ESS over coordinates (NaN if diagnostics are off or undefined).
    pub median_ess_bulk: f64,
}

impl RunReport {
    /// The divergent sampling steps summed over chains (`None` when the kernel reports none).
    pub fn total_divergences(&self) -> Option<usize> {
        self.divergences.as_ref().map(|v| v.iter().sum())
    }
}

/// The result of [`run`].
#[derive(Debug, Clone)]
pub struct RunOutput<const D: usize> {
    /// Kept draws on the host, laid out `[chains, draws, dims]` (row-major).
    pub draws: Vec<f32>,
    /// `[chains, draws, event dims...]`: the draws' full shape (the event dims multiply to
    /// `dims`).
    pub shape: Vec<usize>,
    /// Acceptance, step size and diagnostics.
    pub report: RunReport,
    /// The state after the last step (to continue sampling).
    pub final_state: ChainState<D>,
}

impl<const D: usize> RunOutput<D> {
    /// The number of scalars per draw (the product of the event dims).
    pub fn dims(&self) -> usize {
        self.shape[2..].iter().product()
    }

    /// Coordinate `j` of every draw, laid out `[chains][draws]` for the diagnostics.
    pub fn coordinate(&self, j: usize) -> Vec<Vec<f64>> {
        let (chains, draws, dims) = (self.shape[0], self.shape[1], self.dims());
        (0..chains)
            .map(|c| {
                (0..draws)
                    .map(|i| self.draws[(c * draws + i) * dims + j] as f64)
                    .collect()
            })
            .collect()
    }
}

/// Runs `kernel` on `energy` from positions `init` (`[chains, ...]`): `config.warmup` warm-up
/// steps (adapting the step size if `config.adapt` is set), then `config.draws * config.thin`
/// sampling steps keeping every `thin`-th state. `progress` is called after every step.
///
/// On return the kernel holds the step size used for sampling. Fails with
/// [`McmcError::NonFinite`] as soon as the energy of any chain is NaN or infinite (at the initial
/// positions or after a step), naming the phase, the step and the number of chains affected, and
/// with [`McmcError::InvalidParameter`] for an invalid configuration.
pub fn run<const D: usize, E, K>(
    energy: &E,
    kernel: &mut K,
    init: Tensor<D>,
    config: &RunConfig,
    rng: &mut SeededRng,
    mut progress: impl FnMut(&Progress),
) -> Result<RunOutput<D>, McmcError>
where
    E: Energy<D> + ?Sized,
    K: Kernel<D>,
{
    if config.thin == 0 {
        return Err(McmcError::invalid("runner", "thin", "must be at least 1"));
    }
    let dims = init.dims();
    if dims[0] == 0 {
        return Err(McmcError::invalid("runner", "init", "no chains"));
    }
    energy.check_input(dims)?;
    kernel.step_size().validate(kernel.name(), Some(dims[0]))?;
    if let Some(mass) = kernel.inverse_mass() {
        mass.check_fits(dims[0], dims[1..].iter().product())?;
    }

    let state = kernel.init(energy, init);
    check_energies(&read(state.energy.clone())?, Phase::Init, 0)?;
    let state = warm_up(energy, kernel, state, config, rng, &mut progress)?;
    let sampled = sample(energy, kernel, state, config, rng, &mut progress)?;
    let mut output = assemble(kernel, dims, sampled);
    if config.diagnostics {
        add_diagnostics(&mut output);
    }
    Ok(output)
}

/// The warm-up: `config.warmup` steps, adapting the step size if asked (the iterate `h_t` during
/// warm-up, the average `hbar` for sampling).
fn warm_up<const D: usize, E, K>(
    energy: &E,
    kernel: &mut K,
    mut state: ChainState<D>,
    config: &RunConfig,
    rng: &mut SeededRng,
    progress: &mut dyn FnMut(&Progress),
) -> Result<ChainState<D>, McmcError>
where
    E: Energy<D> + ?Sized,
    K: Kernel<D>,
{
    let chains = state.num_chains();
    let mut adapter = match &config.adapt {
        Some(adapt) if config.warmup > 0 => {
            Some(WarmUp::new(adapt, kernel, chains, config.warmup)?)
        }
        _ => None,
    };
    for step in 1..=config.warmup {
        let step_size = kernel.step_size().mean();
        let (next, info) = kernel.step(energy, state, rng);
        state = next;
        let host = read(Tensor::cat(vec![state.energy.clone(), info.accept_prob], 0))?;
        check_energies(&host[..chains], Phase::WarmUp, step)?;
        let accept: Vec<f64> = host[chains..].iter().map(|&a| a as f64).collect();
        if let Some(adapter) = adapter.as_mut() {
            adapter.after_step(step, &accept, &state.position, kernel)?;
        }
        progress(&Progress {
            phase: Phase::WarmUp,
            step,
            steps: config.warmup,
            mean_accept_prob: accept.iter().sum::<f64>() / chains as f64,
            step_size,
        });
    }
    Ok(state)
}

/// What the sampling phase collected.
struct Sampled<const D: usize> {
    /// Per chain, the mean acceptance probability.
    accept_prob: Vec<f64>,
    /// Per chain, the fraction of accepted proposals.
    accept_rate: Vec<f64>,
    /// Per chain, the divergent trajectories (kernels that report them).
    divergences: Option<Vec<usize>>,
    /// Per chain, the leapfrog steps (kernels that count them).
    leapfrog_steps: Option<Vec<f64>>,
    /// The kept positions, one `[chains * event]` row per draw.
    kept: Vec<Vec<f32>>,
    /// The last state.
    state: ChainState<D>,
}

/// The sampling phase: `draws * thin` steps, one host read per step (energies, acceptance,
/// divergences where the kernel reports them, and the positions on kept steps).
fn sample<const D: usize, E, K>(
    energy: &E,
    kernel: &K,
    mut state: ChainState<D>,
    config: &RunConfig,
    rng: &mut SeededRng,
    progress: &mut dyn FnMut(&Progress),
) -> Result<Sampled<D>, McmcError>
where
    E: Energy<D> + ?Sized,
    K: Kernel<D>,
{
    let chains = state.num_chains();
    let steps = config.draws * config.thin;
    let mut accept_prob = vec![0.0f64; chains];
    let mut accept_rate = vec![0.0f64; chains];
    let mut divergences: Option<Vec<usize>> = None;
    let mut leapfrog_steps: Option<Vec<f64>> = None;
    let mut kept: Vec<Vec<f32>> = Vec::with_capacity(config.draws);
    for step in 1..=steps {
        let (next, info, trajectory) = kernel.step_traced(energy, state, rng);
        state = next;
        let keep = step % config.thin == 0;
        let mut parts = vec![
            state.energy.clone(),
            info.accept_prob,
            info.accepted.float(),
        ];
        let traced = trajectory.is_some();
        let counted = trajectory.as_ref().is_some_and(|t| t.num_steps.is_some());
        if let Some(t) = trajectory {
            parts.push(t.divergent.float());
            parts.extend(t.num_steps);
        }
        let host = read(Tensor::cat(parts, 0))?;
        check_energies(&host[..chains], Phase::Sampling, step)?;
        for c in 0..chains {
            accept_prob[c] += host[chains + c] as f64;
            accept_rate[c] += host[2 * chains + c] as f64;
        }
        let rest = &host[3 * chains..];
        let rest = tally(rest, chains, traced, &mut divergences, |c, d| {
            *c += usize::from(d > 0.5)
        });
        let rest = tally(rest, chains, counted, &mut leapfrog_steps, |t, n| {
            *t += n as f64
        });
        debug_assert!(rest.is_empty());
        if keep {
            // Read on its own: through the `cat` above, a draw would be copied three times.
            kept.push(read(state.position.clone())?);
        }
        progress(&Progress {
            phase: Phase::Sampling,
            step,
            steps,
            mean_accept_prob: host[chains..2 * chains]
                .iter()
                .map(|&a| a as f64)
                .sum::<f64>()
                / chains as f64,
            step_size: kernel.step_size().mean(),
        });
    }
    for v in [&mut accept_prob, &mut accept_rate] {
        v.iter_mut().for_each(|a| *a /= steps.max(1) as f64);
    }
    Ok(Sampled {
        accept_prob,
        accept_rate,
        divergences,
        leapfrog_steps,
        kept,
        state,
    })
}

/// Adds the first `chains` values of `rest` into `totals` (created at the first call) when
/// `present`, and returns what follows them.
fn tally<'a, T: Clone + Default>(
    rest: &'a [f32],
    chains: usize,
    present: bool,
    totals: &mut Option<Vec<T>>,
    add: impl Fn(&mut T, f32),
) -> &'a [f32] {
    if !present {
        return rest;
    }
    let totals = totals.get_or_insert_with(|| vec![T::default(); chains]);
    for (total, v) in totals.iter_mut().zip(&rest[..chains]) {
        add(total, *v);
    }
    &rest[chains..]
}

/// The output from the sampled rows: draws laid out `[chains, draws, event]`, the report without
/// diagnostics.
fn assemble<const D: usize, K: Kernel<D>>(
    kernel: &K,
    dims: [usize; D],
    sampled: Sampled<D>,
) -> RunOutput<D> {
    let chains = dims[0];
    let event: usize = dims[1..].iter().product();
    // [draws][chains, event] -> [chains, draws, event]
    let n_draws = sampled.kept.len();
    let mut draws = vec![0.0f32; chains * n_draws * event];
    for (i, row) in sampled.kept.iter().enumerate() {
        for c in 0..chains {
            let dst = (c * n_draws + i) * event;
            draws[dst..dst + event].copy_from_slice(&row[c * event..(c + 1) * event]);
        }
    }
    let mut shape = vec![chains, n_draws];
    shape.extend_from_slice(&dims[1..]);
    RunOutput {
        draws,
        shape,
        report: RunReport {
            kernel: kernel.name().to_string(),
            accept_prob: sampled.accept_prob,
            accept_rate: sampled.accept_rate,
            divergences: sampled.divergences,
            leapfrog_steps: sampled.leapfrog_steps,
            step_size: kernel.step_size().clone(),
            rhat: Vec::new(),
            ess_bulk: Vec::new(),
            max_rhat: f64::NAN,
            min_ess_bulk: f64::NAN,
            median_ess_bulk: f64::NAN,
        },
        final_state: sampled.state,
    }
}

/// R-hat and bulk ESS of every coordinate, with their extremes, into the report.
fn add_diagnostics<const D: usize>(output: &mut RunOutput<D>) {
    let (rhat, ess): (Vec<f64>, Vec<f64>) = (0..output.dims())
        .map(|j| {
            let coordinate = output.coordinate(j);
            (split_rhat(&coordinate), ess_bulk(&coordinate))
        })
        .unzip();
    let report = &mut output.report;
    report.max_rhat = nan_aware(&rhat, |v| v.iter().copied().fold(f64::MIN, f64::max));
    report.min_ess_bulk = nan_aware(&ess, |v| v.iter().copied().fold(f64::MAX, f64::min));
    report.median_ess_bulk = nan_aware(&ess, crate::diagnostics::median);
    report.rhat = rhat;
    report.ess_bulk = ess;
}

/// `f(v)` if `v` is non-empty and NaN-free, else NaN.
fn nan_aware(v: &[f64], f: impl Fn(&[f64]) -> f64) -> f64 {
    if v.is_empty() || v.iter().any(|x| x.is_nan()) {
        f64::NAN
    } else {
        f(v)
    }
}

/// One host read of a tensor as `f32`: one copy while it shares its buffer, none if it holds it
/// alone.
fn read<const K: usize>(t: Tensor<K>) -> Result<Vec<f32>, McmcError> {
    t.into_data()
        .try_into_vec_as::<f32>()
        .map_err(|e| McmcError::Readback(format!("{e:?}")))
}

fn check_energies(energies: &[f32], phase: Phase, step: usize) -> Result<(), McmcError> {
    let mut bad = energies.iter().enumerate().filter(|(_, e)| !e.is_finite());
    if let Some((first_chain, _)) = bad.next() {
        return Err(McmcError::NonFinite {
            phase,
            step,
            chains: 1 + bad.count(),
            total: energies.len(),
            first_chain,
        });
    }
    Ok(())
}
