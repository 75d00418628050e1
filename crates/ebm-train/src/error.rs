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
    /// A value of a step (loss, energy, gradient norm, validation score) is NaN or infinite.
    #[error(
        "training diverged at step {step}: {what} = {value}; the last checkpoint is intact (lower the learning rate, raise the regularisation, or use --on-divergence restore)"
    )]
    Diverged {
        /// The step at which it happened.
        step: usize,
        /// What became non-finite.
        what: String,
        /// Its value.
        value: f64,
    },
    /// A run folder is missing, incomplete, or does not fit the request.
    #[error("run {path}: {reason}")]
    RunDir {
        /// The folder or file at fault.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A hook of the loop (pictures after an epoch, validation) failed.
    #[error("{what}: {source}")]
    Hook {
        /// The hook.
        what: String,
        /// Its error.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
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
    /// Whether the error is a divergence (a non-finite value), which
    /// [`OnDivergence::Restore`](crate::fit::OnDivergence) can recover from.
    pub fn is_divergence(&self) -> bool {
        match self {
            Self::NonFinite { .. } | Self::Diverged { .. } => true,
            Self::Sampler(e) => matches!(e, ebm_mcmc::McmcError::NonFinite { .. }),
            _ => false,
        }
    }

    /// The error of a hook, e.g. an epoch's pictures.
    pub fn hook(
        what: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Self::Hook {
            what: what.into(),
            source: source.into(),
        }
    }

    /// Fails with [`TrainError::Diverged`] on the first non-finite value of `values`.
    pub fn check_finite(step: usize, values: &[(&str, f64)]) -> Result<(), Self> {
        match values.iter().find(|(_, v)| !v.is_finite()) {
            Some((what, value)) => Err(Self::Diverged {
                step,
                what: (*what).to_string(),
                value: *value,
            }),
            None => Ok(()),
        }
    }

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
