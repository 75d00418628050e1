//! `ebm rbm train` (CD-k / PCD on binarised digits, through the one training loop) and
//! `ebm logz` (held-out log-likelihood of a trained RBM: exact `log Z` by enumeration up to 20
//! hidden units, AIS beyond).
//!
//! ```text
//! runs/<name>/
//!   config.json     data, split, binarisation, RBM recipe, loop settings
//!   metrics.jsonl   one line per parameter step (free energies, reconstruction error)
//!   checkpoints/    step-XXXXXXXX/ (model, optimiser, RNG, persistent chains) and `latest`
//!   filters.png     the weights of (up to) 100 hidden units as images
//!   samples.png     64 model samples (block Gibbs)
//!   logz.json       written by `ebm logz`
//! ```

mod logz;
mod train;

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use burn::tensor::{Device, Tensor, TensorData};
use clap::{Args, Subcommand};
use ebm_core::Rbm;
use ebm_data::{ImageSet, LoadOptions, load_images};
use ebm_train::{FitConfig, RbmTrainConfig, RunDir};
use serde::{Deserialize, Serialize};

pub use logz::{LogzArgs, run_logz};

/// Arguments of `ebm rbm`.
#[derive(Debug, Args)]
pub struct RbmArgs {
    #[command(subcommand)]
    command: RbmCommand,
}

#[derive(Debug, Subcommand)]
enum RbmCommand {
    /// Train a Bernoulli-Bernoulli RBM on binarised images by CD-k or persistent CD; writes a
    /// run folder with settings, metrics, checkpoints, filter and sample grids.
    Train(train::RbmTrainArgs),
}

/// Runs `ebm rbm ...`.
pub fn run(args: RbmArgs) -> Result<()> {
    match args.command {
        RbmCommand::Train(a) => train::train(a),
    }
}

/// Every setting of an RBM run (`config.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RbmRunConfig {
    /// The images.
    pub data: PathBuf,
    /// A seeded, stratified sample of this many images, if set.
    pub limit: Option<usize>,
    /// Fraction held out (stratified) for `ebm logz`.
    pub holdout: f64,
    /// A pixel is on when its grey level exceeds this fraction of white.
    pub threshold: f64,
    /// The RBM recipe (its seed also seeds the split and the subset).
    pub train: RbmTrainConfig,
    /// The loop; its seed and batch size follow `train`'s.
    pub fit: FitConfig,
}

/// The binarised data of a run.
pub struct Split {
    /// Image rows.
    pub height: usize,
    /// Image columns.
    pub width: usize,
    /// Training visibles `[n, h * w]`, row-major.
    pub train: Vec<f32>,
    /// Held-out visibles.
    pub held_out: Vec<f32>,
}

impl Split {
    /// Visible units per image.
    pub fn dim(&self) -> usize {
        self.height * self.width
    }

    /// Training images.
    pub fn train_len(&self) -> usize {
        self.train.len() / self.dim()
    }

    /// Held-out images.
    pub fn held_out_len(&self) -> usize {
        self.held_out.len() / self.dim()
    }
}

/// Binary visibles of grey images in `[-1, 1]`: on where the grey level exceeds `threshold` of
/// white.
fn binarise(set: &ImageSet, threshold: f64) -> Vec<f32> {
    let cut = (2.0 * threshold - 1.0) as f32;
    set.images
        .iter()
        .map(|&x| if x > cut { 1.0 } else { 0.0 })
        .collect()
}

/// `[n, d]` visibles on `device`.
pub fn to_tensor(values: &[f32], n: usize, d: usize, device: &Device) -> Tensor<2> {
    Tensor::from_data(TensorData::new(values.to_vec(), [n, d]), device)
}

/// The run's images: the stratified subset, split (stratified) into training and held-out
/// parts, binarised.
pub fn load_split(config: &RbmRunConfig) -> Result<Split> {
    let path = &config.data;
    let mut data = load_images(path, &LoadOptions::grey())
        .with_context(|| format!("reading {}", path.display()))?;
    if data.channels != 1 {
        bail!("{}: the RBM needs grey images", path.display());
    }
    let seed = config.train.seed;
    if let Some(l) = config.limit.filter(|&l| l < data.len()) {
        data = data.stratified(l, seed)?;
    }
    let (train, held) = data
        .split(seed, config.holdout)
        .context("splitting off the held-out images")?;
    Ok(Split {
        height: data.height,
        width: data.width,
        train: binarise(&train, config.threshold),
        held_out: binarise(&held, config.threshold),
    })
}

/// The run's settings and its RBM at the latest checkpoint, on `device`.
pub fn load_run(dir: &RunDir, device: &Device) -> Result<(RbmRunConfig, Rbm)> {
    let config: RbmRunConfig = dir.read_config().with_context(|| {
        format!(
            "reading the RBM run {} (train one with `ebm rbm train`)",
            dir.root().display()
        )
    })?;
    let ckpt = dir
        .checkpoints()
        .latest()
        .with_context(|| format!("run {} has no checkpoint", dir.root().display()))?;
    let rbm = ebm_train::load_rbm(&ckpt, device)
        .with_context(|| format!("loading the RBM of {}", dir.root().display()))?;
    Ok((config, rbm))
}
