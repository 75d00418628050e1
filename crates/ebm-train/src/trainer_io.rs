//! How the contrastive-divergence [`Trainer`] saves and loads its state, and its place in the
//! one training loop ([`Learner`]).
//!
//! A checkpoint directory holds `model.bpk`, `optimizer.bpk`, `buffer.f32` (persistent CD) and
//! `state.json` (step, random state, settings, item shape).

use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::tensor::Tensor;
use ebm_core::{Energy, SeededRng};
use serde::{Deserialize, Serialize};

use crate::buffer::ReplayBuffer;
use crate::config::TrainConfig;
use crate::error::TrainError;
use crate::fit::{CheckpointStore, FitState, Learner};
use crate::metrics::StepMetrics;
use crate::record_io::{
    load_optimizer, read_module_record, read_state, save_model_and_optimizer, write_state,
};
use crate::trainer::{Trainer, adam};

/// What a checkpoint stores besides the model, optimiser and buffer tensors.
#[derive(Debug, Serialize, Deserialize)]
struct TrainerState {
    step: usize,
    rng: SeededRng,
    config: TrainConfig,
    item_dims: Vec<usize>,
    buffer_capacity: Option<usize>,
}

impl<const D: usize, M: Module + Energy<D>> Trainer<D, M> {
    /// Writes the trainer's state into the directory `dir` (see the module docs).
    pub fn save_to(&self, dir: &Path) -> Result<(), TrainError> {
        std::fs::create_dir_all(dir).map_err(|e| TrainError::checkpoint(dir, e))?;
        save_model_and_optimizer(dir, &self.model, &self.optim)?;
        if let Some(buffer) = &self.buffer {
            buffer.save(&dir.join("buffer.f32"))?;
        }
        let state = TrainerState {
            step: self.step,
            rng: self.rng.clone(),
            config: self.config.clone(),
            item_dims: self.item_dims.clone(),
            buffer_capacity: self.buffer.as_ref().map(ReplayBuffer::capacity),
        };
        write_state(dir, &state)
    }

    /// The trainer saved in the directory `dir` by [`Trainer::save_to`]. `model` is a freshly
    /// built model of the same architecture on the training (autodiff) device; its parameters
    /// are replaced.
    pub fn load_from(model: M, dir: &Path) -> Result<Self, TrainError> {
        let state: TrainerState = read_state(dir)?;
        state.config.validate()?;
        let model_path = dir.join("model.bpk");
        let record = read_module_record(&model_path)?;
        let model = model.try_load_record(record).map_err(|e| {
            TrainError::checkpoint(&model_path, format!("does not fit this model: {e}"))
        })?;
        let optim_path = dir.join("optimizer.bpk");
        let optim = load_optimizer(adam(&state.config), &optim_path)?;
        let buffer = load_buffer(dir, &state)?;
        if matches!(
            state.config.negatives,
            crate::NegativeConfig::Persistent { .. }
        ) != buffer.is_some()
        {
            return Err(TrainError::checkpoint(
                dir.join("state.json"),
                "the negatives setting and the saved replay buffer disagree",
            ));
        }
        Ok(Self {
            model,
            optim,
            config: state.config,
            buffer,
            rng: state.rng,
            step: state.step,
            item_dims: state.item_dims,
        })
    }

    /// Writes a checkpoint of the current step into the store at `dir` (atomic and durable; the
    /// two newest kept). For training runs, [`Fit`](crate::fit::Fit) does this itself.
    pub fn save_checkpoint(&self, dir: &Path) -> Result<PathBuf, TrainError> {
        let state = FitState {
            step: self.step,
            ..FitState::default()
        };
        CheckpointStore::new(dir).save(self.step, &state, |d| self.save_to(d))
    }

    /// The trainer at the newest checkpoint of the store at `dir` (see [`Trainer::load_from`]).
    pub fn resume(model: M, dir: &Path) -> Result<Self, TrainError> {
        let store = CheckpointStore::new(dir);
        let ckpt = store
            .latest()
            .ok_or_else(|| TrainError::checkpoint(dir, "no checkpoint to resume from"))?;
        Self::load_from(model, &ckpt)
    }
}

fn load_buffer(dir: &Path, state: &TrainerState) -> Result<Option<ReplayBuffer>, TrainError> {
    let path = dir.join("buffer.f32");
    let load = |capacity| ReplayBuffer::load(&path, capacity, state.item_dims.clone());
    state.buffer_capacity.map(load).transpose()
}

impl<const D: usize, M: Module + Energy<D>> Learner for Trainer<D, M> {
    type Batch = Tensor<D>;
    type Metrics = StepMetrics;

    fn step(&mut self, batch: Tensor<D>) -> Result<StepMetrics, TrainError> {
        Trainer::step(self, batch)
    }

    fn save(&self, dir: &Path) -> Result<(), TrainError> {
        self.save_to(dir)
    }

    fn load(&mut self, dir: &Path) -> Result<(), TrainError> {
        *self = Self::load_from(self.model.clone(), dir)?;
        Ok(())
    }

    fn summary(&self, m: &StepMetrics) -> String {
        format!("loss {:+.4} E+ {:+.3} E- {:+.3}", m.loss, m.e_pos, m.e_neg)
    }

    fn scale_learning_rate(&mut self, factor: f64) -> Result<(), TrainError> {
        self.config.optimizer.lr *= factor;
        Ok(())
    }

    fn reseed(&mut self, salt: u64) -> Result<(), TrainError> {
        self.rng = SeededRng::new(self.config.seed ^ salt.wrapping_mul(0xa076_1d64_78bd_642f));
        Ok(())
    }
}
