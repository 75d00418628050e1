//! Reverse AIS from target draws (a stochastic upper bound) and the forward/reverse sandwich.

use burn::tensor::Tensor;
use ebm_core::{Energy, SeededRng};
use serde::{Deserialize, Serialize};

use super::base::AisBase;
use super::config::AisConfig;
use super::estimate::{AisEstimate, Direction};
use super::forward::ais;
use super::transition::Annealer;
use crate::error::McmcError;

/// Reverse AIS from draws `samples` (`[chains, ...]`) of the target back to `base`: a stochastic
/// upper bound on `log Z` when the draws are exact (approximate draws, such as long MCMC runs,
/// make it approximate). `config.chains` is ignored: there is one chain per draw.
pub fn reverse_ais<const D: usize, E: Energy<D> + ?Sized>(
    target: &E,
    base: AisBase,
    samples: Tensor<D>,
    config: &AisConfig,
    rng: &mut SeededRng,
) -> Result<AisEstimate, McmcError> {
    let dims = samples.dims();
    let config = AisConfig {
        chains: dims[0],
        ..config.clone()
    };
    let mut annealer = Annealer::new(target, base, &config)?;
    target.check_input(dims)?;
    let step_sizes = annealer.pilot(dims, rng, &samples.device())?;
    annealer.anneal(samples, step_sizes, Direction::Reverse, rng)
}

/// Forward and reverse AIS bracket `log Z`: `lower.log_z <~ log Z <~ upper.log_z`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sandwich {
    /// Forward AIS (a stochastic lower bound).
    pub lower: AisEstimate,
    /// Reverse AIS from target draws (a stochastic upper bound when the draws are exact).
    pub upper: AisEstimate,
}

impl Sandwich {
    /// Both directions with the same configuration: forward from the base, reverse from `samples`.
    pub fn estimate<const D: usize, E: Energy<D> + ?Sized>(
        target: &E,
        base: AisBase,
        samples: Tensor<D>,
        config: &AisConfig,
        rng: &mut SeededRng,
    ) -> Result<Self, McmcError> {
        let lower = ais(target, base, samples.dims(), config, rng, &samples.device())?;
        let upper = reverse_ais(target, base, samples, config, rng)?;
        Ok(Self { lower, upper })
    }

    /// The width `upper - lower` (an upper bound on the error of either, up to Monte-Carlo noise).
    pub fn gap(&self) -> f64 {
        self.upper.log_z - self.lower.log_z
    }
}
