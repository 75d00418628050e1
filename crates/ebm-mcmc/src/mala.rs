//! The Metropolis-adjusted Langevin algorithm (MALA).
//!
//! A Langevin proposal corrected by a Metropolis-Hastings test, so that `exp(-E)/Z` is exactly
//! invariant:
//!
//! ```text
//! x' = x - eps dE/dx(x) + sqrt(2 eps) z,                     z ~ N(0, I)
//! q(x' | x) = N(x'; x - eps dE/dx(x), 2 eps I)
//! log alpha = -E(x') + E(x) + log q(x | x') - log q(x' | x)
//!           = E(x) - E(x') - |x - x' + eps dE/dx(x')|^2 / (4 eps) + |z|^2 / 2
//! ```
//!
//! (the normalising constants of `q` cancel, also with per-chain step sizes).
//!
//! **Preconditioned** (an inverse mass `M^{-1} = L L^T` set by hand or by windowed warm-up,
//! [`crate::mass`]): the drift and the noise take the metric,
//!
//! ```text
//! x' = x - eps M^{-1} dE/dx(x) + sqrt(2 eps) L z
//! q(x' | x) = N(x'; x - eps M^{-1} dE/dx(x), 2 eps M^{-1})
//! log alpha = E(x) - E(x') - |x - x' + eps M^{-1} dE/dx(x')|^2_M / (4 eps) + |z|^2 / 2
//! ```
//!
//! with `|v|^2_M = v^T M v` (`|sqrt(2 eps) L z|^2_M / (4 eps) = |z|^2 / 2`; the determinants of
//! the two `q` cancel, as `M` is the same both ways). With the identity it is the plain step above,
//! draw for draw. Everything is in log
//! space; a proposal whose `log alpha` is NaN is rejected. The energy and gradient of the current
//! state are cached, so a step costs exactly one `energy_and_grad` call (at the proposal). The
//! default adaptation target is 0.574 (Roberts and Rosenthal 1998).
//!
//! On the CPU (`flex`), for an energy with a host path ([`Energy::host`]), the step runs on host
//! memory (`mala_host.rs`): the same random numbers and the same decisions, in one pass over
//! chunks of chains instead of some fifteen tensor operations.

use burn::tensor::{Device, Tensor, TensorData};
use ebm_core::{Energy, SeededRng};

use crate::error::McmcError;
use crate::kernel::{
    ChainState, Kernel, StepInfo, StepSize, mass_methods, metropolis, select, step_size_methods,
    sum_per_chain,
};
use crate::mass::InverseMass;
use crate::metric_cache::MetricCache;

/// MALA with step size `eps`: proposal `x - eps dE/dx + sqrt(2 eps) z`, exact MH correction.
#[derive(Debug, Clone, PartialEq)]
pub struct Mala {
    eps: StepSize,
    mass: InverseMass,
    /// The device tensors of `mass`, built once.
    metric: MetricCache,
}

impl Mala {
    /// The kernel's name, `"mala"`.
    pub const NAME: &'static str = "mala";

    /// The default adaptation target, 0.574.
    pub const TARGET_ACCEPT: f64 = 0.574;

    /// A kernel with step size `eps` (finite, positive).
    pub fn new(eps: StepSize) -> Result<Self, McmcError> {
        Ok(Self {
            eps: eps.checked(Self::NAME)?,
            mass: InverseMass::Identity,
            metric: MetricCache::default(),
        })
    }
}

impl Mala {
    /// The kernel with inverse mass `mass` (identity by default; [`crate::mass`]).
    pub fn with_inverse_mass(mut self, mass: InverseMass) -> Self {
        self.mass = mass;
        self.metric = MetricCache::default();
        self
    }
}

impl<const D: usize> Kernel<D> for Mala {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn step<E: Energy<D> + ?Sized>(
        &self,
        energy: &E,
        mut state: ChainState<D>,
        rng: &mut SeededRng,
    ) -> (ChainState<D>, StepInfo) {
        if state.position.device() == Device::flex()
            && let Some(host) = energy.host()
        {
            match crate::mala_host::step(&self.eps, &self.mass, host, state, rng) {
                Ok(next) => return next,
                Err(back) => state = *back,
            }
        }
        let (state, grad) = state.with_grad(energy);
        let dims = state.position.dims();
        let device = state.position.device();
        let metric = self.metric.get(&self.mass, &device);
        let z = Tensor::<D>::from_data(
            TensorData::new(rng.normal_vec_parallel(dims.iter().product()), dims),
            &device,
        );
        let x = state.position.clone();
        let x_new = x.clone() - self.eps.scale(metric.velocity(grad), |h| h)
            + self
                .eps
                .scale(metric.noise(z.clone()), |h| (2.0 * h).sqrt());
        let proposal = ChainState::new(energy, x_new.clone());
        let grad_new = proposal
            .grad
            .clone()
            .expect("ChainState::new sets the gradient");
        // log q(x' | x) = -|z|^2 / 2, log q(x | x') = -|x - x' + eps M^{-1} g'|^2_M / (4 eps).
        let log_q_forward = sum_per_chain(z.powi_scalar(2)).mul_scalar(-0.5);
        let back = x - x_new + self.eps.scale(metric.velocity(grad_new), |h| h);
        let log_q_backward = self
            .eps
            .scale(metric.mass_norm2(back), |h| -1.0 / (4.0 * h));
        let log_alpha =
            state.energy.clone() - proposal.energy.clone() + log_q_backward - log_q_forward;
        let info = metropolis(log_alpha, rng);
        (select(state, proposal, &info.accepted), info)
    }

    step_size_methods!(eps, Self::NAME);
    mass_methods!();
}
