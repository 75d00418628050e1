//! The conditional run: its settings (`config.json` in the run folder), the labelled data and
//! held-out split every conditional command shares, and how `classify` and `compose` load a
//! trained network.
//!
//! ```text
//! runs/poe/<target>/
//!   config.json       ConditionalRunConfig: target, data, network, recipe, loop settings
//!   metrics.jsonl     one line per parameter step
//!   checkpoints/      step-XXXXXXXX/ (model, optimiser, replay buffer, RNG) and `latest`
//!   summary.json      held-out accuracy of argmin_y E(x, y) at the end
//!   buffer.png        replay-buffer samples (joint CD)
//! ```

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use burn::tensor::Device;
use ebm_core::{ConditionalNet, ConditionalNetConfig};
use ebm_data::{ImageSet, LoadOptions, load_images};
use ebm_train::conditional_io::load_net;
use ebm_train::{ClassGaussians, ConditionalTrainConfig, FitConfig, RunDir};
use serde::{Deserialize, Serialize};

use crate::attributes::Attribute;

/// Seed of the train / held-out split (and of the stratified `--limit` sample) shared by every
/// conditional command.
pub const SPLIT_SEED: u64 = 2026;
/// Fraction of the data held out for testing.
pub const HELD_OUT: f64 = 0.2;

/// Every setting of a conditional run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConditionalRunConfig {
    /// What is learnt: `digit`, an attribute, or `judge`.
    pub target: String,
    /// The labelled data (path as given).
    pub data: PathBuf,
    /// Use a seeded, stratified sample of this many images (before the split), if set.
    pub limit: Option<usize>,
    /// The network.
    pub net: ConditionalNetConfig,
    /// The recipe and objective.
    pub train: ConditionalTrainConfig,
    /// The loop. Its seed, batch size and checkpoint interval follow `train`'s.
    pub fit: FitConfig,
}

impl ConditionalRunConfig {
    /// Makes the loop's seed, batch size and checkpoint interval those of the recipe.
    pub fn sync(&mut self) {
        self.fit.seed = self.train.train.seed;
        self.fit.batch_size = self.train.train.batch_size;
        self.fit.checkpoint_every = self.train.train.checkpoint_every;
    }
}

/// What a finished conditional run measured, written as `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConditionalSummary {
    /// The target.
    pub target: String,
    /// Parameter steps done.
    pub steps: usize,
    /// Accuracy of `argmin_y E(x, y)` on the held-out split.
    pub held_out_accuracy: f64,
    /// Held-out images.
    pub held_out: usize,
}

/// The labelled data split into `(train, held_out)` the same way for every command.
pub fn load_split(data: &Path, limit: Option<usize>) -> Result<(ImageSet, ImageSet)> {
    let mut set = load_images(data, &LoadOptions::grey())
        .with_context(|| format!("reading {}", data.display()))?;
    if set.labels.is_none() {
        bail!(
            "{} has no labels; conditional energies need labelled digits",
            data.display()
        );
    }
    if let Some(l) = limit.filter(|&l| l < set.len()) {
        set = set.stratified(l, SPLIT_SEED)?;
    }
    Ok(set.split(SPLIT_SEED, HELD_OUT)?)
}

/// The labels of an image set (an error if it has none).
pub fn digits(set: &ImageSet) -> Result<&[u8]> {
    set.labels
        .as_deref()
        .context("the images have no labels; conditional energies need labelled digits")
}

/// The labels of a target: digits as they are, attributes as 0/1.
pub fn target_labels(target: &str, digits: &[u8]) -> Result<(usize, Vec<usize>)> {
    Ok(match target {
        "digit" | "judge" => (10, digits.iter().map(|&d| usize::from(d)).collect()),
        other => {
            let a: Attribute = other.parse().with_context(|| {
                format!("unknown target `{other}`: expected digit, judge or an attribute")
            })?;
            (2, a.relabel(digits))
        }
    })
}

/// Per-class Gaussians of the target's classes fitted to the labelled images `set`.
pub fn fit_class_base(target: &str, set: &ImageSet) -> Result<ClassGaussians> {
    let (k, labels) = target_labels(target, digits(set)?)?;
    let item = set.channels * set.height * set.width;
    Ok(ClassGaussians::fit(&set.images, &labels, item, k)?)
}

/// Dims `[n, c, h, w]` of an image set.
pub fn dims(set: &ImageSet) -> [usize; 4] {
    [set.len(), set.channels, set.height, set.width]
}

/// The settings of the conditional run in `dir` and its network at the latest checkpoint, on
/// `device` (parameters not tracked).
pub fn load_conditional_run(
    dir: &RunDir,
    device: &Device,
) -> Result<(ConditionalRunConfig, ConditionalNet)> {
    let root = dir.root().display();
    let config: ConditionalRunConfig = dir
        .read_config()
        .with_context(|| format!("reading the conditional run {root}"))?;
    let ckpt = dir
        .checkpoints()
        .latest()
        .with_context(|| format!("run {root} has no checkpoint yet"))?;
    let template = config.net.init(device, 0)?;
    let net =
        load_net(template, &ckpt).with_context(|| format!("loading the network of {root}"))?;
    Ok((config, net))
}
