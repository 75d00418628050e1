//! The AIS driver: weights and transitions along the schedule, forward (from the base) or in
//! reverse (from target draws), and forward AIS itself.

use burn::tensor::{Device, Tensor};
use ebm_core::{Energy, SeededRng};

use super::base::AisBase;
use super::config::AisConfig;
use super::estimate::{AisEstimate, Direction, host};
use super::path::state_at;
use super::pilot::interpolate;
use super::transition::Annealer;
use crate::error::McmcError;

/// Forward AIS from `base` to `target` over `[chains, event_dims...]` positions on `device`:
/// `log Z` of the target (a stochastic lower bound), its standard error and the weights' ESS.
///
/// Draws all randomness from `rng`. Fails on an invalid configuration, an event shape the
/// target rejects, or NaN log weights.
pub fn ais<const D: usize, E: Energy<D> + ?Sized>(
    target: &E,
    base: AisBase,
    event_dims: [usize; D],
    config: &AisConfig,
    rng: &mut SeededRng,
    device: &Device,
) -> Result<AisEstimate, McmcError> {
    let mut annealer = Annealer::new(target, base, config)?;
    let mut dims = event_dims;
    dims[0] = config.chains;
    target.check_input(dims)?;
    let step_sizes = annealer.pilot(dims, rng, device)?;
    let x = base.sample(dims, rng, device);
    annealer.anneal(x, step_sizes, Direction::Forward, rng)
}

impl<E: ?Sized> Annealer<'_, E> {
    /// One AIS run from `start` in `direction`, with the pilot's `step_sizes` (or the
    /// transition's own step size when empty): every chain's log weight, then the estimate.
    pub(super) fn anneal<const D: usize>(
        &mut self,
        start: Tensor<D>,
        step_sizes: Vec<(f64, f64)>,
        direction: Direction,
        rng: &mut SeededRng,
    ) -> Result<AisEstimate, McmcError>
    where
        E: Energy<D>,
    {
        let config = self.config;
        let betas = config.temperatures.betas();
        let steps_per_temperature = self.config.steps_per_temperature;
        let k = betas.len() - 1;
        let dims = start.dims();
        let device = start.device();
        let mut x = start.inner();
        let mut lw = Tensor::<1>::zeros([dims[0]], &device);
        let mut acc = Tensor::<1>::zeros([1], &device);
        let fallback = self.config.transition.step_size();
        // Forward: weight at beta_k then move at beta_k (k < K). Reverse: weight from beta_k down
        // to beta_{k-1}, then move at beta_{k-1} (k > 1).
        for step in 1..=k {
            let (kw, kb) = match direction {
                Direction::Forward => (step, step),
                Direction::Reverse => (k + 1 - step, k - step),
            };
            let move_beta = betas[kb];
            let (state, diff) = state_at(self.base, self.target, move_beta, x);
            let delta = betas[kw] - betas[kw - 1];
            lw = match direction {
                Direction::Forward => lw - diff * delta,
                Direction::Reverse => lw + diff * delta,
            };
            if step == k {
                break;
            }
            let eps = interpolate(&step_sizes, move_beta, fallback);
            let (next, a) = self.transitions(move_beta, state, eps, steps_per_temperature, rng)?;
            acc = acc + a;
            x = next.position;
        }
        let transitions = (k.saturating_sub(1) * steps_per_temperature).max(1);
        let event: usize = dims[1..].iter().product();
        let mut estimate =
            AisEstimate::from_log_weights(host(lw)?, self.base.log_z(event), direction, k)?;
        estimate.mean_accept = host(acc)?[0] / transitions as f64;
        estimate.step_sizes = step_sizes;
        Ok(estimate)
    }
}
