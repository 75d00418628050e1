//! How the [`NceTrainer`] saves and loads its state, and its place in the one training loop.
//!
//! A checkpoint directory holds `model.bpk`, `optimizer.bpk` and `state.json` (step, random
//! state, settings). The noise is not saved: it is rebuilt from the data it was fitted on.

use std::path::Path;

use burn::module::Module;
use burn::tensor::Tensor;
use ebm_core::{Energy, SeededRng};
use serde::{Deserialize, Serialize};

use crate::error::TrainError;
use crate::fit::Learner;
use crate::nce::{NceConfig, NceStepMetrics, NceTrainer, NoiseSource};
use crate::record_io::{
    load_optimizer, read_module_record, read_state, save_model_and_optimizer, write_state,
};

/// What a checkpoint stores besides the model and optimiser.
#[derive(Debug, Serialize, Deserialize)]
struct NceState {
    step: usize,
    rng: SeededRng,
    config: NceConfig,
}

impl<M: Module + Energy<2>, N: NoiseSource> NceTrainer<M, N> {
    /// Writes the trainer's state into the directory `dir`.
    pub fn save_to(&self, dir: &Path) -> Result<(), TrainError> {
        std::fs::create_dir_all(dir).map_err(|e| TrainError::checkpoint(dir, e))?;
        save_model_and_optimizer(dir, &self.model, &self.optim)?;
        let state = NceState {
            step: self.step,
            rng: self.rng.clone(),
            config: self.config.clone(),
        };
        write_state(dir, &state)
    }

    /// Restores the state that [`NceTrainer::save_to`] wrote into `dir`, keeping the noise.
    pub fn load_from(&mut self, dir: &Path) -> Result<(), TrainError> {
        let state: NceState = read_state(dir)?;
        state.config.validate()?;
        let model_path = dir.join("model.bpk");
        let record = read_module_record(&model_path)?;
        self.model = self.model.clone().try_load_record(record).map_err(|e| {
            TrainError::checkpoint(&model_path, format!("does not fit this model: {e}"))
        })?;
        self.optim = load_optimizer(state.config.optimizer(), &dir.join("optimizer.bpk"))?;
        self.config = state.config;
        self.rng = state.rng;
        self.step = state.step;
        Ok(())
    }
}

impl<M: Module + Energy<2>, N: NoiseSource> Learner for NceTrainer<M, N> {
    type Batch = Tensor<2>;
    type Metrics = NceStepMetrics;

    fn step(&mut self, batch: Tensor<2>) -> Result<NceStepMetrics, TrainError> {
        NceTrainer::step(self, batch)
    }

    fn save(&self, dir: &Path) -> Result<(), TrainError> {
        self.save_to(dir)
    }

    fn load(&mut self, dir: &Path) -> Result<(), TrainError> {
        self.load_from(dir)
    }

    fn summary(&self, m: &NceStepMetrics) -> String {
        format!("loss {:.4} acc {:.3}", m.loss, m.accuracy)
    }

    fn scale_learning_rate(&mut self, factor: f64) -> Result<(), TrainError> {
        self.config.lr *= factor;
        Ok(())
    }

    fn reseed(&mut self, salt: u64) -> Result<(), TrainError> {
        self.rng = SeededRng::new(self.config.seed ^ salt.wrapping_mul(0xa076_1d64_78bd_642f));
        Ok(())
    }
}
