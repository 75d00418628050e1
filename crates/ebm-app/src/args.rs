//! Arguments every command shares: the run folder, the device, the seed, and how a training
//! run starts, resumes and stops.

use std::fmt::Debug;
use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use burn::tensor::Device;
use clap::{Args, ValueEnum};
use ebm_core::{BackendKind, device_from_word};
use ebm_train::fit::{Fit, FitOutcome, Interrupt, Learner, Stopped};
use ebm_train::{FitConfig, NegativeConfig, OnDivergence, RunDir, TrainConfig};

/// The backend to run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DeviceArg {
    /// burn's pure-Rust `flex` backend on the CPU (always built).
    Cpu,
    /// burn `wgpu` on the best GPU adapter (build with `--features wgpu`).
    Wgpu,
    /// burn `wgpu` through Vulkan with SPIR-V kernels (build with `--features vulkan`).
    Vulkan,
    /// burn `cuda` on NVIDIA GPUs (build with `--features cuda`).
    Cuda,
}

impl DeviceArg {
    /// The burn device; an error naming the Cargo feature if the backend is not compiled in.
    pub fn device(self) -> Result<Device> {
        let kind = match self {
            Self::Cpu => BackendKind::Cpu,
            Self::Wgpu => BackendKind::Wgpu,
            Self::Vulkan => BackendKind::Vulkan,
            Self::Cuda => BackendKind::Cuda,
        };
        Ok(device_from_word(kind.word())?)
    }
}

/// The run folder and the device: what every command that reads or writes a run takes.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// The run folder: a single name under `runs/`, or a path (anything with a `/`, or an
    /// existing folder).
    #[arg(long)]
    pub run: Option<PathBuf>,
    /// Device.
    #[arg(long, value_enum, default_value_t = DeviceArg::Cpu)]
    pub device: DeviceArg,
}

impl RunArgs {
    /// The run folder, `runs/<default>` when `--run` is not given.
    pub fn dir(&self, default: &str) -> RunDir {
        RunDir::resolve(self.run.as_deref().unwrap_or(Path::new(default)))
    }

    /// The run folder of a command that reads a trained run: it must exist.
    pub fn existing(&self, default: &str) -> Result<RunDir> {
        let dir = self.dir(default);
        if !dir.root().is_dir() {
            bail!(
                "run folder {} does not exist (train one first, or name it with --run)",
                dir.root().display()
            );
        }
        Ok(dir)
    }
}

/// How a training run starts, resumes and stops: the flags of the one training loop.
#[derive(Debug, Clone, Args)]
pub struct FitArgs {
    /// Continue the run from its last checkpoint with its saved settings; flags that conflict
    /// with them are an error (only --epochs, --max-steps and --minutes may change).
    #[arg(long)]
    pub resume: bool,
    /// Start a new run from the settings in this file (a run's `config.json`); flags given as
    /// well override it.
    #[arg(long, conflicts_with = "resume")]
    pub config: Option<PathBuf>,
    /// Seed of the run (data order, initialisation, samplers).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Epochs (passes over the training data).
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Stop after this many parameter steps in all.
    #[arg(long)]
    pub max_steps: Option<usize>,
    /// Stop (with a checkpoint) after this many minutes of training in all.
    #[arg(long)]
    pub minutes: Option<f64>,
    /// When a step diverges (NaN or infinite loss, energy or gradient): `stop` with an error,
    /// or `restore` the last checkpoint, halve the learning rate, reseed and go on.
    #[arg(long, value_enum)]
    pub on_divergence: Option<DivergenceArg>,
    /// With `--on-divergence restore`: the most restores before the run stops.
    #[arg(long, default_value_t = 3)]
    pub max_restores: usize,
}

/// What a divergence does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DivergenceArg {
    /// Stop with an error; the last checkpoint is kept.
    Stop,
    /// Restore the last checkpoint, halve the learning rate, reseed, go on.
    Restore,
}

impl FitArgs {
    /// The settings a run starts from: the saved ones on `--resume`, those of `--config FILE`,
    /// or `defaults()`.
    pub fn base_config<C: serde::de::DeserializeOwned>(
        &self,
        dir: &RunDir,
        defaults: impl FnOnce() -> Result<C>,
    ) -> Result<C> {
        if self.resume {
            Ok(dir.read_config()?)
        } else if let Some(path) = &self.config {
            Ok(ebm_train::fit::read_config_file(path)?)
        } else {
            defaults()
        }
    }

