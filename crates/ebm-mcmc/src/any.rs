//! [`AnyKernel`]: every kernel of this crate behind one type, chosen at run time.
//!
//! Built by [`KernelSpec::build`](crate::KernelSpec::build) (or `From` a concrete kernel), it
//! implements [`Kernel`] by passing every call to the kernel inside, so a caller that reads its
//! sampler from a config or the command line writes no `match` of its own. Dispatch is a plain
//! `match` per call: no boxing, and the same arithmetic and random draws as the kernel itself.

use burn::tensor::Tensor;
use ebm_core::{Energy, SeededRng};

use crate::error::McmcError;
use crate::hmc::Hmc;
use crate::kernel::{ChainState, Kernel, StepInfo, StepSize, TrajectoryInfo};
use crate::mala::Mala;
use crate::mass::InverseMass;
use crate::nuts::Nuts;
use crate::rwm::Rwm;
use crate::sgld::Sgld;
use crate::ula::Ula;

/// One of the kernels of this crate.
#[derive(Debug, Clone, PartialEq)]
pub enum AnyKernel {
    /// Random-walk Metropolis.
    Rwm(Rwm),
    /// Unadjusted Langevin.
    Ula(Ula),
    /// Clipped SGLD.
    Sgld(Sgld),
    /// Metropolis-adjusted Langevin.
    Mala(Mala),
    /// Hamiltonian Monte Carlo.
    Hmc(Hmc),
    /// The No-U-Turn Sampler.
    Nuts(Nuts),
}

/// `$body` with `$k` bound to the kernel inside `$any`, whichever it is.
macro_rules! dispatch {
    ($any:expr, $k:ident => $body:expr) => {
        match $any {
            AnyKernel::Rwm($k) => $body,
            AnyKernel::Ula($k) => $body,
            AnyKernel::Sgld($k) => $body,
            AnyKernel::Mala($k) => $body,
            AnyKernel::Hmc($k) => $body,
            AnyKernel::Nuts($k) => $body,
        }
    };
}

macro_rules! from_kernel {
    ($($variant:ident),*) => {$(
        impl From<$variant> for AnyKernel {
            fn from(kernel: $variant) -> Self {
                AnyKernel::$variant(kernel)
            }
        }
    )*};
}
from_kernel!(Rwm, Ula, Sgld, Mala, Hmc, Nuts);

impl AnyKernel {
    /// The kernel for callers that read positions only (negatives in training, restoration):
    /// SGLD then keeps the energy at its noised point, a by-product of its gradient call, and
    /// saves one forward pass per step ([`Sgld::with_energy_at_noised_point`]); every other
    /// kernel comes back unchanged. Positions are the same either way.
    pub fn for_positions_only(self) -> Self {
        match self {
            AnyKernel::Sgld(k) => AnyKernel::Sgld(k.with_energy_at_noised_point()),
            other => other,
        }
    }
}

impl<const D: usize> Kernel<D> for AnyKernel {
    fn name(&self) -> &'static str {
        dispatch!(self, k => Kernel::<D>::name(k))
    }

    fn step<E: Energy<D> + ?Sized>(
        &self,
        energy: &E,
        state: ChainState<D>,
        rng: &mut SeededRng,
    ) -> (ChainState<D>, StepInfo) {
        dispatch!(self, k => k.step(energy, state, rng))
    }

    fn step_traced<E: Energy<D> + ?Sized>(
        &self,
        energy: &E,
        state: ChainState<D>,
        rng: &mut SeededRng,
    ) -> (ChainState<D>, StepInfo, Option<TrajectoryInfo>) {
        dispatch!(self, k => k.step_traced(energy, state, rng))
    }

    fn init<E: Energy<D> + ?Sized>(&self, energy: &E, position: Tensor<D>) -> ChainState<D> {
        dispatch!(self, k => k.init(energy, position))
    }

    fn step_size(&self) -> &StepSize {
        dispatch!(self, k => Kernel::<D>::step_size(k))
    }

    fn set_step_size(&mut self, step_size: StepSize) -> Result<(), McmcError> {
        dispatch!(self, k => Kernel::<D>::set_step_size(k, step_size))
    }

    fn target_accept(&self) -> Option<f64> {
        dispatch!(self, k => Kernel::<D>::target_accept(k))
    }

    fn inverse_mass(&self) -> Option<&InverseMass> {
        dispatch!(self, k => Kernel::<D>::inverse_mass(k))
    }

    fn set_inverse_mass(&mut self, mass: InverseMass) -> Result<(), McmcError> {
        dispatch!(self, k => Kernel::<D>::set_inverse_mass(k, mass))
    }
}
