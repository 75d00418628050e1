//! Training the RBM by contrastive divergence (CD-k) and persistent CD (PCD).
//!
//! The log-likelihood gradient of an RBM with free energy `F` is
//!
//! ```text
//! d/dθ [-log p(v)] = dF(v)/dθ - E_{v' ~ p}[dF(v')/dθ]
//! ```
//!
//! so the loss `mean F(v+) - mean F(v-)` ([`crate::contrastive_loss`] with `alpha = 0`), with the
//! negatives `v-` held fixed, has exactly the CD gradient: for `W` it is
//! `-(<v h>_data - <v h>_model)` with `h` replaced by `p(h = 1 | v)`. CD-k starts `k` block Gibbs
//! sweeps at the data batch; PCD (Tieleman 2008) keeps one persistent chain per batch item and
//! continues it across parameter steps. Adam makes the steps, with optional L2 weight decay.

use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::optim::decay::WeightDecayConfig;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Tensor, TensorData};
use ebm_core::{Rbm, SeededRng};
use ebm_mcmc::BlockGibbs;
use serde::{Deserialize, Serialize};

use crate::error::TrainError;
use crate::fit::{CheckpointStore, FitState, Learner};
use crate::loss::contrastive_loss;
use crate::record_io::{
    load_optimizer, read_module_record, read_state, save_model_and_optimizer, write_state,
};

/// Every setting of an RBM training run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RbmTrainConfig {
    /// Seed of the weights' initialisation and of the Gibbs chains.
    pub seed: u64,
    /// Hidden units `n_h`.
    pub n_hidden: usize,
    /// Data items per parameter step (and persistent chains, for PCD).
    pub batch_size: usize,
    /// Gibbs sweeps per parameter step (`k` of CD-k).
    pub gibbs_steps: usize,
    /// Persistent chains (PCD) instead of chains restarted at the data (CD-k).
    pub persistent: bool,
    /// Adam's learning rate.
    pub lr: f64,
    /// L2 weight decay on all parameters (0 for none).
    pub weight_decay: f64,
    /// Standard deviation of the initial weights.
    pub init_sd: f64,
}

impl Default for RbmTrainConfig {
    /// CD-1 with 500 hidden units, batches of 100, Adam 1e-3, weight decay 1e-4, weights N(0, 0.01^2).
    fn default() -> Self {
        Self {
            seed: 42,
            n_hidden: 500,
            batch_size: 100,
            gibbs_steps: 1,
            persistent: false,
            lr: 1e-3,
            weight_decay: 1e-4,
            init_sd: 0.01,
        }
    }
}

impl RbmTrainConfig {
    /// Checks every setting; the error names the one at fault.
    pub fn validate(&self) -> Result<(), TrainError> {
        let cfg = |s: &str, r: String| Err(TrainError::config(s, r));
        if self.n_hidden == 0 {
            return cfg("n_hidden", "must be >= 1".into());
        }
        if self.batch_size == 0 {
            return cfg("batch_size", "must be >= 1".into());
        }
        if self.gibbs_steps == 0 {
            return cfg("gibbs_steps", "must be >= 1".into());
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return cfg("lr", format!("must be finite and > 0, got {}", self.lr));
        }
        if !(self.weight_decay.is_finite() && self.weight_decay >= 0.0) {
            return cfg(
                "weight_decay",
                format!("must be finite and >= 0, got {}", self.weight_decay),
            );
        }
        if !(self.init_sd.is_finite() && self.init_sd >= 0.0) {
            return cfg(
                "init_sd",
                format!("must be finite and >= 0, got {}", self.init_sd),
            );
        }
        Ok(())
    }

    /// `CD-k` or `PCD-k`, for reports.
    pub fn method(&self) -> String {
        format!(
            "{}-{}",
            if self.persistent { "PCD" } else { "CD" },
            self.gibbs_steps
        )
    }
}

/// What one RBM parameter step measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RbmStepMetrics {
    /// Mean free energy of the data batch.
    pub free_energy_data: f64,
    /// Mean free energy of the negatives.
    pub free_energy_model: f64,
    /// Mean squared error of the mean-field reconstruction `sigmoid(b + sigmoid(c + v W) W^T)`.
    pub reconstruction_error: f64,
}

/// What a checkpoint stores besides the model and optimiser.
#[derive(Debug, Serialize, Deserialize)]
struct RbmCheckpoint {
    step: usize,
    n_visible: usize,
    rng: SeededRng,
    config: RbmTrainConfig,
    chains: Option<Vec<f32>>,
}

