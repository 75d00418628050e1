//! The flags of `ebm restore-bench`.

use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::{Args, ValueEnum};
use serde::Serialize;

use super::corruptions::{Case, DEFAULT_CASES};
use super::sampler::AnnealConfig;
use crate::args::RunArgs;

/// Where the chains start.
#[derive(Debug, Clone, Copy, PartialEq, ValueEnum, Serialize)]
pub enum Init {
    /// `corrupted` for Gaussian noise, `knn` for salt and pepper; for a mask, `knn`,
    /// `neighbours` or `weighted`, whichever restores `--start-val` validation digits with the
    /// highest PSNR.
    Auto,
    /// At the energy-weighted mean of the nearest training images' completions.
    Weighted,
    /// Chain `c` at the completion by the image's `c`-th nearest training image alone.
    Neighbours,
    /// At the kNN completion (plus `--init-noise` on the free pixels).
    Knn,
    /// At the corrupted image.
    Corrupted,
    /// At uniform noise on the free pixels.
    Noise,
}

/// Arguments of `ebm restore-bench`.
#[derive(Debug, Args, Serialize)]
pub struct RestoreBenchArgs {
    /// The image run (`--run`, default runs/mnist) and the device.
    #[command(flatten)]
    #[serde(skip)]
    pub run: RunArgs,
    /// The judge classifier run (`ebm train-conditional --target judge`).
    #[arg(long, default_value = "runs/poe/judge")]
    pub judge: PathBuf,
    /// Labelled images (default: the run's data; its held-out split is used).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Held-out images restored: a seeded, stratified sample of every class.
    #[arg(long, default_value_t = 200)]
    pub n: usize,
    /// Validation images (from the training split) on which kNN's k is chosen.
    #[arg(long, default_value_t = 200)]
    pub val: usize,
    /// The cases, comma-separated: bottom, top, left, right, center, `random<percent>`,
    /// `gauss<sigma>`, `sp<fraction>`.
    #[arg(long, default_value = DEFAULT_CASES)]
    pub cases: String,
    /// MALA chains per image.
    #[arg(long, default_value_t = 4)]
    pub chains: usize,
    /// MALA steps per chain in all (annealing, then sampling).
    #[arg(long, default_value_t = 400)]
    pub steps: usize,
    /// The last steps, at the posterior itself, that the estimates average over.
    #[arg(long, default_value_t = 100)]
    pub keep: usize,
    /// Annealing stages.
    #[arg(long, default_value_t = 5)]
    pub stages: usize,
    /// Temperature multiplier of the first annealing stage (1: no annealing) [default: 1 for
    /// the masks, 30 for the noise cases].
    #[arg(long)]
    pub tau_start: Option<f64>,
    /// Temperature T of the model's energy in the posterior, exp(-E/T). The energy's scale is
    /// arbitrary and differs between models, so by default T is chosen per case on `--start-val`
    /// validation digits: from 1e-5, in half-decade steps while the posterior mean's PSNR rises.
    #[arg(long)]
    pub temperature: Option<f64>,
    /// Stiffness w of the quadratic wall w relu(|x| - 1)^2 that keeps pixels near [-1, 1]
    /// (the model sees the image clamped; 50: excursions of about 0.1).
    #[arg(long, default_value_t = 50.0)]
    pub wall: f64,
    /// Initial MALA step size (adapted chain by chain while annealing).
    #[arg(long, default_value_t = 1e-4)]
    pub step_size: f64,
    /// Rate of the step-size adaptation.
    #[arg(long, default_value_t = 0.3)]
    pub adapt_rate: f64,
    /// Where the chains start.
    #[arg(long, value_enum, default_value = "auto")]
    pub init: Init,
    /// Validation digits on which `--init auto` chooses the start of the mask cases, and the
    /// temperature is chosen when `--temperature` is not given.
    #[arg(long, default_value_t = 50)]
    pub start_val: usize,
    /// Standard deviation of the Gaussian jitter added to the start on the free pixels.
    #[arg(long, default_value_t = 0.0)]
    pub init_noise: f32,
    /// Likelihood width given to salt-and-pepper pixels at -1 or +1.
    #[arg(long, default_value_t = 0.5)]
    pub sp_sigma: f32,
    /// Restore validation images (from the training split, with the kNN bank the rest of it)
    /// instead of held-out ones: for choosing the sampler's settings without the test images.
    #[arg(long)]
    pub tune: bool,
    /// Seed of the sample, the corruptions and the chains.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output directory (default: the run's `restore-bench/`).
    #[arg(long)]
    #[serde(skip)]
    pub out: Option<PathBuf>,
}

impl RestoreBenchArgs {
    /// Fails, naming the flag, on a value that cannot work.
    pub fn validate(&self) -> Result<()> {
        let positive = [
            ("--n", self.n),
            ("--val", self.val),
            ("--start-val", self.start_val),
            ("--chains", self.chains),
            ("--steps", self.steps),
            ("--keep", self.keep),
            ("--stages", self.stages),
        ];
        if let Some((flag, _)) = positive.iter().find(|(_, v)| *v == 0) {
            bail!("{flag} must be at least 1");
        }
        if self.keep > self.steps {
            bail!(
                "--keep ({}) must not exceed --steps ({})",
                self.keep,
                self.steps
            );
        }
        let reals = [
            ("--temperature", self.temperature.unwrap_or(1.0), 0.0),
            ("--step-size", self.step_size, 0.0),
            ("--tau-start", self.tau_start.unwrap_or(1.0), 1.0 - 1e-12),
            ("--sp-sigma", f64::from(self.sp_sigma), 0.0),
        ];
        for (flag, v, min) in reals {
            if !(v.is_finite() && v > min) {
                bail!("{flag} must be finite and > {min:.0}, got {v}");
            }
        }
        let nonneg = [
            ("--wall", self.wall),
            ("--adapt-rate", self.adapt_rate),
            ("--init-noise", f64::from(self.init_noise)),
        ];
        for (flag, v) in nonneg {
            if !(v.is_finite() && v >= 0.0) {
                bail!("{flag} must be finite and >= 0, got {v}");
            }
        }
        self.cases().map(|_| ())
    }

    /// The cases to run.
    pub fn cases(&self) -> Result<Vec<Case>> {
        let cases: Vec<Case> = self
            .cases
            .split(',')
            .map(Case::parse)
            .collect::<Result<_>>()?;
        if cases.is_empty() {
            bail!("--cases is empty");
        }
        Ok(cases)
    }

    /// The sampler's settings for `case`.
    pub fn anneal(&self, case: Case) -> AnnealConfig {
        let tau = if case.is_inpainting() { 1.0 } else { 30.0 };
        AnnealConfig {
            chains: self.chains,
            steps: self.steps,
            keep: self.keep,
            stages: self.stages,
            tau_start: self.tau_start.unwrap_or(tau),
            step_size: self.step_size,
            adapt_rate: self.adapt_rate,
        }
    }
}
