//! Windowed warm-up as Stan and blackjax's `window_adaptation` do it: the step size by dual
//! averaging throughout, the inverse mass matrix from the draws of doubling "slow" windows.
//!
//! For `W` warm-up steps ([`Windows::stan`]): an initial buffer of 75 steps (step size only, the
//! chains travel to the typical set), slow windows of 25, 50, 100, ... steps (the last one
//! stretched to end where the terminal buffer begins, when the next doubled window would not fit
//! whole), and a terminal buffer of 50 steps (step size only, for the final mass). When
//! `75 + 25 + 50 > W` the buffers are 15% and 10% of `W` and one slow window fills the rest;
//! below 20 steps the mass is not adapted. At the end of every slow window the inverse mass is
//! estimated from that window's draws ([`MassEstimator`]: pooled over chains, Stan's
//! regularisation), set on the kernel, and dual averaging restarts from the window's averaged
//! step size, as blackjax's `window_adaptation` does (Stan restarts from the last iterate; both
//! set `mu = log(10 eps)`). In per-chain scope
//! ([`crate::AdaptScope::PerChain`]) every chain gets its own step size and its own diagonal
//! from its own draws (`n` = window length), as blackjax's `window_adaptation` vmapped over
//! chains does; a dense mass is always pooled. Only warm-up draws enter the estimate, and
//! the mass is fixed for sampling, so the sampling kernel is a fixed Markov kernel.

use burn::tensor::Tensor;

use crate::adaptation::StepSizeAdapter;
use crate::error::McmcError;
use crate::kernel::{Kernel, StepSize};
use crate::mass::{MassAdapt, MassEstimator};
use crate::runner::AdaptConfig;

/// The slow windows of a warm-up, as `[start, end)` step ranges (0-based: the draw after step
/// `s`, 1-based, belongs to the window with `start < s <= end`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Windows {
    /// The slow windows in order.
    pub slow: Vec<(usize, usize)>,
}

impl Windows {
    /// Stan's schedule for `warmup` steps (module docs).
    pub fn stan(warmup: usize) -> Self {
        if warmup < 20 {
            return Windows { slow: Vec::new() };
        }
        let (mut init, mut term, mut base) = (75, 50, 25);
        if init + base + term > warmup {
            init = warmup * 15 / 100;
            term = warmup / 10;
            base = warmup - init - term;
        }
        let last = warmup - term;
        let mut slow = Vec::new();
        let (mut start, mut size) = (init, base);
        while start < last {
            let mut end = start + size;
            if end + 2 * size > last {
                end = last;
            }
            slow.push((start, end));
            start = end;
            size *= 2;
        }
        Windows { slow }
    }
}

/// The mass estimator of `adapt`: pooled over chains, or per chain (diagonal) in per-chain
/// scope.
fn estimator(adapt: &AdaptConfig) -> MassEstimator {
    let e = MassEstimator::new(adapt.mass);
    match adapt.scope {
        crate::adaptation::AdaptScope::PerChain => e.per_chain(),
        crate::adaptation::AdaptScope::Shared => e,
    }
}

/// The adaptation state of one warm-up: the step size, and the mass matrix by windows.
pub(crate) struct WarmUp {
    steps: usize,
    scope: crate::adaptation::AdaptScope,
    target: f64,
    chains: usize,
    step_size: StepSizeAdapter,
    windows: Windows,
    estimator: MassEstimator,
    kind: MassAdapt,
}

impl WarmUp {
    /// The adaptation of `adapt` over `steps` warm-up steps of `kernel` on `chains` chains.
    pub(crate) fn new<const D: usize, K: Kernel<D>>(
        adapt: &AdaptConfig,
        kernel: &K,
        chains: usize,
        steps: usize,
    ) -> Result<Self, McmcError> {
        let target = adapt.target_accept.or(kernel.target_accept()).ok_or_else(|| {
            McmcError::invalid(
                kernel.name(),
                "adapt",
                "this kernel has no accept/reject step to adapt to; give a target or no adaptation",
            )
        })?;
        if adapt.mass != MassAdapt::None && kernel.inverse_mass().is_none() {
            return Err(McmcError::invalid(
                kernel.name(),
                "adapt",
                "this kernel has no mass matrix to adapt",
            ));
        }
        let windows = match adapt.mass {
            MassAdapt::None => Windows { slow: Vec::new() },
            _ => Windows::stan(steps),
        };
        Ok(Self {
            steps,
            scope: adapt.scope,
            target,
            chains,
            step_size: StepSizeAdapter::new(adapt.scope, kernel.step_size(), chains, target)?,
            windows,
            estimator: estimator(adapt),
            kind: adapt.mass,
        })
    }

    /// After warm-up step `step` (1-based) with these acceptance probabilities and positions:
    /// the step size for the next step, and, at the end of a slow window, the new inverse mass
    /// with dual averaging restarted.
    pub(crate) fn after_step<const D: usize, K: Kernel<D>>(
        &mut self,
        step: usize,
        accept: &[f64],
        position: &Tensor<D>,
        kernel: &mut K,
    ) -> Result<(), McmcError> {
        let iterate = self.step_size.update(accept);
        let next: StepSize = if step == self.steps {
            self.step_size.final_step_size()
        } else {
            iterate
        };
        kernel.set_step_size(next)?;
        let window = self
            .windows
            .slow
            .iter()
            .find(|(start, end)| *start < step && step <= *end)
            .copied();
        let Some((_, end)) = window else {
            return Ok(());
        };
        self.estimator.add(position.clone());
        if step == end {
            if let Some(mass) = self.estimator.estimate()? {
                kernel.set_inverse_mass(mass)?;
            }
            self.estimator = estimator(&AdaptConfig {
                scope: self.scope,
                target_accept: None,
                mass: self.kind,
            });
            let averaged = self.step_size.final_step_size();
            kernel.set_step_size(averaged.clone())?;
            self.step_size = StepSizeAdapter::new(self.scope, &averaged, self.chains, self.target)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stan_windows() {
        assert_eq!(
            Windows::stan(1000).slow,
            vec![(75, 100), (100, 150), (150, 250), (250, 450), (450, 950)]
        );
        assert_eq!(
            Windows::stan(500).slow,
            vec![(75, 100), (100, 150), (150, 250), (250, 450)]
        );
        assert_eq!(Windows::stan(100).slow, vec![(15, 90)]);
        assert!(Windows::stan(19).slow.is_empty());
    }
}
