//! A run directory: everything a training run writes, and how commands read it back.
//!
//! ```text
//! runs/<name>/
//!   run.json          model, data and training settings (the whole config)
//!   metrics.jsonl     one line per parameter step
//!   checkpoints/      step-XXXXXXXX/ (model, optimiser, replay buffer, RNG) and `latest`
//!   samples/          epoch-XXX-buffer.png, epoch-XXX-fresh.png
//!   samples.npy       the final fresh samples, [n, c, h, w]
//! ```

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use burn::tensor::Device;
use ebm_core::{CnnEnergy, CnnEnergyConfig};
use ebm_train::{TrainConfig, Trainer};
use serde::{Deserialize, Serialize};

use crate::output::write_atomic;

/// The image network's shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelSpec {
    /// Image channels.
    pub channels: usize,
    /// Image side.
    pub image_size: usize,
    /// CNN width `h`.
    pub hidden: usize,
}

impl ModelSpec {
    /// A freshly initialised network on `device`.
    pub fn build(&self, device: &Device, seed: u64) -> Result<CnnEnergy> {
        Ok(CnnEnergyConfig::new()
            .with_channels(self.channels)
            .with_image_size(self.image_size)
            .with_hidden(self.hidden)
            .init(device, seed)?)
    }
}

/// Everything needed to continue or use a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSpec {
    /// The network.
    pub model: ModelSpec,
    /// The training data (path as given).
    pub data: PathBuf,
    /// Only the first this many images of the data, if set.
    pub limit: Option<usize>,
    /// Epochs to train.
    pub epochs: usize,
    /// Sampler steps of the fresh-chain grids.
    pub fresh_steps: usize,
    /// The training settings.
    pub train: TrainConfig,
}

/// Paths inside a run directory.
#[derive(Debug, Clone)]
pub struct RunDir {
    /// The run's root.
    pub root: PathBuf,
}

impl RunDir {
    /// The run directory at `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// `run.json`.
    pub fn spec_path(&self) -> PathBuf {
        self.root.join("run.json")
    }

    /// `checkpoints/`.
    pub fn checkpoints(&self) -> PathBuf {
        self.root.join("checkpoints")
    }

    /// `metrics.jsonl`.
    pub fn metrics(&self) -> PathBuf {
        self.root.join("metrics.jsonl")
    }

    /// A file under `samples/`.
    pub fn sample_file(&self, name: &str) -> PathBuf {
        self.root.join("samples").join(name)
    }

    /// Writes `run.json`.
    pub fn write_spec(&self, spec: &RunSpec) -> Result<()> {
        let text = serde_json::to_string_pretty(spec)?;
        write_atomic(&self.spec_path(), |tmp| {
            std::fs::write(tmp, &text).with_context(|| format!("writing {}", tmp.display()))
        })
    }

    /// Reads `run.json`.
    pub fn read_spec(&self) -> Result<RunSpec> {
        let path = self.spec_path();
        if !self.root.is_dir() {
            bail!(
                "run directory {} does not exist (train one with `ebm train --name ...`)",
                self.root.display()
            );
        }
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        serde_json::from_str(&text)
            .with_context(|| format!("{} is not a valid run description", path.display()))
    }

    /// The trainer at the run's latest checkpoint, with the model on `device` (autodiff).
    pub fn load_trainer(&self, device: &Device) -> Result<(RunSpec, Trainer<4, CnnEnergy>)> {
        let spec = self.read_spec()?;
        let template = spec.model.build(&device.clone().autodiff(), 0)?;
        let trainer = Trainer::resume(template, &self.checkpoints())
            .with_context(|| format!("loading the model of run {}", self.root.display()))?;
        Ok((spec, trainer))
    }
}

/// Resolves `--run` as given, or as a name under `runs/`.
pub fn resolve_run(run: &Path) -> RunDir {
    if run.is_dir() || run.components().count() > 1 {
        RunDir::new(run)
    } else {
        RunDir::new(Path::new("runs").join(run))
    }
}
