//! Typed errors of `ebm-core`.

use thiserror::Error;

/// Everything that can go wrong in `ebm-core`: each variant names the thing at fault.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum EnergyError {
    /// An input batch does not have the shape an energy expects.
    #[error("{energy}: input of shape {got:?} does not match the expected shape {expected}")]
    Shape {
        /// The energy (or operation) that rejected the input.
        energy: String,
        /// The expected shape, in words (for example `[N, 2]`).
        expected: String,
        /// The shape that was given.
        got: Vec<usize>,
    },
    /// A parameter of an energy is invalid (a covariance that is not positive definite, a
    /// non-positive temperature, weights that do not sum to a positive number, ...).
    #[error("{energy}: invalid parameter `{parameter}`: {reason}")]
    InvalidParameter {
        /// The energy being built.
        energy: String,
        /// The parameter at fault.
        parameter: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An energy evaluated to NaN or infinity.
    #[error("{what}: energy is not finite ({value}) at item {index} of the batch")]
    NonFinite {
        /// Where it was evaluated.
        what: String,
        /// Index of the first offending item in the batch.
        index: usize,
        /// The value found.
        value: f64,
    },
    /// A tensor could not be read back to the host (a backend or conversion failure).
    #[error("{what}: could not read the tensor back to the host: {reason}")]
    ReadBack {
        /// What was being read.
        what: String,
        /// The backend's error, in words (burn's read errors are neither `Clone` nor
        /// `PartialEq`, which this enum is).
        reason: String,
    },
    /// A quadrature request is malformed (bad box, too few points, wrong dimension).
    #[error("quadrature: {0}")]
    Quadrature(String),
}

impl EnergyError {
    /// A [`EnergyError::ReadBack`] for `what`, keeping the cause's message.
    pub fn read_back(what: &str, cause: impl std::fmt::Display) -> Self {
        Self::ReadBack {
            what: what.to_string(),
            reason: cause.to_string(),
        }
    }
}

/// A device word could not be turned into a device.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum DeviceError {
    /// The word is not a known backend.
    #[error("unknown device `{0}`: expected one of `cpu`, `wgpu`, `vulkan`, `cuda`")]
    Unknown(String),
    /// The backend exists but was not compiled into this build.
    #[error(
        "device `{backend}` is not compiled into this build: rebuild with the Cargo feature `{feature}` (for example `cargo build --features {feature}`)"
    )]
    NotCompiled {
        /// The backend the user asked for.
        backend: String,
        /// The Cargo feature that enables it.
        feature: String,
    },
}
