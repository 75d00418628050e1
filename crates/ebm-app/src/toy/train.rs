//! Training on a toy set: the recipe ([`toy_config`]), the run's settings ([`ToyRunConfig`],
//! `config.json`) and training through the one loop.

use anyhow::{Result, bail};
use burn::tensor::{Device, Tensor, TensorData};
use ebm_core::{MlpEnergy, MlpEnergyConfig, SeededRng};
use ebm_data::ToyDataset;
use ebm_train::{
    FitConfig, FitState, FnBatches, InitDistribution, NegativeConfig, OptimizerConfig, RunDir,
    SamplerConfig, Stopped, TrainConfig, TrainError, Trainer,
};
use serde::{Deserialize, Serialize};

use super::ToyArgs;
use crate::args::{fit_loop, set_flag};

/// The training recipe of `ebm toy` for a run of `steps` steps.
///
/// CD-20: chains start at the data batch and take 20 MALA steps of size `eps = 0.02`
/// (`x' = x - eps dE/dx + sqrt(2 eps) z`, then a Metropolis test) per parameter step; batch 256,
/// `alpha = 0.001`, Adam with learning rate 3e-3, betas (0.9, 0.999), divided by 5 for the last
/// third of the steps, gradient norm clip 1. The persistent alternative (`--negatives pcd`): a
/// replay buffer of 10,000 chains, 5% restarted from uniform `[-4.5, 4.5)^2` per step.
///
/// Why CD: MALA's local moves cannot carry persistent chains between well-separated modes, so in
/// a buffer a mode's share of the chains is set by where uniform restarts happened to land, and
/// the model is trained to compensate (8gaussians +0.16 nats over the KDE, rings +0.53, and
/// longer PCD runs diverged). Chains started at the data inherit the data's mode weights; at the
/// optimum they start in the model's stationary distribution and MALA keeps them there.
pub fn toy_config(steps: usize, seed: u64) -> TrainConfig {
    TrainConfig {
        seed,
        batch_size: 256,
        alpha: 0.001,
        data_noise: 0.0,
        sampler_steps: 20,
        sampler: SamplerConfig::Mala { eps: 0.02 },
        negatives: NegativeConfig::CdK,
        init: InitDistribution::Uniform { lo: -4.5, hi: 4.5 },
        optimizer: OptimizerConfig {
            lr: 3e-3,
            beta1: 0.9,
            beta2: 0.999,
            lr_decay_every: Some((2 * steps / 3).max(1)),
            lr_decay: 0.2,
            grad_clip_norm: Some(1.0),
        },
        checkpoint_every: steps.max(1),
    }
}

/// Every setting of one toy run (`config.json` of its run folder).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToyRunConfig {
    /// The toy set's name.
    pub dataset: String,
    /// The run's seed: the data draws, the initialisation, the data order, every sampler.
    pub seed: u64,
    /// Parameter steps of the recipe.
    pub steps: usize,
    /// Training points.
    pub n_train: usize,
    /// Validation points (the KDE's bandwidth).
    pub n_val: usize,
    /// Held-out points (NLL and MMD).
    pub n_test: usize,
    /// Quadrature points per axis.
    pub grid: usize,
    /// Fresh model samples for MMD and the plots.
    pub n_samples: usize,
    /// Sampler steps of the chains that make the model samples.
    pub sample_steps: usize,
    /// Hidden widths of the MLP energy.
    pub hidden: Vec<usize>,
    /// The CD recipe ([`toy_config`] with the overrides).
    pub train: TrainConfig,
    /// The loop: the epochs cover `steps`; its seed is the run's, its batch size `train`'s.
    pub fit: FitConfig,
}

/// The seeds of a run, drawn in this order from its seed: the training, validation and test
/// draws, the trainer's stream, the initialisation and the model samples' chains.
pub struct Seeds {
    /// Training points.
    pub train: u64,
    /// Validation points.
    pub val: u64,
    /// Held-out points.
    pub test: u64,
    /// The trainer (negatives) and the data order.
    pub trainer: u64,
    /// The network's initialisation.
    pub init: u64,
    /// The chains of the model samples.
    pub samples: u64,
}

impl Seeds {
    /// The seeds of the run seed `seed`.
    pub fn of(seed: u64) -> Self {
        let mut rng = SeededRng::new(seed);
        let mut next = || rng.next_u64();
        Self {
            train: next(),
            val: next(),
            test: next(),
            trainer: next(),
            init: next(),
            samples: next(),
        }
    }
}

fn defaults(set: ToyDataset) -> ToyRunConfig {
    ToyRunConfig {
        dataset: set.name().to_string(),
        seed: 0,
        steps: 6000,
        n_train: 10_000,
        n_val: 2_000,
        n_test: 5_000,
        grid: 300,
        n_samples: 2_000,
        sample_steps: 500,
        hidden: vec![128, 128],
        train: toy_config(6000, 0),
        fit: FitConfig::new(0, 256, 1),
    }
}

