//! The image run: its settings (`config.json` in the run folder) and how commands load its
//! model.
//!
//! ```text
//! runs/<name>/
//!   config.json       ImageRunConfig: network, data, CD recipe, loop settings
//!   metrics.jsonl     one line per parameter step
//!   checkpoints/      step-XXXXXXXX/ (model, optimiser, replay buffer, RNG) and `latest`
//!   samples/          epoch-XXX-buffer.png, epoch-XXX-fresh.png
//!   samples.npy       the final fresh samples, [n, c, h, w]
//! ```

use std::path::PathBuf;

use anyhow::{Context, Result};
use burn::tensor::Device;
use ebm_core::{CnnEnergy, CnnEnergyConfig};
use ebm_train::{FitConfig, RunDir, TrainConfig, Trainer};
use serde::{Deserialize, Serialize};

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

    /// Fails, naming `path`, unless the images of `data` have this network's shape.
    pub fn check_images(&self, data: &ebm_data::ImageSet, path: &std::path::Path) -> Result<()> {
        let (c, s) = (self.channels, self.image_size);
        if (data.channels, data.height, data.width) != (c, s, s) {
            anyhow::bail!(
                "{}: images are {}x{}x{}, the run's network takes {c}x{s}x{s}",
                path.display(),
                data.channels,
                data.height,
                data.width
            );
        }
        Ok(())
    }

    /// The item shape `[c, h, w]`.
    pub fn item_dims(&self) -> [usize; 3] {
        [self.channels, self.image_size, self.image_size]
    }
}

/// Every setting of an image run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageRunConfig {
    /// The network.
    pub model: ModelSpec,
    /// The training data (path as given).
    pub data: PathBuf,
    /// Train on a seeded, stratified sample of this many images, if set.
    pub limit: Option<usize>,
    /// Sampler steps of the fresh-chain grids.
    pub fresh_steps: usize,
    /// The contrastive-divergence recipe.
    pub train: TrainConfig,
    /// The loop: epochs, step limit, budget, divergence policy. Its seed, batch size and
    /// checkpoint interval follow `train`'s.
    pub fit: FitConfig,
}

impl ImageRunConfig {
    /// Makes the loop's seed, batch size and checkpoint interval those of the CD recipe.
    pub fn sync(&mut self) {
        self.fit.seed = self.train.seed;
        self.fit.batch_size = self.train.batch_size;
        self.fit.checkpoint_every = self.train.checkpoint_every;
    }
}

/// The settings of the image run in `dir` and its trainer at the latest checkpoint, with the
/// model on `device` (autodiff).
pub fn load_image_run(
    dir: &RunDir,
    device: &Device,
) -> Result<(ImageRunConfig, Trainer<4, CnnEnergy>)> {
    let config: ImageRunConfig = dir
        .read_config()
        .with_context(|| format!("reading the image run {}", dir.root().display()))?;
    let template = config.model.build(&device.clone().autodiff(), 0)?;
    let ckpt = dir
        .checkpoints()
        .latest()
        .with_context(|| format!("run {} has no checkpoint yet", dir.root().display()))?;
    let trainer = Trainer::load_from(template, &ckpt)
        .with_context(|| format!("loading the model of run {}", dir.root().display()))?;
    Ok((config, trainer))
}
