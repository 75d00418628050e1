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
//! (the normalising constants of `q` cancel, also with per-chain step sizes). Everything is in log
//! space; a proposal whose `log alpha` is NaN is rejected. The energy and gradient of the current
//! state are cached, so a step costs exactly one `energy_and_grad` call (at the proposal). The
//! default adaptation target is 0.574 (Roberts and Rosenthal 1998).

use burn::tensor::Tensor;
use ebm_core::{Energy, SeededRng};

use crate::error::McmcError;
use crate::kernel::{
    ChainState, Kernel, StepInfo, StepSize, metropolis, select, step_size_methods, sum_per_chain,
};

/// MALA with step size `eps`: proposal `x - eps dE/dx + sqrt(2 eps) z`, exact MH correction.
#[derive(Debug, Clone, PartialEq)]
pub struct Mala {
    eps: StepSize,
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
        })
    }
}

impl<const D: usize> Kernel<D> for Mala {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn step<E: Energy<D> + ?Sized>(
        &self,
        energy: &E,
        state: ChainState<D>,
        rng: &mut SeededRng,
    ) -> (ChainState<D>, StepInfo) {
        let (state, grad) = state.with_grad(energy);
        let dims = state.position.dims();
        let z: Tensor<D> = rng.normal(dims, &state.position.device());
        let x = state.position.clone();
        let x_new = x.clone() - self.eps.scale(grad, |h| h)
            + self.eps.scale(z.clone(), |h| (2.0 * h).sqrt());
        let proposal = ChainState::new(energy, x_new.clone());
        let grad_new = proposal
            .grad
            .clone()
            .expect("ChainState::new sets the gradient");
        // log q(x' | x) = -|z|^2 / 2, log q(x | x') = -|x - x' + eps g'|^2 / (4 eps).
        let log_q_forward = sum_per_chain(z.powi_scalar(2)).mul_scalar(-0.5);
        let back = x - x_new + self.eps.scale(grad_new, |h| h);
        let log_q_backward = self
            .eps
            .scale(sum_per_chain(back.powi_scalar(2)), |h| -1.0 / (4.0 * h));
        let log_alpha =
            state.energy.clone() - proposal.energy.clone() + log_q_backward - log_q_forward;
        let info = metropolis(log_alpha, rng);
        (select(state, proposal, &info.accepted), info)
    }

    step_size_methods!(eps, Self::NAME);

    fn target_accept(&self) -> Option<f64> {
        Some(Self::TARGET_ACCEPT)
    }
}
