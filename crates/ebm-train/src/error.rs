//! Typed errors of `ebm-train`.

use std::path::PathBuf;

use thiserror::Error;

/// What can stop training or checkpointing; each variant names the thing at fault.
#[derive(Debug, Error)]
pub enum TrainError {
    /// The loss (or an energy feeding it) became NaN or infinite; no parameter update was made,
    /// so the last checkpoint is the last good state.
    #[error(
        "training diverged at step {step}: loss = {loss}, mean E(data) = {e_pos}, mean E(negatives) = {e_neg}; the last checkpoint is intact (lower the learning rate or raise alpha)"
    )]
    NonFinite {
        /// The step at which it happened.
        step: usize,
        /// The loss value.
        loss: f64,
        /// Mean energy of the data batch.
        e_pos: f64,
        /// Mean energy of the negatives.
        e_neg: f64,
    },
    /// A setting is invalid.
    #[error("invalid training setting `{setting}`: {reason}")]
    Config {
        /// The setting at fault.
        setting: String,
        /// What is wrong.
        reason: String,
    },
    /// A data batch does not fit the model or the replay buffer.
    #[error("batch of shape {got:?} does not fit: {reason}")]
    Batch {
        /// The batch shape.
        got: Vec<usize>,
        /// What is wrong.
        reason: String,
    },
    /// A checkpoint could not be written or read.
    #[error("checkpoint {path}: {reason}")]
    Checkpoint {
        /// The file or directory at fault.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A sampler failed.
    #[error(transparent)]
    Sampler(#[from] ebm_mcmc::McmcError),
    /// I/O outside checkpoints (metrics, run directory).
    #[error("{path}: {source}")]
    Io {
        /// The file at fault.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}

impl TrainError {
    pub(crate) fn config(setting: &str, reason: impl Into<String>) -> Self {
        Self::Config {
            setting: setting.into(),
            reason: reason.into(),
        }
    }

    pub(crate) fn checkpoint(path: impl Into<PathBuf>, reason: impl ToString) -> Self {
        Self::Checkpoint {
            path: path.into(),
            reason: reason.to_string(),
        }
    }
}