    /// Applies the loop flags to `fit` (the saved or default settings). Every flag may change
    /// on a new run; on `--resume`, only the length of the run may, and the divergence policy.
    pub fn apply(&self, fit: &mut FitConfig) -> Result<()> {
        if let Some(seed) = self.seed {
            keep_on_resume(self.resume, "--seed", &fit.seed, &seed)?;
            fit.seed = seed;
        }
        if let Some(e) = self.epochs {
            fit.epochs = e;
        }
        if let Some(m) = self.max_steps {
            fit.max_steps = Some(m);
        }
        if let Some(m) = self.minutes {
            fit.budget_seconds = Some(m * 60.0);
        }
        match self.on_divergence {
            Some(DivergenceArg::Stop) => fit.on_divergence = OnDivergence::Stop,
            Some(DivergenceArg::Restore) => {
                fit.on_divergence = OnDivergence::Restore {
                    max_restores: self.max_restores,
                }
            }
            None => {}
        }
        Ok(fit.validate()?)
    }
}

/// Sets `*saved = flag` for a new run; on resume, a flag that differs from the saved value is
/// an error naming it.
pub fn set_flag<T: PartialEq + Debug + Clone>(
    resume: bool,
    name: &str,
    saved: &mut T,
    flag: Option<T>,
) -> Result<()> {
    if let Some(v) = flag {
        keep_on_resume(resume, name, saved, &v)?;
        *saved = v;
    }
    Ok(())
}

fn keep_on_resume<T: PartialEq + Debug>(
    resume: bool,
    name: &str,
    saved: &T,
    flag: &T,
) -> Result<()> {
    if resume && saved != flag {
        bail!(
            "{name} {flag:?} conflicts with the resumed run's saved value {saved:?}: drop the flag to continue the run as it was, or start a new run"
        );
    }
    Ok(())
}

/// The loop of a command's run: resumed when asked, stopped cleanly (with a checkpoint) by
/// Ctrl-C, its `report.html` refreshed after every epoch, unless the last refresh is younger
/// than [`REPORT_COST`] times what it took (so reports cost at most ~5% of a run of short
/// epochs). The command's own hooks are added later, so they run after the refresh: the newest
/// epoch's pictures reach the next report, and the command writes the final one when it ends.
pub fn fit_loop<L: Learner>(dir: &RunDir, config: FitConfig, resume: bool) -> Fit<'_, L> {
    let mut last: Option<(std::time::Instant, std::time::Duration)> = None;
    Fit::new(dir, config)
        .resume(resume)
        .interrupt(Interrupt::on_ctrl_c())
        .on_epoch(move |_: &L, _| {
            if last.is_none_or(|(at, took)| at.elapsed() >= took * REPORT_COST) {
                let start = std::time::Instant::now();
                crate::report::refresh(dir);
                last = Some((std::time::Instant::now(), start.elapsed()));
            }
            Ok(())
        })
}

/// How many times its own cost a report waits before the next refresh.
pub const REPORT_COST: u32 = 20;

/// Whether the loop reached the run's planned end; if not, says where it stopped and how to go
/// on.
pub fn reached_end(outcome: &FitOutcome) -> bool {
    if outcome.stopped == Stopped::Finished {
        return true;
    }
    println!(
        "stopped at step {} of {}: continue with --resume",
        outcome.state.step, outcome.total_steps
    );
    false
}

