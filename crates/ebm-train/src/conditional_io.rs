//! How the [`ConditionalTrainer`] saves and loads its state, and its place in the one training
//! loop ([`Learner`]).
//!
//! A checkpoint directory holds `model.bpk` (the [`ConditionalNet`]), `optimizer.bpk`,
//! `buffer.f32` (joint CD) and `state.json` (step, random state, settings, item shape).

use std::path::Path;

use burn::module::Module;
use burn::tensor::Tensor;
use ebm_core::{ConditionalNet, SeededRng};
use serde::{Deserialize, Serialize};

use crate::buffer::ReplayBuffer;
use crate::conditional::{ConditionalStepMetrics, ConditionalTrainConfig, ConditionalTrainer};
use crate::error::TrainError;
use crate::fit::Learner;
use crate::record_io::{
    load_optimizer, read_module_record, read_state, save_model_and_optimizer, write_state,
};
use crate::trainer::adam;

/// The file of a checkpoint that holds the network's parameters.
pub const MODEL_FILE: &str = "model.bpk";

/// What a checkpoint stores besides the model, optimiser and buffer tensors.
#[derive(Debug, Serialize, Deserialize)]
struct ConditionalState {
    step: usize,
    rng: SeededRng,
    config: ConditionalTrainConfig,
    item_dims: Vec<usize>,
    buffer_capacity: Option<usize>,
}

impl ConditionalTrainer {
    /// Writes the trainer's state into the directory `dir` (see the module docs).
    pub fn save_to(&self, dir: &Path) -> Result<(), TrainError> {
        std::fs::create_dir_all(dir).map_err(|e| TrainError::checkpoint(dir, e))?;
        save_model_and_optimizer(dir, &self.net, &self.optim)?;
        if let Some(buffer) = &self.buffer {
            buffer.save(&dir.join("buffer.f32"))?;
        }
        let state = ConditionalState {
            step: self.step,
            rng: self.rng.clone(),
            config: self.config.clone(),
            item_dims: vec![
                self.net.channels(),
                self.net.image_size(),
                self.net.image_size(),
            ],
            buffer_capacity: self.buffer.as_ref().map(ReplayBuffer::capacity),
        };
        write_state(dir, &state)
    }

    /// The trainer saved in `dir` by [`ConditionalTrainer::save_to`]. `net` is a freshly built
    /// network of the same shape on the training (autodiff) device; its parameters are replaced.
    pub fn load_from(net: ConditionalNet, dir: &Path) -> Result<Self, TrainError> {
        let state: ConditionalState = read_state(dir)?;
        state.config.validate()?;
        let net = load_net(net, dir)?;
        let optim_path = dir.join("optimizer.bpk");
        let optim = load_optimizer(adam(&state.config.train), &optim_path)?;
        let buffer = load_buffer(dir, &state)?;
        Ok(Self {
            net,
            optim,
            config: state.config,
            buffer,
            rng: state.rng,
            step: state.step,
            base: None,
        })
    }
}

/// The network of the checkpoint directory `dir` (its `model.bpk`) loaded into `template`, a
/// network of the same shape (on any device).
pub fn load_net(template: ConditionalNet, dir: &Path) -> Result<ConditionalNet, TrainError> {
    let path = dir.join(MODEL_FILE);
    let record = read_module_record(&path)?;
    template
        .try_load_record(record)
        .map_err(|e| TrainError::checkpoint(&path, format!("does not fit this network: {e}")))
}

fn load_buffer(dir: &Path, state: &ConditionalState) -> Result<Option<ReplayBuffer>, TrainError> {
    let path = dir.join("buffer.f32");
    let load = |capacity| ReplayBuffer::load(&path, capacity, state.item_dims.clone());
    state.buffer_capacity.map(load).transpose()
}

impl Learner for ConditionalTrainer {
    /// Images `[n, c, h, w]` and their `n` labels.
    type Batch = (Tensor<4>, Vec<usize>);
    type Metrics = ConditionalStepMetrics;

    fn step(&mut self, (x, labels): Self::Batch) -> Result<ConditionalStepMetrics, TrainError> {
        ConditionalTrainer::step(self, x, &labels)
    }

    fn save(&self, dir: &Path) -> Result<(), TrainError> {
        self.save_to(dir)
    }

    /// Loads the checkpoint; the informative-initialisation base, not part of it, is kept.
    fn load(&mut self, dir: &Path) -> Result<(), TrainError> {
        let base = self.base.take();
        *self = Self::load_from(self.net.clone(), dir)?;
        self.base = base;
        Ok(())
    }

    fn summary(&self, m: &ConditionalStepMetrics) -> String {
        format!(
            "loss {:+.4} E+ {:+.3} E- {:+.3} batch acc {:.3}",
            m.loss, m.e_pos, m.e_neg, m.batch_accuracy
        )
    }

    fn scale_learning_rate(&mut self, factor: f64) -> Result<(), TrainError> {
        self.config.train.optimizer.lr *= factor;
        Ok(())
    }

    fn reseed(&mut self, salt: u64) -> Result<(), TrainError> {
        let seed = self.config.train.seed ^ salt.wrapping_mul(0xa076_1d64_78bd_642f);
        self.rng = SeededRng::new(seed);
        Ok(())
    }
}
