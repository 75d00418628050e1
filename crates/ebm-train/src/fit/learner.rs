//! What a trainer tells the loop: how to take one step, and how to save and load its state.

use std::path::Path;

use serde::Serialize;

use crate::error::TrainError;

/// A trainer, as the loop ([`Fit`](super::Fit)) sees it.
///
/// The loop owns the data order, metrics, progress, interruption, checkpoints, resume, the
/// wall-clock budget, the step limit, the best model on a validation split and recovery from
/// divergence; a learner only takes steps and saves and loads what it needs to continue exactly.
pub trait Learner {
    /// What one step trains on (made by [`Batches::batch`]).
    type Batch;
    /// What one step measured: a struct of named numbers, serialised into `metrics.jsonl`.
    type Metrics: Serialize;

    /// One parameter step. A non-finite loss, energy or gradient is an error
    /// ([`TrainError::is_divergence`]) and must leave the parameters unchanged where it can.
    fn step(&mut self, batch: Self::Batch) -> Result<Self::Metrics, TrainError>;

    /// Writes everything needed to continue exactly (weights, optimiser, random state, chains)
    /// into `dir`, an empty directory that the loop makes durable and atomic.
    fn save(&self, dir: &Path) -> Result<(), TrainError>;

    /// Restores the state that [`Learner::save`] wrote into `dir`.
    fn load(&mut self, dir: &Path) -> Result<(), TrainError>;

    /// One line about a step for the progress display.
    fn summary(&self, metrics: &Self::Metrics) -> String {
        let _ = metrics;
        String::new()
    }

    /// Called after the loop restored the last checkpoint because the run diverged, for the
    /// `restores`-th time (1-based): make the next attempt safer. The default halves the
    /// learning rate `restores` times and reseeds, through [`Learner::scale_learning_rate`] and
    /// [`Learner::reseed`].
    fn damp(&mut self, restores: usize) -> Result<(), TrainError> {
        self.scale_learning_rate(0.5f64.powi(restores as i32))?;
        self.reseed(restores as u64)
    }

    /// Multiplies the learning rate by `factor` from now on (saved in later checkpoints).
    /// The default says the trainer cannot.
    fn scale_learning_rate(&mut self, factor: f64) -> Result<(), TrainError> {
        let _ = factor;
        Err(TrainError::config(
            "on_divergence",
            "this trainer cannot change its learning rate to recover",
        ))
    }

    /// Mixes `salt` into the trainer's random stream, so a restored run does not repeat the
    /// draws that diverged. The default does nothing.
    fn reseed(&mut self, salt: u64) -> Result<(), TrainError> {
        let _ = salt;
        Ok(())
    }
}

/// The training data as the loop sees it: items addressed by index, made into batches.
pub trait Batches<B> {
    /// The number of items.
    fn len(&self) -> usize;

    /// Whether there are no items.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The batch of the items at `indices`.
    fn batch(&self, indices: &[usize]) -> Result<B, TrainError>;
}

/// [`Batches`] from a count and a function of the indices.
pub struct FnBatches<F> {
    len: usize,
    make: F,
}

impl<F> FnBatches<F> {
    /// `len` items; `make(indices)` builds a batch.
    pub fn new(len: usize, make: F) -> Self {
        Self { len, make }
    }
}

impl<B, F: Fn(&[usize]) -> Result<B, TrainError>> Batches<B> for FnBatches<F> {
    fn len(&self) -> usize {
        self.len
    }

    fn batch(&self, indices: &[usize]) -> Result<B, TrainError> {
        (self.make)(indices)
    }
}
