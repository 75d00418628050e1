//! The unadjusted Langevin algorithm (ULA).
//!
//! ```text
//! x' = x - eps dE/dx(x) + sqrt(2 eps) z,     z ~ N(0, I)
//! ```
//!
//! the Euler-Maruyama discretisation of the Langevin diffusion `dx = -grad E dt + sqrt(2) dW`,
//! always accepted. It is biased: its stationary law is not `exp(-E)/Z`. For a Gaussian
//! `N(0, s^2)` the chain is the AR(1) `x' = (1 - eps/s^2) x + sqrt(2 eps) z`, whose stationary
//! variance is `s^2 / (1 - eps / (2 s^2))` (stable for `eps < 2 s^2`). Use [`crate::mala::Mala`]
//! for an exact sampler. One `energy_and_grad` call per step.

use burn::tensor::Tensor;
use ebm_core::{Energy, SeededRng};

use crate::error::McmcError;
use crate::kernel::{ChainState, Kernel, StepInfo, StepSize, step_size_methods};

/// Unadjusted Langevin: `x' = x - eps dE/dx + sqrt(2 eps) z`; the step size is `eps`.
#[derive(Debug, Clone, PartialEq)]
pub struct Ula {
    eps: StepSize,
}

impl Ula {
    /// The kernel's name, `"ula"`.
    pub const NAME: &'static str = "ula";

    /// A kernel with step size `eps` (finite, positive).
    pub fn new(eps: StepSize) -> Result<Self, McmcError> {
        Ok(Self {
            eps: eps.checked(Self::NAME)?,
        })
    }
}

impl<const D: usize> Kernel<D> for Ula {
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
        let device = state.position.device();
        let z: Tensor<D> = rng.normal(dims, &device);
        let x =
            state.position - self.eps.scale(grad, |h| h) + self.eps.scale(z, |h| (2.0 * h).sqrt());
        (
            ChainState::new(energy, x),
            StepInfo::all_accepted(dims[0], &device),
        )
    }

    step_size_methods!(eps, Self::NAME);
}
