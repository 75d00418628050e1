//! The loop's own settings, saved with the run.

use serde::{Deserialize, Serialize};

use crate::error::TrainError;

/// What to do when a step diverges (a non-finite loss, energy, gradient or metric).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum OnDivergence {
    /// Stop with an error naming what diverged; the last checkpoint is kept.
    #[default]
    Stop,
    /// Restore the last checkpoint, damp the trainer ([`Learner::damp`](super::Learner::damp):
    /// halve the learning rate, reseed) and go on, at most `max_restores` times in all.
    Restore {
        /// How many restores are allowed before the run stops.
        max_restores: usize,
    },
}

/// How long the loop runs and how it saves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FitConfig {
    /// Seed of the data order (epoch permutations).
    pub seed: u64,
    /// Items per batch; the last partial batch of an epoch is dropped.
    pub batch_size: usize,
    /// Passes over the data.
    pub epochs: usize,
    /// Stop after this many parameter steps in all, if set.
    pub max_steps: Option<usize>,
    /// Stop (with a checkpoint) once this many seconds of training have passed in all, if set.
    pub budget_seconds: Option<f64>,
    /// Write a checkpoint every this many steps (and at every epoch's end, on interruption and
    /// at the end).
    pub checkpoint_every: usize,
    /// What a divergence does.
    #[serde(default)]
    pub on_divergence: OnDivergence,
}

impl FitConfig {
    /// `epochs` passes in batches of `batch_size`, a checkpoint every 100 steps.
    pub fn new(seed: u64, batch_size: usize, epochs: usize) -> Self {
        Self {
            seed,
            batch_size,
            epochs,
            max_steps: None,
            budget_seconds: None,
            checkpoint_every: 100,
            on_divergence: OnDivergence::Stop,
        }
    }

    /// Checks the settings, naming the first bad one.
    pub fn validate(&self) -> Result<(), TrainError> {
        if self.batch_size == 0 {
            return Err(TrainError::config("batch_size", "must be at least 1"));
        }
        if self.epochs == 0 {
            return Err(TrainError::config("epochs", "must be at least 1"));
        }
        if self.checkpoint_every == 0 {
            return Err(TrainError::config("checkpoint_every", "must be at least 1"));
        }
        if self.max_steps == Some(0) {
            return Err(TrainError::config("max_steps", "must be at least 1"));
        }
        match self.budget_seconds {
            Some(b) if !(b.is_finite() && b > 0.0) => Err(TrainError::config(
                "budget_seconds",
                format!("must be finite and positive, got {b}"),
            )),
            _ => Ok(()),
        }
    }

    /// Steps per epoch for `items` items, and the run's total steps.
    pub fn plan(&self, items: usize) -> Result<(usize, usize), TrainError> {
        self.validate()?;
        let per_epoch = items / self.batch_size;
        if per_epoch == 0 {
            return Err(TrainError::config(
                "batch_size",
                format!(
                    "{items} items are fewer than one batch of {}",
                    self.batch_size
                ),
            ));
        }
        let total = self.epochs.saturating_mul(per_epoch);
        Ok((per_epoch, self.max_steps.map_or(total, |m| total.min(m))))
    }
}
