//! Typed errors of `ebm-mcmc`.

use ebm_core::EnergyError;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// The phase of a run in which something went wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Phase {
    /// Evaluating the energy at the initial positions.
    Init,
    /// Warm-up (adaptation) steps.
    WarmUp,
    /// Sampling steps (draws kept or thinned away).
    Sampling,
}

impl std::fmt::Display for Phase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Phase::Init => "initialisation",
            Phase::WarmUp => "warm-up",
            Phase::Sampling => "sampling",
        })
    }
}

/// Everything that can go wrong in `ebm-mcmc`.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum McmcError {
    /// The energy of some chains became NaN or infinite: the run is stopped.
    #[error(
        "{phase} step {step}: the energy is not finite (NaN or infinite) in {chains} of {total} chains (first at chain {first_chain})"
    )]
    NonFinite {
        /// The phase of the run.
        phase: Phase,
        /// The step within that phase (0-based; 0 for initialisation).
        step: usize,
        /// How many chains have a non-finite energy.
        chains: usize,
        /// The total number of chains.
        total: usize,
        /// The index of the first affected chain.
        first_chain: usize,
    },
    /// A sampler or runner parameter is invalid (a non-positive step size, a per-chain vector of
    /// the wrong length, zero thinning, ...).
    #[error("{what}: invalid parameter `{parameter}`: {reason}")]
    InvalidParameter {
        /// The sampler or component being configured.
        what: String,
        /// The parameter at fault.
        parameter: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Reading tensors back to the host failed.
    #[error("reading back to the host failed: {0}")]
    Readback(String),
    /// An error from the energy.
    #[error(transparent)]
    Energy(#[from] EnergyError),
}

impl McmcError {
    /// Shorthand for [`McmcError::InvalidParameter`].
    pub fn invalid(what: &str, parameter: &str, reason: impl Into<String>) -> Self {
        McmcError::InvalidParameter {
            what: what.to_string(),
            parameter: parameter.to_string(),
            reason: reason.into(),
        }
    }
}