/// The flags of a contrastive-divergence recipe on images, shared by `train` and
/// `train-conditional`. A flag left out keeps the saved setting or the command's default.
#[derive(Debug, Args)]
pub struct RecipeArgs {
    /// Training images: an IDX images file, a folder with IDX files, or an image folder (class
    /// sub-folders give labels) [default: datasets/mnist-4k].
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Use a seeded, stratified sample of this many images (every class in proportion).
    #[arg(long)]
    pub limit: Option<usize>,
    /// Network width `h` [default: train 32, train-conditional 16].
    #[arg(long)]
    pub hidden: Option<usize>,
    /// Batch size [default: train 128, train-conditional 64].
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// Sampler steps per parameter step [default: train 60, train-conditional 20].
    #[arg(long)]
    pub sampler_steps: Option<usize>,
    /// Replay-buffer capacity [default: train 8192, train-conditional 4096].
    #[arg(long)]
    pub buffer: Option<usize>,
    /// Adam learning rate [default: train 5e-4, train-conditional 2e-4].
    #[arg(long)]
    pub lr: Option<f64>,
    /// Multiply the learning rate by `--lr-decay` every this many parameter steps (step decay)
    /// [default: never].
    #[arg(long, value_name = "STEPS")]
    pub lr_decay_every: Option<usize>,
    /// The factor of `--lr-decay-every` [default: 0.1].
    #[arg(long, requires = "lr_decay_every")]
    pub lr_decay: Option<f64>,
    /// Where negative chains start [default: persistent].
    #[arg(long, value_enum)]
    pub negatives: Option<Negatives>,
    /// Persistent CD: the share of the replay buffer's fresh draws (its first fill and its
    /// re-initialisations) taken from uniform noise instead of the base of fresh chains [default: 0].
    #[arg(long, value_name = "SHARE")]
    pub reinit_noise: Option<f64>,
}

/// Where the negative chains of contrastive divergence start (`--negatives`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Negatives {
    /// From a replay buffer of past negatives, a few re-initialised from noise (the tutorial's).
    Persistent,
    /// Every chain from noise: the model learns to be sampled by its short chains from noise.
    ShortRun,
    /// Every chain from the data batch (CD-k).
    CdK,
}

impl RecipeArgs {
    /// The training images: `--data`, or the embedded digits.
    pub fn data_or_default(&self) -> PathBuf {
        self.data
            .clone()
            .unwrap_or_else(|| PathBuf::from("datasets/mnist-4k"))
    }

    /// Applies the flags to the run's data, sample size and width, and to the CD recipe `t`
    /// (with `seed`); on `resume`, a flag that differs from the saved value is an error naming it.
    pub fn apply(
        &self,
        resume: bool,
        (data, limit, hidden): (&mut PathBuf, &mut Option<usize>, &mut usize),
        seed: Option<u64>,
        t: &mut TrainConfig,
    ) -> Result<()> {
        set_flag(resume, "--data", data, self.data.clone())?;
        set_flag(resume, "--limit", limit, self.limit.map(Some))?;
        set_flag(resume, "--hidden", hidden, self.hidden)?;
        set_flag(resume, "--seed", &mut t.seed, seed)?;
        set_flag(resume, "--batch-size", &mut t.batch_size, self.batch_size)?;
        let steps = self.sampler_steps;
        set_flag(resume, "--sampler-steps", &mut t.sampler_steps, steps)?;
        set_flag(resume, "--lr", &mut t.optimizer.lr, self.lr)?;
        let every = self.lr_decay_every.map(Some);
        set_flag(
            resume,
            "--lr-decay-every",
            &mut t.optimizer.lr_decay_every,
            every,
        )?;
        let factor = self.lr_decay.or(self.lr_decay_every.map(|_| 0.1));
        set_flag(resume, "--lr-decay", &mut t.optimizer.lr_decay, factor)?;
        if let Some(kind) = self.negatives {
            let chosen = match (kind, &t.negatives) {
                (Negatives::Persistent, saved @ NegativeConfig::Persistent { .. }) => saved.clone(),
                (Negatives::Persistent, _) => TrainConfig::uva_images().negatives,
                (Negatives::ShortRun, _) => NegativeConfig::ShortRun,
                (Negatives::CdK, _) => NegativeConfig::CdK,
            };
            set_flag(resume, "--negatives", &mut t.negatives, Some(chosen))?;
        }
        match &mut t.negatives {
            NegativeConfig::Persistent {
                capacity,
                reinit_noise,
                ..
            } => {
                set_flag(resume, "--buffer", capacity, self.buffer)?;
                set_flag(resume, "--reinit-noise", reinit_noise, self.reinit_noise)?;
            }
            _ if self.reinit_noise.is_some() => {
                bail!("--reinit-noise needs --negatives persistent")
            }
            _ => {}
        }
        Ok(())
    }
}
