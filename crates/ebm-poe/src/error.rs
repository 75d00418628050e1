//! Typed errors of `ebm-poe`.

use thiserror::Error;

/// Everything that can go wrong in `ebm-poe`; each variant names the thing at fault.
#[derive(Debug, Error)]
pub enum PoeError {
    /// A composition or model was given an invalid parameter (no terms, a negative weight, a
    /// non-positive temperature, ...).
    #[error("{what}: invalid parameter `{parameter}`: {reason}")]
    InvalidParameter {
        /// The composition or model being built.
        what: String,
        /// The parameter at fault.
        parameter: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An expression could not be parsed.
    #[error(transparent)]
    Parse(#[from] crate::expr::ParseError),
    /// An expression parsed but names something no expert provides, or cannot be built.
    #[error("in `{expr}` at column {column}: {reason}")]
    Compile {
        /// The expression, as written.
        expr: String,
        /// The 1-based column of the offending atom.
        column: usize,
        /// What is wrong.
        reason: String,
    },
    /// An energy rejected its input or produced a non-finite value.
    #[error(transparent)]
    Energy(#[from] ebm_core::EnergyError),
}

impl PoeError {
    /// An [`PoeError::InvalidParameter`].
    pub fn invalid(
        what: impl Into<String>,
        parameter: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        Self::InvalidParameter {
            what: what.into(),
            parameter: parameter.into(),
            reason: reason.into(),
        }
    }
}
