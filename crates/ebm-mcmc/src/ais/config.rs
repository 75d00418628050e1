//! What an AIS run does: chains, schedule, transition kernel, pilot adaptation.

use serde::{Deserialize, Serialize};

use super::schedule::Temperatures;
use crate::error::McmcError;
use crate::spec::KernelSpec;

/// Step-size adaptation by a pilot run before the estimate.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AisAdapt {
    /// Chains of the pilot run (its own draws; they are not part of the estimate).
    pub pilot_chains: usize,
    /// Temperatures of the pilot's ladder, taken at evenly spaced positions of the schedule.
    pub ladder: usize,
    /// Transitions per ladder temperature, each followed by `log eps += (a - target) / 2`.
    pub steps: usize,
    /// The acceptance to aim at; `None` takes the kernel's default (0.574 MALA, 0.65 HMC, 0.234
    /// RWM).
    pub target_accept: Option<f64>,
}

impl Default for AisAdapt {
    /// 64 pilot chains, a ladder of 16 temperatures, 20 transitions at each.
    fn default() -> Self {
        Self {
            pilot_chains: 64,
            ladder: 16,
            steps: 20,
            target_accept: None,
        }
    }
}

/// What an AIS run does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AisConfig {
    /// Independent chains (importance samples) `M`.
    pub chains: usize,
    /// The schedule.
    pub temperatures: Temperatures,
    /// The kernel at every intermediate temperature: one with an accept/reject step (MALA, HMC or
    /// RWM), whose step size is the initial one when adapting.
    pub transition: KernelSpec,
    /// Kernel steps per intermediate temperature (`>= 1`).
    pub steps_per_temperature: usize,
    /// Pilot adaptation of the step size, or `None` to use the transition's step size throughout.
    pub adapt: Option<AisAdapt>,
}

impl AisConfig {
    /// Checks every setting; the error names the one at fault.
    pub fn validate(&self) -> Result<(), McmcError> {
        if self.chains < 2 {
            return Err(McmcError::invalid(
                "ais",
                "chains",
                format!("need >= 2 chains for a standard error, got {}", self.chains),
            ));
        }
        if self.steps_per_temperature == 0 {
            return Err(McmcError::invalid(
                "ais",
                "steps_per_temperature",
                "must be >= 1",
            ));
        }
        self.transition.validate()?;
        if !self.transition.is_adjusted() {
            return Err(McmcError::invalid(
                "ais",
                "transition",
                format!(
                    "{} has no accept/reject step, so it does not leave the path's distributions invariant and the weights are biased; use mala, hmc or rwm",
                    self.transition.name()
                ),
            ));
        }
        if let Some(a) = &self.adapt {
            if a.pilot_chains == 0 || a.ladder == 0 || a.steps == 0 {
                return Err(McmcError::invalid(
                    "ais",
                    "adapt",
                    "pilot chains, ladder and steps must all be >= 1",
                ));
            }
            if let Some(t) = a.target_accept
                && !(t > 0.0 && t < 1.0)
            {
                return Err(McmcError::invalid(
                    "ais",
                    "adapt.target_accept",
                    format!("must lie in (0, 1), got {t}"),
                ));
            }
        }
        Ok(())
    }
}
