//! Hamiltonian Monte Carlo with a leapfrog integrator, a mass matrix and a jittered length.
//!
//! With momentum `p ~ N(0, M)` and Hamiltonian `H(x, p) = E(x) + p^T M^{-1} p / 2` (the inverse
//! mass `M^{-1}` is the identity unless set, [`crate::mass`]), one step runs `L` leapfrog steps
//! of size `eps`:
//!
//! ```text
//! p <- p - (eps/2) dE/dx(x)
//! repeat L times:  x <- x + eps M^{-1} p;  p <- p - eps dE/dx(x)   (the last momentum update is a half step)
//! log alpha = H(x, p) - H(x', p')
//! ```
//!
//! **Jitter.** A fixed trajectory length `L eps` resonates with a coordinate whose period it
//! matches (that coordinate then barely moves). With `jitter = j > 0` every step draws its `L`
//! uniformly from the integers in `[max(1, round(L (1 - j))), round(L (1 + j))]`, one draw shared
//! by all chains (so the batch still runs one trajectory length). The draw does not depend on the
//! state, so each step is still a reversible Metropolis kernel and their mixture leaves the target
//! invariant; with `j = 0` no draw is made and the step is the unjittered one.
//!
//! and accepts `x'` with probability `min(1, alpha)` (the final momentum flip that makes the
//! proposal an involution does not change `H` and is left out). Leapfrog is volume-preserving and
//! reversible, and its energy error is `O(eps^2)`, so the acceptance stays high on smooth
//! targets. A NaN `log alpha` (a diverging trajectory) is rejected. The cached gradient of the
//! current state makes a step cost `L` `energy_and_grad` calls. The default adaptation target is
//! 0.65 (Beskos et al. 2013 give 0.651 as optimal in high dimension).
//!
//! [`Kernel::step_traced`] also returns each chain's energy error `Delta H = H(x', p') - H(x, p)`
//! and flags the trajectory *divergent* when `|Delta H|` exceeds a threshold (1000 by default,
//! as in Stan; [`Hmc::with_divergence_threshold`]) or is not finite ([`TrajectoryInfo`]). A
//! divergence is a diagnosis, not a different decision: the Metropolis test is the same.

use burn::tensor::Tensor;
use ebm_core::{Energy, SeededRng};

use crate::error::McmcError;
use crate::kernel::{
    ChainState, Kernel, StepInfo, StepSize, TrajectoryInfo, mass_methods, metropolis, select,
    step_size_methods, sum_per_chain,
};
use crate::mass::{InverseMass, Metric};
use crate::metric_cache::MetricCache;

/// Where a leapfrog trajectory ends: position, momentum, and the energy and gradient there.
#[derive(Debug, Clone)]
pub struct LeapfrogEnd<const D: usize> {
    /// Final positions.
    pub position: Tensor<D>,
    /// Final momenta.
    pub momentum: Tensor<D>,
    /// `E` at the final positions, `[N]`.
    pub energy: Tensor<1>,
    /// `dE/dx` at the final positions.
    pub grad: Tensor<D>,
}

/// `n_steps >= 1` leapfrog steps of size `eps` (identity mass) from `(position, momentum)` where
/// the gradient is `grad`; costs `n_steps` `energy_and_grad` calls. Zero steps is an
/// [`McmcError::InvalidParameter`] (there would be no end point to evaluate).
pub fn leapfrog<const D: usize, E: Energy<D> + ?Sized>(
    energy: &E,
    position: Tensor<D>,
    momentum: Tensor<D>,
    grad: Tensor<D>,
    eps: &StepSize,
    n_steps: usize,
) -> Result<LeapfrogEnd<D>, McmcError> {
    check_leapfrog(n_steps)?;
    Ok(integrate(
        energy,
        &Metric::Identity,
        (position, momentum, grad),
        eps,
        n_steps,
    ))
}

/// `n_steps >= 1` leapfrog steps with inverse mass `metric` (checked by the caller).
fn integrate<const D: usize, E: Energy<D> + ?Sized>(
    energy: &E,
    metric: &Metric,
    (position, momentum, grad): (Tensor<D>, Tensor<D>, Tensor<D>),
    eps: &StepSize,
    n_steps: usize,
) -> LeapfrogEnd<D> {
    let mut x = position;
    let mut p = momentum - eps.scale(grad, |h| 0.5 * h);
    let mut end = None;
    for i in 0..n_steps {
        x = x + eps.scale(metric.velocity(p.clone()), |h| h);
        let (e, g) = energy.energy_and_grad(x.clone());
        let factor = if i + 1 == n_steps { 0.5 } else { 1.0 };
        p = p - eps.scale(g.clone(), |h| factor * h);
        end = Some((e, g));
    }
    let Some((energy, grad)) = end else {
        unreachable!("callers check n_steps >= 1")
    };
    LeapfrogEnd {
        position: x,
        momentum: p,
        energy,
        grad,
    }
}

/// The number of leapfrog steps must be at least 1.
fn check_leapfrog(n_steps: usize) -> Result<(), McmcError> {
    if n_steps == 0 {
        return Err(McmcError::invalid(
            Hmc::NAME,
            "leapfrog",
            "must be at least 1, got 0",
        ));
    }
    Ok(())
}