/// The settings of the run of `set` in `dir`: saved (`resume`), from `--config`, or the
/// defaults, with the flags applied. `--max-steps` is part of the run's plan, as for every
/// command: `--resume` alone keeps it, `--resume --max-steps N` changes it.
/// `set` is the set the command names (each set of `all`, or `--dataset`), if any.
pub fn settings(
    args: &ToyArgs,
    set: Option<ToyDataset>,
    dir: &RunDir,
    resume: bool,
) -> Result<ToyRunConfig> {
    if args.fit.epochs.is_some() {
        bail!("ebm toy's length is --steps (parameter steps), not --epochs");
    }
    let mut c = args
        .fit
        .base_config(dir, || Ok(defaults(set.unwrap_or(ToyDataset::Moons))))?;
    let name = set.map(|s| s.name().to_string());
    set_flag(resume, "--dataset", &mut c.dataset, name)?;
    set_flag(resume, "--seed", &mut c.seed, args.fit.seed)?;
    set_flag(resume, "--steps", &mut c.steps, args.steps)?;
    set_flag(resume, "--n-train", &mut c.n_train, args.n_train)?;
    set_flag(resume, "--n-val", &mut c.n_val, args.n_val)?;
    set_flag(resume, "--n-test", &mut c.n_test, args.n_test)?;
    set_flag(resume, "--grid", &mut c.grid, args.grid)?;
    set_flag(resume, "--n-samples", &mut c.n_samples, args.n_samples)?;
    set_flag(
        resume,
        "--sample-steps",
        &mut c.sample_steps,
        args.sample_steps,
    )?;
    set_flag(resume, "--hidden", &mut c.hidden, args.hidden.clone())?;
    recipe_flags(args, &mut c.train, resume)?;
    check_sizes(&c)?;
    if !resume {
        c.train.seed = Seeds::of(c.seed).trainer;
        c.train.optimizer.lr_decay_every = Some((2 * c.steps / 3).max(1));
        c.train.checkpoint_every = c.steps.max(1);
    }
    c.fit.seed = c.seed;
    c.fit.batch_size = c.train.batch_size.min(c.n_train);
    c.fit.epochs = c.steps.div_ceil(c.n_train / c.fit.batch_size);
    args.fit.apply(&mut c.fit)?;
    c.train.validate()?;
    Ok(c)
}

/// The overrides of the recipe.
fn recipe_flags(args: &ToyArgs, t: &mut TrainConfig, resume: bool) -> Result<()> {
    let sampler = args.eps.map(|eps| SamplerConfig::Mala { eps });
    set_flag(resume, "--eps", &mut t.sampler, sampler)?;
    set_flag(
        resume,
        "--sampler-steps",
        &mut t.sampler_steps,
        args.sampler_steps,
    )?;
    set_flag(resume, "--lr", &mut t.optimizer.lr, args.lr)?;
    set_flag(resume, "--alpha", &mut t.alpha, args.alpha)?;
    let negatives = match args.negatives.as_deref() {
        None => None,
        Some("cd") => Some(NegativeConfig::CdK),
        Some("pcd") => Some(NegativeConfig::Persistent {
            capacity: 10_000,
            reinit_prob: args.reinit.unwrap_or(0.05),
            reinit_noise: 0.0,
        }),
        Some(other) => bail!("--negatives must be cd or pcd, got {other:?}"),
    };
    set_flag(resume, "--negatives", &mut t.negatives, negatives)?;
    if args.reinit.is_some() && !matches!(t.negatives, NegativeConfig::Persistent { .. }) {
        bail!("--reinit needs --negatives pcd");
    }
    Ok(())
}

fn check_sizes(c: &ToyRunConfig) -> Result<()> {
    if c.n_train < 2 || c.n_val < 1 || c.n_test < 2 || c.n_samples < 2 {
        bail!("need --n-train >= 2, --n-val >= 1, --n-test >= 2 and --n-samples >= 2");
    }
    if c.grid < 3 {
        bail!("--grid must be at least 3, got {}", c.grid);
    }
    if c.steps == 0 {
        bail!("--steps must be at least 1");
    }
    Ok(())
}

/// The MLP energy of a run, freshly initialised on `device` (autodiff for training).
pub fn build_model(c: &ToyRunConfig, device: &Device) -> Result<MlpEnergy> {
    Ok(MlpEnergyConfig::new(2)
        .with_hidden(c.hidden.clone())
        .init(device, Seeds::of(c.seed).init)?)
}

/// The rows `idx` of the flat `[x0, y0, x1, y1, ...]` list as a `[n, 2]` tensor.
pub fn points_at(flat: &[f32], idx: &[usize], device: &Device) -> Tensor<2> {
    let values: Vec<f32> = idx
        .iter()
        .flat_map(|&i| [flat[2 * i], flat[2 * i + 1]])
        .collect();
    Tensor::from_data(TensorData::new(values, [idx.len(), 2]), device)
}

/// Trains `trainer` on the training points through the loop; the loop's state and why it
/// stopped.
pub fn fit(
    dir: &RunDir,
    c: &ToyRunConfig,
    train: &[[f32; 2]],
    resume: bool,
    trainer: &mut Trainer<2, MlpEnergy>,
    device: &Device,
) -> Result<(FitState, Stopped)> {
    let flat: Vec<f32> = train.iter().flatten().copied().collect();
    let batches = FnBatches::new(
        train.len(),
        |idx: &[usize]| -> Result<Tensor<2>, TrainError> { Ok(points_at(&flat, idx, device)) },
    );
    let mut fit = c.fit.clone();
    fit.max_steps = Some(fit.max_steps.map_or(c.steps, |m| m.min(c.steps)));
    let outcome = fit_loop(dir, fit, resume).run(trainer, &batches)?;
    Ok((outcome.state, outcome.stopped))
}
