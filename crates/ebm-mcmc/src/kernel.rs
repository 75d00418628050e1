//! The kernel abstraction shared by every sampler: a batch of chains as one state, one pure step.
//!
//! A batch of `N` chains is one tensor of positions `[N, ...]` (rank `D`, chains on the first
//! axis) on whatever device the energy lives on. A kernel's [`Kernel::step`] maps a
//! [`ChainState`] to the next one plus a [`StepInfo`] (per-chain acceptance probability and
//! accepted mask), drawing randomness only from the [`SeededRng`] it is given. A kernel that
//! integrates a trajectory (HMC, NUTS) also records a [`TrajectoryInfo`] (energy error,
//! divergences, leapfrog steps), returned by [`Kernel::step_traced`]. Kernels with a mass matrix
//! (MALA, HMC, NUTS) expose it through [`Kernel::inverse_mass`] and
//! [`Kernel::set_inverse_mass`], which windowed warm-up calls. Step sizes are a [`StepSize`]: one scalar shared by all
//! chains, or one value per chain; every kernel validates them with [`StepSize::checked`] (in its
//! constructor and in `set_step_size`, written once by a macro). Adaptation lives apart (in
//! [`crate::adaptation`]): it reads the infos and sets the step size between steps.

use burn::tensor::{Bool, Tensor, TensorData};
use ebm_core::{Energy, SeededRng};
use serde::{Deserialize, Serialize};

use crate::error::McmcError;
use crate::mass::InverseMass;

/// The state of a batch of chains: positions with the energy (and possibly the gradient) cached
/// at them, so that a kernel never re-evaluates the current point.
#[derive(Debug, Clone)]
pub struct ChainState<const D: usize> {
    /// Positions `x`, shape `[N, ...]`, one chain per row.
    pub position: Tensor<D>,
    /// `E(x)` per chain, shape `[N]`.
    pub energy: Tensor<1>,
    /// `dE/dx` at `position`, same shape; `None` after a kernel that does not need it
    /// (random-walk Metropolis, clipped SGLD), in which case a gradient kernel computes it once.
    pub grad: Option<Tensor<D>>,
}

impl<const D: usize> ChainState<D> {
    /// The state at `position`, with energy and gradient from one `energy_and_grad` call.
    pub fn new<E: Energy<D> + ?Sized>(energy: &E, position: Tensor<D>) -> Self {
        let (e, g) = energy.energy_and_grad(position.clone());
        Self {
            position,
            energy: e,
            grad: Some(g),
        }
    }

    /// The state at `position` with the energy only (one forward pass, no gradient).
    pub fn without_grad<E: Energy<D> + ?Sized>(energy: &E, position: Tensor<D>) -> Self {
        let e = energy.energy(position.clone());
        Self {
            position,
            energy: e,
            grad: None,
        }
    }

    /// The number of chains `N`.
    pub fn num_chains(&self) -> usize {
        self.position.dims()[0]
    }

    /// The cached gradient, or a fresh `energy_and_grad` evaluation (which also refreshes the
    /// cached energy) when there is none.
    pub fn with_grad<E: Energy<D> + ?Sized>(self, energy: &E) -> (Self, Tensor<D>) {
        match self.grad {
            Some(ref g) => {
                let g = g.clone();
                (self, g)
            }
            None => {
                let s = Self::new(energy, self.position);
                let g = s.grad.clone().expect("ChainState::new sets the gradient");
                (s, g)
            }
        }
    }
}

/// What one step did, per chain (tensors on the chains' device; nothing is read to the host).
#[derive(Debug, Clone)]
pub struct StepInfo {
    /// The Metropolis-Hastings acceptance probability `min(1, alpha)` of each chain's proposal,
    /// shape `[N]`; 0 for a NaN proposal, 1 for unadjusted kernels.
    pub accept_prob: Tensor<1>,
    /// Whether each chain moved to its proposal, shape `[N]`.
    pub accepted: Tensor<1, Bool>,
}

