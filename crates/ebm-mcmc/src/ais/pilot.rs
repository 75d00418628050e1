//! Step sizes along the schedule: a pilot run adapts them at a ladder of temperatures
//! (Robbins-Monro on the acceptance probability), and the main run interpolates between them.

use burn::tensor::Device;
use ebm_core::{Energy, SeededRng};

use super::estimate::host;
use super::path::state_at;
use super::transition::Annealer;
use crate::error::McmcError;

impl<E: ?Sized> Annealer<'_, E> {
    /// The pilot run on `dims` positions (its own `pilot_chains` chains): step sizes `(beta,
    /// eps)` at a ladder of temperatures, adapted toward the target acceptance; empty without
    /// `config.adapt`.
    pub(super) fn pilot<const D: usize>(
        &mut self,
        dims: [usize; D],
        rng: &mut SeededRng,
        device: &Device,
    ) -> Result<Vec<(f64, f64)>, McmcError>
    where
        E: Energy<D>,
    {
        let Some(adapt) = self.config.adapt else {
            return Ok(Vec::new());
        };
        let goal = self.goal::<D>()?;
        let config = self.config;
        let betas = config.temperatures.betas();
        let k = betas.len() - 1;
        let mut pdims = dims;
        pdims[0] = adapt.pilot_chains;
        let mut x = self.base.sample(pdims, rng, device);
        let mut log_eps = self.config.transition.step_size().ln();
        let mut ladder = Vec::with_capacity(adapt.ladder);
        for l in 1..=adapt.ladder {
            let beta = betas[(l * k / adapt.ladder).clamp(1, k)];
            let (mut state, _) = state_at(self.base, self.target, beta, x);
            let mut kept = Vec::new();
            for s in 0..adapt.steps {
                let (next, acc) = self.transitions(beta, state, log_eps.exp(), 1, rng)?;
                state = next;
                let a = host(acc)?[0];
                let a = if a.is_finite() { a } else { 0.0 };
                log_eps += 0.5 * (a - goal);
                if s >= adapt.steps / 2 {
                    kept.push(log_eps);
                }
            }
            let avg = kept.iter().sum::<f64>() / kept.len().max(1) as f64;
            ladder.push((beta, avg.exp()));
            x = state.position;
        }
        Ok(ladder)
    }
}

/// The step size at `beta`, interpolated linearly in `log eps` between the ladder points
/// (`fallback` for an empty ladder).
pub(super) fn interpolate(ladder: &[(f64, f64)], beta: f64, fallback: f64) -> f64 {
    match ladder {
        [] => fallback,
        [(_, e)] => *e,
        _ => {
            if beta <= ladder[0].0 {
                return ladder[0].1;
            }
            for w in ladder.windows(2) {
                let ((b0, e0), (b1, e1)) = (w[0], w[1]);
                if beta <= b1 {
                    let t = if b1 > b0 {
                        (beta - b0) / (b1 - b0)
                    } else {
                        1.0
                    };
                    return (e0.ln() + t * (e1.ln() - e0.ln())).exp();
                }
            }
            ladder[ladder.len() - 1].1
        }
    }
}
