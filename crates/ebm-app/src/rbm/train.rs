//! `ebm rbm train`: an RBM on binarised digits by CD-k or PCD, through the one training loop.

use std::path::{Path, PathBuf};

use anyhow::Result;
use burn::module::Module;
use clap::Args;
use ebm_core::{BaseRateRbm, Rbm, SeededRng};
use ebm_mcmc::BlockGibbs;
use ebm_train::{FitConfig, FnBatches, RbmTrainConfig, RbmTrainer, RunDir, TrainError};

use super::{RbmRunConfig, Split, load_split, to_tensor};
use crate::args::{FitArgs, RunArgs, fit_loop, reached_end, set_flag};
use crate::output::write_grid;

/// Arguments of `ebm rbm train`. On `--resume` the saved settings hold; a flag that differs
/// from them is an error naming it.
#[derive(Debug, Args)]
pub struct RbmTrainArgs {
    #[command(flatten)]
    run: RunArgs,
    #[command(flatten)]
    fit: FitArgs,
    /// Images: an IDX images file, a folder with IDX files, or an image folder (grey)
    /// [default: datasets/mnist-4k].
    #[arg(long)]
    data: Option<PathBuf>,
    /// Hidden units (at most 20 allows an exact log Z) [default: 500].
    #[arg(long)]
    hidden: Option<usize>,
    /// Batch size (and persistent chains, with --pcd) [default: 100].
    #[arg(long)]
    batch_size: Option<usize>,
    /// Gibbs sweeps per parameter step (k of CD-k) [default: 1].
    #[arg(long)]
    k: Option<usize>,
    /// Persistent CD instead of CD-k.
    #[arg(long)]
    pcd: bool,
    /// Adam learning rate [default: 1e-3].
    #[arg(long)]
    lr: Option<f64>,
    /// L2 weight decay [default: 1e-4].
    #[arg(long)]
    weight_decay: Option<f64>,
    /// Fraction of the images held out (stratified) for `ebm logz` [default: 0.2].
    #[arg(long)]
    holdout: Option<f64>,
    /// A pixel is on when its grey level exceeds this fraction of white [default: 0.5].
    #[arg(long)]
    threshold: Option<f64>,
    /// Train on a seeded, stratified sample of this many images.
    #[arg(long)]
    limit: Option<usize>,
}

/// Runs `ebm rbm train`.
pub fn train(args: RbmTrainArgs) -> Result<()> {
    let device = args.run.device.device()?;
    let dir = args.run.dir("rbm");
    let config = settings(&args, &dir)?;
    let split = load_split(&config)?;
    dir.write_config(&config)?;
    let d = split.dim();
    let n = split.train_len();
    let mut trainer = RbmTrainer::new(
        d,
        config.train.clone(),
        Some(&visible_means(&split)),
        &device,
    )?;
    println!(
        "training an RBM ({d} visible, {} hidden) by {} on {n} binarised images ({} held out), device {:?}; writing {}",
        config.train.n_hidden,
        config.train.method(),
        split.held_out_len(),
        args.run.device,
        dir.root().display()
    );
    let bits = &split.train;
    let batches = FnBatches::new(n, |idx: &[usize]| -> Result<_, TrainError> {
        let mut batch = Vec::with_capacity(idx.len() * d);
        for &i in idx {
            batch.extend_from_slice(&bits[i * d..(i + 1) * d]);
        }
        Ok(to_tensor(&batch, idx.len(), d, &device))
    });
    let outcome =
        fit_loop(&dir, config.fit.clone(), args.fit.resume).run(&mut trainer, &batches)?;
    if !reached_end(&outcome) {
        crate::report::refresh(&dir);
        return Ok(());
    }
    let rbm = trainer.model().valid();
    write_filters(&dir.file("filters.png"), &rbm, split.height, split.width)?;
    write_samples(&dir, &rbm, &split, config.train.seed, &device)?;
    crate::report::refresh(&dir);
    println!(
        "done: {} steps; filters in {}, held-out log-likelihood with `ebm logz --run {}`",
        trainer.steps_done(),
        dir.file("filters.png").display(),
        dir.root().display()
    );
    Ok(())
}