impl StepInfo {
    /// The info of an unadjusted kernel: every proposal accepted with probability 1.
    pub fn all_accepted(n: usize, device: &burn::tensor::Device) -> Self {
        let ones = Tensor::<1>::ones([n], device);
        Self {
            accepted: ones.clone().greater_elem(0.5),
            accept_prob: ones,
        }
    }
}

/// What a kernel that integrates a trajectory (HMC) records per chain besides acceptance.
///
/// The energy error is `Delta H = H(x', p') - H(x, p)` of the trajectory (0 for an exact
/// integrator; leapfrog's is `O(eps^2)` on smooth targets). A transition is *divergent* when
/// `|Delta H|` exceeds a threshold (1000, as in Stan) or is not finite: the integrator has left
/// the region where it tracks the Hamiltonian flow, and the chain's draws near there are
/// unreliable.
#[derive(Debug, Clone)]
pub struct TrajectoryInfo {
    /// `H(x', p') - H(x, p)` per chain, shape `[N]` (NaN or infinite when the trajectory blew
    /// up).
    pub energy_error: Tensor<1>,
    /// Whether each chain's trajectory diverged, shape `[N]`.
    pub divergent: Tensor<1, Bool>,
    /// The leapfrog steps (gradient evaluations) each chain's trajectory used, shape `[N]`
    /// (HMC: `L`; NUTS: the chain's own tree, not the batch's), where the kernel counts them.
    pub num_steps: Option<Tensor<1>>,
}

impl TrajectoryInfo {
    /// The default divergence threshold on `|Delta H|`, 1000 (Stan's).
    pub const DIVERGENCE_THRESHOLD: f64 = 1000.0;

    /// The record of energy errors `Delta H`: divergent where `|Delta H| > threshold` or
    /// `Delta H` is not finite.
    pub fn from_energy_error(energy_error: Tensor<1>, threshold: f64) -> Self {
        let tracked = energy_error
            .clone()
            .abs()
            .lower_equal_elem(threshold)
            .bool_and(energy_error.clone().is_finite());
        let divergent = tracked.bool_not();
        Self {
            energy_error,
            divergent,
            num_steps: None,
        }
    }
}

/// A step size (or proposal scale): one value for all chains, or one per chain.
///
/// * `Shared(h)`: every chain uses `h`; shared adaptation tunes it from the mean acceptance
///   probability over chains.
/// * `PerChain(v)`: chain `i` uses `v[i]`; per-chain adaptation tunes each from that chain's own
///   acceptance probability. `v.len()` must equal the number of chains: [`crate::run`] checks
///   it, while a kernel stepped by hand with a vector of the wrong length fails inside burn's
///   broadcast.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum StepSize {
    /// One step size shared by all chains.
    Shared(f64),
    /// One step size per chain (`[chains]`).
    PerChain(Vec<f64>),
}

impl StepSize {
    /// Checks that every value is finite and positive and, for `PerChain`, that there is one per
    /// chain.
    pub fn validate(&self, what: &str, chains: Option<usize>) -> Result<(), McmcError> {
        let values: &[f64] = match self {
            StepSize::Shared(h) => std::slice::from_ref(h),
            StepSize::PerChain(v) => {
                if let Some(n) = chains
                    && v.len() != n
                {
                    return Err(McmcError::invalid(
                        what,
                        "step_size",
                        format!("{} per-chain step sizes for {n} chains", v.len()),
                    ));
                }
                if v.is_empty() {
                    return Err(McmcError::invalid(
                        what,
                        "step_size",
                        "empty per-chain vector",
                    ));
                }
                v
            }
        };
        match values.iter().find(|h| !(h.is_finite() && **h > 0.0)) {
            Some(h) => Err(McmcError::invalid(
                what,
                "step_size",
                format!("must be finite and positive, got {h}"),
            )),
            None => Ok(()),
        }
    }

    /// The step size itself after [`StepSize::validate`] for the kernel `what` (any number of
    /// chains): the one check every kernel constructor and `set_step_size` share.
    pub fn checked(self, what: &str) -> Result<Self, McmcError> {
        self.validate(what, None)?;
        Ok(self)
    }

