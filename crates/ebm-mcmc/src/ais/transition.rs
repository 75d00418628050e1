//! The annealer: the target, the base, the configuration and the transition kernel (built once
//! from its [`KernelSpec`](crate::KernelSpec)), and the transitions at one temperature.

use burn::tensor::Tensor;
use ebm_core::{Energy, SeededRng};

use super::base::AisBase;
use super::config::AisConfig;
use super::path::PathEnergy;
use crate::any::AnyKernel;
use crate::error::McmcError;
use crate::kernel::{ChainState, Kernel, StepSize};

/// One AIS run's fixed parts and its kernel (whose step size changes along the schedule).
pub(super) struct Annealer<'a, E: ?Sized> {
    /// The target energy `E_1`.
    pub(super) target: &'a E,
    /// The base `p_0`.
    pub(super) base: AisBase,
    /// The configuration (validated).
    pub(super) config: &'a AisConfig,
    kernel: AnyKernel,
}

impl<'a, E: ?Sized> Annealer<'a, E> {
    /// Validates `config` and `base` and builds the transition kernel.
    pub(super) fn new(
        target: &'a E,
        base: AisBase,
        config: &'a AisConfig,
    ) -> Result<Self, McmcError> {
        config.validate()?;
        base.validate()?;
        Ok(Self {
            target,
            base,
            config,
            kernel: config.transition.build()?,
        })
    }

    /// The acceptance the pilot aims at: the configured one, else the kernel's default.
    pub(super) fn goal<const D: usize>(&self) -> Result<f64, McmcError> {
        let configured = self.config.adapt.and_then(|a| a.target_accept);
        configured
            .or(Kernel::<D>::target_accept(&self.kernel))
            .ok_or_else(|| {
                McmcError::invalid("ais", "adapt.target_accept", "the kernel has no default")
            })
    }

    /// `steps` transitions of every chain at inverse temperature `beta` with step size `eps`
    /// from `state`: the new state and the sum over steps of the mean acceptance probability (a
    /// `[1]` tensor, not read back).
    pub(super) fn transitions<const D: usize>(
        &mut self,
        beta: f64,
        mut state: ChainState<D>,
        eps: f64,
        steps: usize,
        rng: &mut SeededRng,
    ) -> Result<(ChainState<D>, Tensor<1>), McmcError>
    where
        E: Energy<D>,
    {
        let path = PathEnergy {
            base: self.base,
            target: self.target,
            beta,
        };
        Kernel::<D>::set_step_size(&mut self.kernel, StepSize::Shared(eps))?;
        let mut acc = Tensor::<1>::zeros([1], &state.position.device());
        for _ in 0..steps {
            let (next, info) = self.kernel.step(&path, state, rng);
            state = next;
            acc = acc + info.accept_prob.mean();
        }
        Ok((state, acc))
    }
}