/// The run's settings: saved (`--resume`), from `--config`, or the defaults, with the flags
/// applied.
fn settings(args: &RbmTrainArgs, dir: &RunDir) -> Result<RbmRunConfig> {
    let resume = args.fit.resume;
    let mut c: RbmRunConfig = args.fit.base_config(dir, || {
        Ok(RbmRunConfig {
            data: PathBuf::from("datasets/mnist-4k"),
            limit: None,
            holdout: 0.2,
            threshold: 0.5,
            train: RbmTrainConfig::default(),
            fit: FitConfig::new(42, 100, 20),
        })
    })?;
    set_flag(resume, "--data", &mut c.data, args.data.clone())?;
    set_flag(resume, "--limit", &mut c.limit, args.limit.map(Some))?;
    set_flag(resume, "--holdout", &mut c.holdout, args.holdout)?;
    set_flag(resume, "--threshold", &mut c.threshold, args.threshold)?;
    let t = &mut c.train;
    set_flag(resume, "--seed", &mut t.seed, args.fit.seed)?;
    set_flag(resume, "--hidden", &mut t.n_hidden, args.hidden)?;
    set_flag(resume, "--batch-size", &mut t.batch_size, args.batch_size)?;
    set_flag(resume, "--k", &mut t.gibbs_steps, args.k)?;
    set_flag(resume, "--pcd", &mut t.persistent, args.pcd.then_some(true))?;
    set_flag(resume, "--lr", &mut t.lr, args.lr)?;
    set_flag(
        resume,
        "--weight-decay",
        &mut t.weight_decay,
        args.weight_decay,
    )?;
    if !(c.threshold > 0.0 && c.threshold < 1.0) {
        anyhow::bail!("--threshold must lie in (0, 1), got {}", c.threshold);
    }
    c.fit.seed = c.train.seed;
    c.fit.batch_size = c.train.batch_size;
    args.fit.apply(&mut c.fit)?;
    c.train.validate()?;
    Ok(c)
}

/// The mean of every visible unit over the training images.
fn visible_means(split: &Split) -> Vec<f64> {
    let (d, n) = (split.dim(), split.train_len());
    let mut sums = vec![0.0f64; d];
    for row in split.train.chunks_exact(d) {
        for (s, &x) in sums.iter_mut().zip(row) {
            *s += f64::from(x);
        }
    }
    sums.iter().map(|s| s / n as f64).collect()
}

/// 64 chains from the training digits' base rate, 1000 Gibbs sweeps, as `samples.png`.
fn write_samples(
    dir: &RunDir,
    rbm: &Rbm,
    split: &Split,
    seed: u64,
    device: &burn::tensor::Device,
) -> Result<()> {
    let mut rng = SeededRng::new(seed + 1);
    let base = BaseRateRbm::from_data(&split.train, split.dim(), 1.0, device)?;
    let start = base.sample(64, &mut rng);
    let samples = BlockGibbs::new(1000)?
        .run(rbm, start, &mut rng)
        .visible_probs;
    let values: Vec<f32> = samples
        .into_data()
        .try_to_vec::<f32>()
        .map_err(|e| anyhow::anyhow!("reading the samples back: {e:?}"))?
        .into_iter()
        .map(|p| 2.0 * p - 1.0)
        .collect();
    write_grid(
        &dir.file("samples.png"),
        &values,
        [64, 1, split.height, split.width],
        8,
        2,
    )
}

/// The weights into (up to) 100 hidden units as `h x w` images, each scaled by its largest
/// absolute weight to `[-1, 1]` (grey 0.5 is zero).
fn write_filters(path: &Path, rbm: &Rbm, h: usize, w: usize) -> Result<()> {
    let p = rbm.params();
    let (nv, nh) = (p.n_visible, p.n_hidden);
    let shown = nh.min(100);
    let mut values = vec![0.0f32; shown * nv];
    for j in 0..shown {
        let col: Vec<f64> = (0..nv).map(|i| p.weights[i * nh + j]).collect();
        let scale = col.iter().fold(1e-12f64, |m, x| m.max(x.abs()));
        for i in 0..nv {
            values[j * nv + i] = (col[i] / scale) as f32;
        }
    }
    write_grid(path, &values, [shown, 1, h, w], 10, 2)
}