fn adam(config: &RbmTrainConfig) -> ModuleOptimizer {
    AdamConfig::new()
        .with_weight_decay(
            (config.weight_decay > 0.0).then(|| WeightDecayConfig::new(config.weight_decay as f32)),
        )
        .init()
}

/// Trains an [`Rbm`] (on an autodiff device) by CD-k or PCD.
pub struct RbmTrainer {
    model: Rbm,
    optim: ModuleOptimizer,
    config: RbmTrainConfig,
    rng: SeededRng,
    chains: Option<Tensor<2>>,
    step: usize,
    device: Device,
}

impl RbmTrainer {
    /// A new run for `n_visible` units on `device` (the autodiff version is used for the
    /// parameters). `visible_means`, if given, sets the initial visible biases to their logits.
    pub fn new(
        n_visible: usize,
        config: RbmTrainConfig,
        visible_means: Option<&[f64]>,
        device: &Device,
    ) -> Result<Self, TrainError> {
        config.validate()?;
        let train_device = device.clone().autodiff();
        let mut model = Rbm::new(
            n_visible,
            config.n_hidden,
            config.init_sd,
            config.seed,
            &train_device,
        )
        .map_err(|e| TrainError::config("model", e.to_string()))?;
        if let Some(means) = visible_means {
            model = model
                .with_visible_bias_from_means(means, 1e-3)
                .map_err(|e| TrainError::config("visible_means", e.to_string()))?;
        }
        Ok(Self {
            optim: adam(&config),
            model,
            rng: SeededRng::new(config.seed ^ 0x5eed),
            config,
            chains: None,
            step: 0,
            device: device.clone(),
        })
    }

    /// The model (parameters on the autodiff device; `model().valid()` for inference).
    pub fn model(&self) -> &Rbm {
        &self.model
    }

    /// The settings.
    pub fn config(&self) -> &RbmTrainConfig {
        &self.config
    }

    /// Parameter steps done.
    pub fn steps_done(&self) -> usize {
        self.step
    }

    /// The persistent chains (PCD, after the first step).
    pub fn chains(&self) -> Option<&Tensor<2>> {
        self.chains.as_ref()
    }

    /// One parameter step on a binary data batch `[n, n_v]`.
    ///
    /// CD-k starts the negatives' chains at the batch; PCD continues its persistent chains (one
    /// per batch item, started at the first batch, restarted at the batch if its size changes).
    pub fn step(&mut self, data: Tensor<2>) -> Result<RbmStepMetrics, TrainError> {
        let [n, nv] = data.dims();
        if n == 0 || nv != self.model.n_visible() {
            return Err(TrainError::Batch {
                got: vec![n, nv],
                reason: format!("expected [n >= 1, {}] visibles", self.model.n_visible()),
            });
        }
        let data = data.inner();
        let frozen = self.model.valid();
        let start = match (&self.chains, self.config.persistent) {
            (Some(c), true) if c.dims()[0] == n => c.clone(),
            _ => data.clone(),
        };
        let gibbs = BlockGibbs::new(self.config.gibbs_steps)?;
        let negatives = gibbs.run(&frozen, start, &mut self.rng).visible;
        if self.config.persistent {
            self.chains = Some(negatives.clone());
        }
        let recon = frozen.visible_probs(frozen.hidden_probs(data.clone()));
        let recon_err = (recon - data.clone()).powi_scalar(2).mean();

        let f = self
            .model
            .free_energy(Tensor::cat(vec![data, negatives], 0));
        let (loss, mean_pos, mean_neg) =
            contrastive_loss(f.clone().narrow(0, 0, n), f.narrow(0, n, n), 0.0);
        let stats = Tensor::cat(vec![mean_pos.inner(), mean_neg.inner(), recon_err], 0);
        let stats = crate::trainer::host_values(stats.into_data(), "free energies")?;
        let (fp, fm, re) = (stats[0] as f64, stats[1] as f64, stats[2] as f64);
        if !(fp.is_finite() && fm.is_finite()) {
            return Err(TrainError::NonFinite {
                step: self.step + 1,
                loss: fp - fm,
                e_pos: fp,
                e_neg: fm,
            });
        }
        let grads = GradientsParams::from_grads(loss.backward(), &self.model);
        self.model = self.optim.step(self.config.lr, self.model.clone(), grads);
        self.step += 1;
        Ok(RbmStepMetrics {
            free_energy_data: fp,
            free_energy_model: fm,
            reconstruction_error: re,
        })
    }

