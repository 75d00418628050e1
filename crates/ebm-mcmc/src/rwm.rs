//! Random-walk Metropolis-Hastings with a Gaussian proposal.
//!
//! ```text
//! x' = x + sigma z,                z ~ N(0, I)
//! log alpha = E(x) - E(x')         (the proposal is symmetric)
//! ```
//!
//! Accept with probability `min(1, alpha)`. Gradient-free: each step costs one forward
//! `energy` call, and the state leaves the gradient empty. Optimal scaling for a product target in
//! high dimension gives an acceptance near 0.234 (Roberts, Gelman and Gilks 1997), the default
//! adaptation target.

use burn::tensor::Tensor;
use ebm_core::{Energy, SeededRng};

use crate::error::McmcError;
use crate::kernel::{
    ChainState, Kernel, StepInfo, StepSize, metropolis, select, step_size_methods,
};

/// Random-walk Metropolis-Hastings with proposal `x' = x + sigma z`; the step size is `sigma`.
#[derive(Debug, Clone, PartialEq)]
pub struct Rwm {
    sigma: StepSize,
}

impl Rwm {
    /// The kernel's name, `"rwm"`.
    pub const NAME: &'static str = "rwm";

    /// The default adaptation target, 0.234.
    pub const TARGET_ACCEPT: f64 = 0.234;

    /// A kernel with proposal scale `sigma` (finite, positive).
    pub fn new(sigma: StepSize) -> Result<Self, McmcError> {
        Ok(Self {
            sigma: sigma.checked(Self::NAME)?,
        })
    }
}

impl<const D: usize> Kernel<D> for Rwm {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn step<E: Energy<D> + ?Sized>(
        &self,
        energy: &E,
        state: ChainState<D>,
        rng: &mut SeededRng,
    ) -> (ChainState<D>, StepInfo) {
        let dims = state.position.dims();
        let z: Tensor<D> = rng.normal(dims, &state.position.device());
        let proposal = state.position.clone() + self.sigma.scale(z, |h| h);
        let proposal = ChainState::without_grad(energy, proposal);
        let log_alpha = state.energy.clone() - proposal.energy.clone();
        let info = metropolis(log_alpha, rng);
        let current = ChainState {
            grad: None,
            ..state
        };
        (select(current, proposal, &info.accepted), info)
    }

    fn init<E: Energy<D> + ?Sized>(&self, energy: &E, position: Tensor<D>) -> ChainState<D> {
        ChainState::without_grad(energy, position)
    }

    step_size_methods!(sigma, Self::NAME);

    fn target_accept(&self) -> Option<f64> {
        Some(Self::TARGET_ACCEPT)
    }
}