    /// The mean step size over chains (the value itself when shared).
    pub fn mean(&self) -> f64 {
        match self {
            StepSize::Shared(h) => *h,
            StepSize::PerChain(v) => v.iter().sum::<f64>() / v.len().max(1) as f64,
        }
    }

    /// Chain `i`'s step size (the shared one, or `v[i]`).
    pub fn of_chain(&self, i: usize) -> f64 {
        match self {
            StepSize::Shared(h) => *h,
            StepSize::PerChain(v) => v[i],
        }
    }

    /// The step size of each of `n` chains as a tensor `[n]`.
    pub(crate) fn per_chain_tensor(&self, n: usize, device: &burn::tensor::Device) -> Tensor<1> {
        match self {
            StepSize::Shared(h) => Tensor::full([n], *h as f32, device),
            StepSize::PerChain(v) => {
                let v: Vec<f32> = v.iter().map(|h| *h as f32).collect();
                Tensor::from_data(TensorData::new(v, [n]), device)
            }
        }
    }

    /// `x * f(h)` chain by chain: a scalar multiply when shared, a broadcast `[N, 1, ...]`
    /// multiply when per chain.
    pub fn scale<const D: usize>(&self, x: Tensor<D>, f: impl Fn(f64) -> f64) -> Tensor<D> {
        match self {
            StepSize::Shared(h) => x.mul_scalar(f(*h)),
            StepSize::PerChain(v) => {
                let dims = x.dims();
                let device = x.device();
                let factors: Vec<f32> = v.iter().map(|h| f(*h) as f32).collect();
                let factors = Tensor::<1>::from_data(TensorData::new(factors, [v.len()]), &device);
                x * per_chain(factors, dims)
            }
        }
    }
}

/// A batched MCMC transition kernel: a pure step from one [`ChainState`] to the next.
///
/// Implementations draw all randomness from `rng` and change nothing in `self`, so a step is
/// reproducible from (kernel, state, rng state).
pub trait Kernel<const D: usize> {
    /// A short name (`"mala"`, ...), for reports and errors.
    fn name(&self) -> &'static str;

    /// One transition of every chain.
    fn step<E: Energy<D> + ?Sized>(
        &self,
        energy: &E,
        state: ChainState<D>,
        rng: &mut SeededRng,
    ) -> (ChainState<D>, StepInfo);

    /// One transition, with the [`TrajectoryInfo`] of kernels that integrate a trajectory (HMC);
    /// `None` (the default, which calls [`Kernel::step`]) for the others. Same randomness and
    /// result as [`Kernel::step`].
    fn step_traced<E: Energy<D> + ?Sized>(
        &self,
        energy: &E,
        state: ChainState<D>,
        rng: &mut SeededRng,
    ) -> (ChainState<D>, StepInfo, Option<TrajectoryInfo>) {
        let (state, info) = self.step(energy, state, rng);
        (state, info, None)
    }

    /// The initial state at `position` (energy and gradient by default).
    fn init<E: Energy<D> + ?Sized>(&self, energy: &E, position: Tensor<D>) -> ChainState<D> {
        ChainState::new(energy, position)
    }

    /// The step size (or proposal scale) in use.
    fn step_size(&self) -> &StepSize;

    /// Replaces the step size, after validating it.
    fn set_step_size(&mut self, step_size: StepSize) -> Result<(), McmcError>;

    /// The acceptance probability that step-size adaptation aims at; `None` for kernels without
    /// an accept/reject step (which cannot be adapted this way).
    fn target_accept(&self) -> Option<f64> {
        None
    }

    /// The inverse mass matrix in use, for kernels that have one (HMC, NUTS, MALA); `None` for
    /// the others.
    fn inverse_mass(&self) -> Option<&InverseMass> {
        None
    }