    /// Writes `model.bpk`, `optimizer.bpk` and `state.json` (step, RNG, settings, persistent
    /// chains) into the directory `dir`.
    pub fn save_to(&self, dir: &Path) -> Result<(), TrainError> {
        std::fs::create_dir_all(dir).map_err(|e| TrainError::checkpoint(dir, e))?;
        save_model_and_optimizer(dir, &self.model, &self.optim)?;
        let chains = match &self.chains {
            Some(c) => Some(crate::trainer::host_values(
                c.to_data(),
                "persistent chains",
            )?),
            None => None,
        };
        let state = RbmCheckpoint {
            step: self.step,
            n_visible: self.model.n_visible(),
            rng: self.rng.clone(),
            config: self.config.clone(),
            chains,
        };
        write_state(dir, &state)
    }

    /// Writes a checkpoint into the store at `dir` (atomic and durable, the two newest kept).
    /// For training runs, [`Fit`](crate::fit::Fit) does this itself.
    pub fn save(&self, dir: &Path) -> Result<PathBuf, TrainError> {
        let state = FitState {
            step: self.step,
            ..FitState::default()
        };
        CheckpointStore::new(dir).save(self.step, &state, |d| self.save_to(d))
    }

    /// Resumes from the newest checkpoint of the store at `dir`, parameters on `device`
    /// (autodiff).
    pub fn resume(dir: &Path, device: &Device) -> Result<Self, TrainError> {
        let ckpt = CheckpointStore::new(dir)
            .latest()
            .ok_or_else(|| TrainError::checkpoint(dir, "no checkpoint to resume from"))?;
        Self::load_from(&ckpt, device)
    }

    /// The trainer saved in the checkpoint directory `dir` by [`RbmTrainer::save_to`].
    pub fn load_from(dir: &Path, device: &Device) -> Result<Self, TrainError> {
        let state: RbmCheckpoint = read_state(dir)?;
        state.config.validate()?;
        let model = load_rbm(dir, &device.clone().autodiff())?;
        let optim_path = dir.join("optimizer.bpk");
        let optim = load_optimizer(adam(&state.config), &optim_path)?;
        let nv = state.n_visible;
        let chains = match state.chains {
            Some(v) if nv > 0 && v.len() % nv == 0 => {
                let n = v.len() / nv;
                Some(Tensor::from_data(TensorData::new(v, [n, nv]), device))
            }
            Some(_) => {
                return Err(TrainError::checkpoint(
                    dir.join("state.json"),
                    "persistent chains do not fit the visible units",
                ));
            }
            None => None,
        };
        Ok(Self {
            model,
            optim,
            config: state.config,
            rng: state.rng,
            chains,
            step: state.step,
            device: device.clone(),
        })
    }
}

impl Learner for RbmTrainer {
    type Batch = Tensor<2>;
    type Metrics = RbmStepMetrics;

    fn step(&mut self, batch: Tensor<2>) -> Result<RbmStepMetrics, TrainError> {
        RbmTrainer::step(self, batch)
    }

    fn save(&self, dir: &Path) -> Result<(), TrainError> {
        self.save_to(dir)
    }

    fn load(&mut self, dir: &Path) -> Result<(), TrainError> {
        *self = Self::load_from(dir, &self.device.clone())?;
        Ok(())
    }

    fn summary(&self, m: &RbmStepMetrics) -> String {
        format!(
            "F(data) {:+.2} F(model) {:+.2} recon {:.4}",
            m.free_energy_data, m.free_energy_model, m.reconstruction_error
        )
    }

    fn scale_learning_rate(&mut self, factor: f64) -> Result<(), TrainError> {
        self.config.lr *= factor;
        Ok(())
    }

    fn reseed(&mut self, salt: u64) -> Result<(), TrainError> {
        self.rng =
            SeededRng::new(self.config.seed ^ 0x5eed ^ salt.wrapping_mul(0xa076_1d64_78bd_642f));
        Ok(())
    }
}

/// Loads the RBM of a checkpoint directory (its `model.bpk` and `state.json`) onto `device`.
pub fn load_rbm(dir: &Path, device: &Device) -> Result<Rbm, TrainError> {
    let state_path = dir.join("state.json");
    let state: RbmCheckpoint = read_state(dir)?;
    let template = Rbm::new(state.n_visible, state.config.n_hidden, 0.0, 0, device)
        .map_err(|e| TrainError::checkpoint(&state_path, e))?;
    let model_path = dir.join("model.bpk");
    let record = read_module_record(&model_path)?;
    template
        .try_load_record(record)
        .map_err(|e| TrainError::checkpoint(&model_path, format!("does not fit this model: {e}")))
}