/// The Hamiltonian `H = E + |p|^2 / 2` per chain.
pub fn hamiltonian<const D: usize>(energy: Tensor<1>, momentum: Tensor<D>) -> Tensor<1> {
    energy + sum_per_chain(momentum.powi_scalar(2)).mul_scalar(0.5)
}

/// HMC with `L` leapfrog steps of size `eps` (the adaptable step size), an inverse mass
/// (identity unless set) and an optional jitter of `L`.
#[derive(Debug, Clone, PartialEq)]
pub struct Hmc {
    eps: StepSize,
    n_leapfrog: usize,
    jitter: f64,
    mass: InverseMass,
    /// The device tensors of `mass`, built once.
    metric: MetricCache,
    divergence_threshold: f64,
}

impl Hmc {
    /// The kernel's name, `"hmc"`.
    pub const NAME: &'static str = "hmc";

    /// The default adaptation target, 0.65.
    pub const TARGET_ACCEPT: f64 = 0.65;

    /// A kernel with step size `eps` (finite, positive) and `n_leapfrog >= 1` steps; divergences
    /// at `|Delta H| > 1000` ([`TrajectoryInfo::DIVERGENCE_THRESHOLD`]).
    pub fn new(eps: StepSize, n_leapfrog: usize) -> Result<Self, McmcError> {
        check_leapfrog(n_leapfrog)?;
        Ok(Self {
            eps: eps.checked(Self::NAME)?,
            n_leapfrog,
            jitter: 0.0,
            mass: InverseMass::Identity,
            metric: MetricCache::default(),
            divergence_threshold: TrajectoryInfo::DIVERGENCE_THRESHOLD,
        })
    }

    /// Jitters the number of leapfrog steps by the fraction `jitter` in `[0, 1]` (module docs).
    pub fn with_jitter(mut self, jitter: f64) -> Result<Self, McmcError> {
        if !(0.0..=1.0).contains(&jitter) {
            return Err(McmcError::invalid(
                Self::NAME,
                "jitter",
                format!("must lie in [0, 1], got {jitter}"),
            ));
        }
        self.jitter = jitter;
        Ok(self)
    }

    /// The kernel with inverse mass `mass` (identity by default; [`crate::mass`]).
    pub fn with_inverse_mass(mut self, mass: InverseMass) -> Self {
        self.mass = mass;
        self.metric = MetricCache::default();
        self
    }

    /// The jitter fraction of `L`.
    pub fn jitter(&self) -> f64 {
        self.jitter
    }

    /// The number of leapfrog steps of one transition: `L`, or a jittered draw (module docs).
    fn draw_steps(&self, rng: &mut SeededRng) -> usize {
        if self.jitter == 0.0 {
            return self.n_leapfrog;
        }
        let l = self.n_leapfrog as f64;
        let lo = ((l * (1.0 - self.jitter)).round() as usize).max(1);
        let hi = ((l * (1.0 + self.jitter)).round() as usize).max(lo);
        lo + (rng.next_u64() % (hi - lo + 1) as u64) as usize
    }

    /// Flags a trajectory divergent when `|Delta H| > threshold` (finite, positive).
    pub fn with_divergence_threshold(mut self, threshold: f64) -> Result<Self, McmcError> {
        if !(threshold.is_finite() && threshold > 0.0) {
            return Err(McmcError::invalid(
                Self::NAME,
                "divergence_threshold",
                format!("must be finite and positive, got {threshold}"),
            ));
        }
        self.divergence_threshold = threshold;
        Ok(self)
    }

    /// The number of leapfrog steps `L`.
    pub fn n_leapfrog(&self) -> usize {
        self.n_leapfrog
    }

    /// The divergence threshold on `|Delta H|`.
    pub fn divergence_threshold(&self) -> f64 {
        self.divergence_threshold
    }
}

impl<const D: usize> Kernel<D> for Hmc {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn step<E: Energy<D> + ?Sized>(
        &self,
        energy: &E,
        state: ChainState<D>,
        rng: &mut SeededRng,
    ) -> (ChainState<D>, StepInfo) {
        let (state, info, _) = self.step_traced(energy, state, rng);
        (state, info)
    }

    fn step_traced<E: Energy<D> + ?Sized>(
        &self,
        energy: &E,
        state: ChainState<D>,
        rng: &mut SeededRng,
    ) -> (ChainState<D>, StepInfo, Option<TrajectoryInfo>) {
        let (state, grad) = state.with_grad(energy);
        let n_steps = self.draw_steps(rng);
        let device = state.position.device();
        let metric = self.metric.get(&self.mass, &device);
        let z: Tensor<D> = rng.normal(state.position.dims(), &device);
        let p = metric.momentum(z);
        let h0 = state.energy.clone() + metric.kinetic(p.clone());
        let start = (state.position.clone(), p, grad);
        let end = integrate(energy, &metric, start, &self.eps, n_steps);
        let h1 = end.energy.clone() + metric.kinetic(end.momentum);
        let info = metropolis(h0.clone() - h1.clone(), rng);
        let mut trajectory = TrajectoryInfo::from_energy_error(h1 - h0, self.divergence_threshold);
        trajectory.num_steps = Some(Tensor::full([state.num_chains()], n_steps as f32, &device));
        let proposal = ChainState {
            position: end.position,
            energy: end.energy,
            grad: Some(end.grad),
        };
        (
            select(state, proposal, &info.accepted),
            info,
            Some(trajectory),
        )
    }

    step_size_methods!(eps, Self::NAME);
    mass_methods!();
}