    /// Replaces the inverse mass matrix; an [`McmcError::InvalidParameter`] for kernels without
    /// one.
    fn set_inverse_mass(&mut self, mass: InverseMass) -> Result<(), McmcError> {
        drop(mass);
        Err(McmcError::invalid(
            self.name(),
            "inverse mass",
            "this kernel has no mass matrix",
        ))
    }
}

/// The `step_size` and `set_step_size` methods of a [`Kernel`] impl whose step size is the field
/// `$field`, validated by [`StepSize::checked`] under the kernel's name `$name`.
macro_rules! step_size_methods {
    ($field:ident, $name:expr) => {
        fn step_size(&self) -> &$crate::kernel::StepSize {
            &self.$field
        }

        fn set_step_size(
            &mut self,
            step_size: $crate::kernel::StepSize,
        ) -> Result<(), $crate::error::McmcError> {
            self.$field = step_size.checked($name)?;
            Ok(())
        }
    };
}
pub(crate) use step_size_methods;

/// The `target_accept`, `inverse_mass` and `set_inverse_mass` methods of a [`Kernel`] impl with a
/// mass matrix (the fields `mass: InverseMass` and `metric: MetricCache`, the cache emptied when
/// the mass changes) and the constant `Self::TARGET_ACCEPT`.
macro_rules! mass_methods {
    () => {
        fn target_accept(&self) -> Option<f64> {
            Some(Self::TARGET_ACCEPT)
        }

        fn inverse_mass(&self) -> Option<&$crate::mass::InverseMass> {
            Some(&self.mass)
        }

        fn set_inverse_mass(
            &mut self,
            mass: $crate::mass::InverseMass,
        ) -> Result<(), $crate::error::McmcError> {
            self.mass = mass;
            self.metric = $crate::metric_cache::MetricCache::default();
            Ok(())
        }
    };
}
pub(crate) use mass_methods;

/// Broadcasts a per-chain vector `[N]` to `dims` (`[N, ...]`) by reshaping to `[N, 1, ..., 1]`.
pub(crate) fn per_chain<const D: usize, K>(v: Tensor<1, K>, dims: [usize; D]) -> Tensor<D, K>
where
    K: burn::tensor::kind::Basic,
{
    let mut shape = [1usize; D];
    shape[0] = dims[0];
    v.reshape(shape).expand(dims)
}

/// `sum` over every axis but the first: `[N, ...] -> [N]`.
pub(crate) fn sum_per_chain<const D: usize>(x: Tensor<D>) -> Tensor<1> {
    let dims = x.dims();
    let n = dims[0];
    let rest: usize = dims[1..].iter().product();
    x.reshape([n, rest]).sum_dim(1).reshape([n])
}

/// The Metropolis-Hastings decision from `log alpha` per chain: accept with probability
/// `min(1, exp(log alpha))`; a NaN `log alpha` has probability 0 and is always rejected.
pub(crate) fn metropolis(log_alpha: Tensor<1>, rng: &mut SeededRng) -> StepInfo {
    let [n] = log_alpha.dims();
    let device = log_alpha.device();
    let nan = log_alpha.clone().is_nan();
    let accept_prob = log_alpha.clamp_max(0.0).exp().mask_fill(nan, 0.0);
    let u = rng.uniform([n], 0.0, 1.0, &device);
    let accepted = u.lower(accept_prob.clone());
    StepInfo {
        accept_prob,
        accepted,
    }
}

/// Chain by chain, the proposal where `accepted`, else the current state.
pub(crate) fn select<const D: usize>(
    current: ChainState<D>,
    proposal: ChainState<D>,
    accepted: &Tensor<1, Bool>,
) -> ChainState<D> {
    let dims = current.position.dims();
    let mask = per_chain(accepted.clone(), dims);
    let grad = match (current.grad, proposal.grad) {
        (Some(g), Some(g2)) => Some(g.mask_where(mask.clone(), g2)),
        _ => None,
    };
    ChainState {
        position: current.position.mask_where(mask, proposal.position),
        energy: current.energy.mask_where(accepted.clone(), proposal.energy),
        grad,
    }
}
