//! Clipped stochastic-gradient Langevin dynamics, as image EBMs use it.
//!
//! The short-run sampler of the UvA deep-learning tutorial on EBMs (and of Du & Mordatch 2019):
//! one step is
//!
//! ```text
//! x <- clamp(x + sigma z, lo, hi),                 z ~ N(0, I)
//! g <- clamp(dE/dx(x), -c, c)
//! x <- clamp(x - eta g, lo, hi)
//! ```
//!
//! with a step size `eta` and a noise scale `sigma` chosen independently (the tutorial uses
//! `eta = 10`, `sigma = 0.005` on images in `[-1, 1]`). Unlike Langevin dynamics, `sigma` is not
//! `sqrt(2 eta)`, the gradient is clipped, positions are clamped to a box and nothing is
//! accepted or rejected: this is a **biased heuristic** that produces useful negatives for
//! training, not a sampler of `exp(-E)/Z`. Each step costs one `energy_and_grad` call (at the
//! noised point) plus one forward `energy` call at the new position, which is cached in the state
//! (the gradient is not: the next step needs it at a different, noised point). Where the state's
//! energy is only monitored (short-run negatives in training), [`Sgld::with_energy_at_noised_point`]
//! drops that forward call.

use burn::tensor::Tensor;
use ebm_core::{Energy, SeededRng};

use crate::error::McmcError;
use crate::kernel::{ChainState, Kernel, StepInfo, StepSize};

/// Clipped SGLD: noise, clamp, clipped gradient step, clamp. The adaptable step size is `eta`.
#[derive(Debug, Clone, PartialEq)]
pub struct Sgld {
    step_size: StepSize,
    noise_scale: f64,
    grad_clip: Option<f64>,
    domain: Option<(f64, f64)>,
    energy_at_noised_point: bool,
}

impl Sgld {
    /// A kernel with gradient step `eta`, noise scale `sigma >= 0`, no gradient clip and no
    /// domain.
    pub fn new(step_size: StepSize, noise_scale: f64) -> Result<Self, McmcError> {
        step_size.validate("sgld", None)?;
        if !(noise_scale.is_finite() && noise_scale >= 0.0) {
            return Err(McmcError::invalid(
                "sgld",
                "noise_scale",
                format!("must be finite and non-negative, got {noise_scale}"),
            ));
        }
        Ok(Self {
            step_size,
            noise_scale,
            grad_clip: None,
            domain: None,
            energy_at_noised_point: false,
        })
    }

    /// Clamps every gradient component to `[-c, c]` (`c > 0`).
    pub fn with_grad_clip(mut self, c: f64) -> Result<Self, McmcError> {
        if !(c.is_finite() && c > 0.0) {
            return Err(McmcError::invalid(
                "sgld",
                "grad_clip",
                format!("must be finite and positive, got {c}"),
            ));
        }
        self.grad_clip = Some(c);
        Ok(self)
    }

    /// Clamps positions to `[lo, hi]` after the noise and after the gradient step (`lo < hi`).
    pub fn with_domain(mut self, lo: f64, hi: f64) -> Result<Self, McmcError> {
        if !(lo.is_finite() && hi.is_finite() && lo < hi) {
            return Err(McmcError::invalid(
                "sgld",
                "domain",
                format!("need finite lo < hi, got [{lo}, {hi}]"),
            ));
        }
        self.domain = Some((lo, hi));
        Ok(self)
    }

    /// Saves one forward pass per step: the state's `energy` becomes `E` at the step's noised
    /// point `clamp(x + sigma z)` (a by-product of the gradient call) instead of `E` at the new
    /// position. It lags the position by the gradient step, so use it for monitoring only (the
    /// runner's NaN check still sees a NaN energy one step later at the latest).
    pub fn with_energy_at_noised_point(mut self) -> Self {
        self.energy_at_noised_point = true;
        self
    }

    fn clamp_domain<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        match self.domain {
            Some((lo, hi)) => x.clamp(lo, hi),
            None => x,
        }
    }
}

impl<const D: usize> Kernel<D> for Sgld {
    fn name(&self) -> &'static str {
        "sgld"
    }

    fn step<E: Energy<D> + ?Sized>(
        &self,
        energy: &E,
        state: ChainState<D>,
        rng: &mut SeededRng,
    ) -> (ChainState<D>, StepInfo) {
        let dims = state.position.dims();
        let device = state.position.device();
        let z: Tensor<D> = rng.normal(dims, &device);
        let x = self.clamp_domain(state.position + z.mul_scalar(self.noise_scale));
        let (e_noised, g) = energy.energy_and_grad(x.clone());
        let g = match self.grad_clip {
            Some(c) => g.clamp(-c, c),
            None => g,
        };
        let x = self.clamp_domain(x - self.step_size.scale(g, |h| h));
        let state = if self.energy_at_noised_point {
            ChainState {
                position: x,
                energy: e_noised,
                grad: None,
            }
        } else {
            ChainState::without_grad(energy, x)
        };
        (state, StepInfo::all_accepted(dims[0], &device))
    }

    fn init<E: Energy<D> + ?Sized>(&self, energy: &E, position: Tensor<D>) -> ChainState<D> {
        ChainState::without_grad(energy, position)
    }

    fn step_size(&self) -> &StepSize {
        &self.step_size
    }

    fn set_step_size(&mut self, step_size: StepSize) -> Result<(), McmcError> {
        step_size.validate("sgld", None)?;
        self.step_size = step_size;
        Ok(())
    }
}
