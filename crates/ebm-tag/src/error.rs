//! Typed errors of the tagging crate.

use std::path::PathBuf;

/// Everything that can go wrong reading treebanks, building batches, training or loading a tagger.
#[derive(Debug, thiserror::Error)]
pub enum TagError {
    /// A file could not be opened or read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A CoNLL-U line is malformed.
    #[error("{path}:{line}: {reason}")]
    Parse {
        /// The file (or `<input>` for in-memory text).
        path: PathBuf,
        /// The 1-based line number.
        line: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// A setting or an input is out of range.
    #[error("invalid {what}: {reason}")]
    Invalid {
        /// The setting or input.
        what: String,
        /// Why it is invalid.
        reason: String,
    },
    /// The loss of a training step is NaN or infinite; the parameters were not updated.
    #[error(
        "training diverged at step {step}: loss = {loss} (lower the learning rate, or use --on-divergence restore)"
    )]
    Diverged {
        /// Parameter steps done before the failed one.
        step: usize,
        /// The loss.
        loss: f64,
    },
    /// A checkpoint or vocabulary file could not be written or read back.
    #[error("checkpoint {path}: {reason}")]
    Checkpoint {
        /// The file or directory.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
}

impl TagError {
    /// An [`TagError::Invalid`] error.
    pub fn invalid(what: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Invalid {
            what: what.into(),
            reason: reason.into(),
        }
    }

    /// A [`TagError::Checkpoint`] error.
    pub fn checkpoint(path: impl Into<PathBuf>, reason: impl std::fmt::Display) -> Self {
        Self::Checkpoint {
            path: path.into(),
            reason: reason.to_string(),
        }
    }
}
