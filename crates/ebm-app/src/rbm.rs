//! `ebm rbm train` (CD-k / PCD on binarised digits) and `ebm logz` (held-out log-likelihood of a
//! trained RBM: exact `log Z` by enumeration up to 20 hidden units, AIS beyond).
//!
//! ```text
//! runs/<name>/
//!   run.json        data, split, binarisation and training settings
//!   metrics.jsonl   one line per parameter step (free energies, reconstruction error, seconds)
//!   checkpoint/     model.bpk, optimizer.bpk, state.json (step, RNG, persistent chains)
//!   filters.png     the weights of (up to) 100 hidden units as 28x28 images
//!   samples.png     64 model samples (block Gibbs)
//!   logz.json       written by `ebm logz`
//! ```

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use burn::module::Module;
use burn::tensor::{Device, Tensor, TensorData};
use clap::{Args, Subcommand};
use ebm_core::rbm::{MAX_ENUMERATED_UNITS, log_z_exact};
use ebm_core::{BaseRateRbm, Rbm, SeededRng, device_from_word};
use ebm_data::{ImageSet, LoadOptions, load_images};
use ebm_mcmc::{BlockGibbs, Temperatures, ais_rbm, held_out_log_likelihood, reverse_ais_rbm};
use ebm_train::{RbmTrainConfig, RbmTrainer, load_rbm};
use serde::{Deserialize, Serialize};

use crate::output::{write_atomic, write_grid};

/// Arguments of `ebm rbm`.
#[derive(Debug, Args)]
pub struct RbmArgs {
    #[command(subcommand)]
    command: RbmCommand,
}

#[derive(Debug, Subcommand)]
enum RbmCommand {
    /// Train a Bernoulli-Bernoulli RBM on binarised images by CD-k or persistent CD; writes a
    /// run directory with settings, metrics, checkpoint, filter and sample grids.
    Train(RbmTrainArgs),
}

/// Arguments of `ebm rbm train`.
#[derive(Debug, Args)]
pub struct RbmTrainArgs {
    /// Images: an IDX images file, a folder with IDX files, or an image folder (grey).
    #[arg(long, default_value = "datasets/mnist-4k")]
    data: PathBuf,
    /// Device: cpu, wgpu, vulkan or cuda.
    #[arg(long, default_value = "cpu")]
    device: String,
    /// Hidden units (at most 20 allows an exact log Z).
    #[arg(long, default_value_t = 500)]
    hidden: usize,
    /// Epochs (passes over the training split).
    #[arg(long, default_value_t = 20)]
    epochs: usize,
    /// Batch size (and persistent chains, with --pcd).
    #[arg(long, default_value_t = 100)]
    batch_size: usize,
    /// Gibbs sweeps per parameter step (k of CD-k).
    #[arg(long, default_value_t = 1)]
    k: usize,
    /// Persistent CD instead of CD-k.
    #[arg(long)]
    pcd: bool,
    /// Adam learning rate.
    #[arg(long, default_value_t = 1e-3)]
    lr: f64,
    /// L2 weight decay.
    #[arg(long, default_value_t = 1e-4)]
    weight_decay: f64,
    /// Fraction of the images held out for `ebm logz`.
    #[arg(long, default_value_t = 0.2)]
    holdout: f64,
    /// A pixel is on when its grey level exceeds this fraction of white.
    #[arg(long, default_value_t = 0.5)]
    threshold: f64,
    /// Seed of the split, the initialisation and the chains.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Run name: the run is written to `<runs-dir>/<name>`.
    #[arg(long, default_value = "rbm")]
    name: String,
    /// Where runs live.
    #[arg(long, default_value = "runs")]
    runs_dir: PathBuf,
    /// Use only the first N images (quick runs).
    #[arg(long)]
    limit: Option<usize>,
    /// Stop after this many parameter steps (quick runs).
    #[arg(long)]
    max_steps: Option<usize>,
}

/// Arguments of `ebm logz`.
#[derive(Debug, Args)]
pub struct LogzArgs {
    /// The RBM run: a directory, or a name under `runs/`.
    #[arg(long, default_value = "rbm")]
    run: PathBuf,
    /// Device: cpu, wgpu, vulkan or cuda.
    #[arg(long, default_value = "cpu")]
    device: String,
    /// AIS chains (when log Z is not enumerated).
    #[arg(long, default_value_t = 100)]
    chains: usize,
    /// AIS temperatures: Salakhutdinov and Murray's schedule (14,500) scaled to this many.
    #[arg(long, default_value_t = 14_500)]
    temperatures: usize,
    /// Use AIS even when log Z can be enumerated (and report both).
    #[arg(long)]
    ais: bool,
    /// Also run reverse AIS from model draws (each chain's draw after `--reverse-sweeps` Gibbs
    /// sweeps from the base rate) for the upper side of a sandwich; approximate, since the draws
    /// are not exact.
    #[arg(long)]
    reverse: bool,
    /// Gibbs sweeps that make the draws of reverse AIS.
    #[arg(long, default_value_t = 1000)]
    reverse_sweeps: usize,
    /// Seed of AIS.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

/// Everything `ebm logz` needs to rebuild the split.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct RbmRunSpec {
    data: PathBuf,
    limit: Option<usize>,
    holdout: f64,
    threshold: f64,
    split_seed: u64,
    epochs: usize,
    height: usize,
    width: usize,
    train_images: usize,
    held_out_images: usize,
    train: RbmTrainConfig,
}

/// What `ebm logz` found.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct LogzReport {
    hidden: usize,
    method: String,
    train_images: usize,
    held_out_images: usize,
    mean_neg_free_energy: f64,
    log_z: f64,
    log_z_se: f64,
    exact_log_z: Option<f64>,
    ais_log_z: Option<f64>,
    ais_se: Option<f64>,
    ais_ess: Option<f64>,
    ais_chains: Option<usize>,
    ais_temperatures: Option<usize>,
    reverse_ais_log_z: Option<f64>,
    reverse_ais_se: Option<f64>,
    held_out_log_likelihood: f64,
    held_out_se_data: f64,
    published: Vec<(String, f64)>,
    seconds: f64,
}

/// Runs `ebm rbm ...`.
pub fn run(args: RbmArgs) -> Result<()> {
    match args.command {
        RbmCommand::Train(a) => train(a),
    }
}

/// Binary visibles `[n, h * w]` of grey images in `[-1, 1]`: on where the grey level exceeds
/// `threshold` of white.
fn binarise(set: &ImageSet, threshold: f64) -> Vec<f32> {
    let cut = (2.0 * threshold - 1.0) as f32;
    set.images
        .iter()
        .map(|&x| if x > cut { 1.0 } else { 0.0 })
        .collect()
}

fn to_tensor(values: &[f32], n: usize, d: usize, device: &Device) -> Tensor<2> {
    Tensor::from_data(TensorData::new(values.to_vec(), [n, d]), device)
}

/// The images of a spec, split into `(train, held_out)` and binarised.
fn load_split(
    spec_data: &Path,
    limit: Option<usize>,
    holdout: f64,
    threshold: f64,
    seed: u64,
) -> Result<(ImageSet, Vec<f32>, Vec<f32>)> {
    let mut data = load_images(spec_data, &LoadOptions::grey())
        .with_context(|| format!("reading {}", spec_data.display()))?;
    if data.channels != 1 {
        bail!("{}: the RBM needs grey images", spec_data.display());
    }
    if let Some(l) = limit.filter(|&l| l < data.len()) {
        data = data.select(&(0..l).collect::<Vec<_>>())?;
    }
    let (train, held) = data
        .split(seed, holdout)
        .context("splitting off the held-out images")?;
    let (tb, hb) = (binarise(&train, threshold), binarise(&held, threshold));
    Ok((train, tb, hb))
}

fn train(args: RbmTrainArgs) -> Result<()> {
    let device = device_from_word(&args.device)?;
    if !(args.threshold > 0.0 && args.threshold < 1.0) {
        bail!("--threshold must lie in (0, 1), got {}", args.threshold);
    }
    let root = args.runs_dir.join(&args.name);
    let (train_set, train_bits, held_bits) = load_split(
        &args.data,
        args.limit,
        args.holdout,
        args.threshold,
        args.seed,
    )?;
    let (h, w) = (train_set.height, train_set.width);
    let d = h * w;
    let n = train_set.len();
    let held_n = held_bits.len() / d;
    let config = RbmTrainConfig {
        seed: args.seed,
        n_hidden: args.hidden,
        batch_size: args.batch_size,
        gibbs_steps: args.k,
        persistent: args.pcd,
        lr: args.lr,
        weight_decay: args.weight_decay,
        init_sd: 0.01,
    };
    let per_epoch = n / config.batch_size;
    if per_epoch == 0 {
        bail!(
            "{n} training images are fewer than one batch of {}",
            config.batch_size
        );
    }
    let spec = RbmRunSpec {
        data: args.data.clone(),
        limit: args.limit,
        holdout: args.holdout,
        threshold: args.threshold,
        split_seed: args.seed,
        epochs: args.epochs,
        height: h,
        width: w,
        train_images: n,
        held_out_images: held_n,
        train: config.clone(),
    };
    std::fs::create_dir_all(&root).with_context(|| format!("creating {}", root.display()))?;
    write_json(&root.join("run.json"), &spec)?;

    let means: Vec<f64> = (0..d)
        .map(|i| {
            train_bits
                .iter()
                .skip(i)
                .step_by(d)
                .map(|&x| f64::from(x))
                .sum::<f64>()
                / n as f64
        })
        .collect();
    let mut trainer = RbmTrainer::new(d, config.clone(), Some(&means), &device)?;
    let mut total = args.epochs * per_epoch;
    if let Some(m) = args.max_steps {
        total = total.min(m);
    }
    println!(
        "training an RBM ({d} visible, {} hidden) by {} on {n} binarised images ({held_n} held out), {per_epoch} steps per epoch, {total} steps, device {}; writing {}",
        config.n_hidden,
        config.method(),
        args.device,
        root.display()
    );
    let mut lines = String::new();
    let t0 = Instant::now();
    let bs = config.batch_size;
    for step in 0..total {
        let (epoch, within) = (step / per_epoch, step % per_epoch);
        let order = epoch_order(n, args.seed, epoch);
        let mut batch = Vec::with_capacity(bs * d);
        for &i in &order[within * bs..(within + 1) * bs] {
            batch.extend_from_slice(&train_bits[i * d..(i + 1) * d]);
        }
        let m = trainer
            .step(to_tensor(&batch, bs, d, &device))
            .with_context(|| format!("training step {}", step + 1))?;
        lines.push_str(&serde_json::to_string(&m)?);
        lines.push('\n');
        if (step + 1) % per_epoch == 0 || step + 1 == total {
            println!(
                "epoch {:>3} step {:>5}: F(data) {:+.2}, F(model) {:+.2}, reconstruction error {:.4}, {:.1} s",
                epoch + 1,
                step + 1,
                m.free_energy_data,
                m.free_energy_model,
                m.reconstruction_error,
                t0.elapsed().as_secs_f64()
            );
        }
    }
    let seconds = t0.elapsed().as_secs_f64();
    write_atomic(&root.join("metrics.jsonl"), |tmp| {
        std::fs::write(tmp, &lines).with_context(|| format!("writing {}", tmp.display()))
    })?;
    trainer.save(&root.join("checkpoint"))?;
    let rbm = trainer.model().valid();
    write_filters(&root.join("filters.png"), &rbm, h, w)?;
    // Samples: 64 chains from the held-out digits' base rate, 1000 Gibbs sweeps.
    let mut rng = SeededRng::new(args.seed + 1);
    let base = BaseRateRbm::from_data(&train_bits, d, 1.0, &device)?;
    let start = base.sample(64, &mut rng);
    let samples = BlockGibbs::new(1000)?
        .run(&rbm, start, &mut rng)
        .visible_probs;
    let values: Vec<f32> = samples
        .into_data()
        .try_to_vec::<f32>()
        .map_err(|e| anyhow::anyhow!("{e:?}"))?
        .into_iter()
        .map(|p| 2.0 * p - 1.0)
        .collect();
    write_grid(&root.join("samples.png"), &values, [64, 1, h, w], 8, 2)?;
    println!(
        "done: {} steps in {seconds:.1} s; filters in {}, held-out log-likelihood with `ebm logz --run {}`",
        trainer.steps_done(),
        root.join("filters.png").display(),
        root.display()
    );
    Ok(())
}

/// A permutation of `0..n` from the seed and the epoch.
fn epoch_order(n: usize, seed: u64, epoch: usize) -> Vec<usize> {
    let mut rng = SeededRng::new(seed ^ (0x9e37_79b9_7f4a_7c15u64.wrapping_mul(epoch as u64 + 1)));
    let mut order: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        let j = ((rng.uniform_f64() * (i + 1) as f64) as usize).min(i);
        order.swap(i, j);
    }
    order
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

fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let text = serde_json::to_string_pretty(value)?;
    write_atomic(path, |tmp| {
        std::fs::write(tmp, &text).with_context(|| format!("writing {}", tmp.display()))
    })
}

/// Salakhutdinov and Murray (2008), average test log-probability (nats) of RBMs trained on the
/// 60,000 MNIST training digits (stochastically binarised), by hidden units.
fn published(hidden: usize) -> Vec<(String, f64)> {
    match hidden {
        20 => vec![("CD1(20)".into(), -164.50), ("CD3(20)".into(), -150.04)],
        500 => vec![
            ("CD1(500)".into(), -125.53),
            ("CD3(500)".into(), -105.50),
            ("CD25(500)".into(), -86.34),
        ],
        _ => Vec::new(),
    }
}

/// Runs `ebm logz`.
pub fn run_logz(args: LogzArgs) -> Result<()> {
    let device = device_from_word(&args.device)?;
    let root = if args.run.is_dir() || args.run.components().count() > 1 {
        args.run.clone()
    } else {
        Path::new("runs").join(&args.run)
    };
    let spec_path = root.join("run.json");
    let spec: RbmRunSpec =
        serde_json::from_str(&std::fs::read_to_string(&spec_path).with_context(|| {
            format!(
                "reading {} (train one with `ebm rbm train`)",
                spec_path.display()
            )
        })?)
        .with_context(|| format!("{} is not an RBM run description", spec_path.display()))?;
    let rbm = load_rbm(&root.join("checkpoint"), &device)
        .with_context(|| format!("loading the RBM of {}", root.display()))?;
    let (_, train_bits, held_bits) = load_split(
        &spec.data,
        spec.limit,
        spec.holdout,
        spec.threshold,
        spec.split_seed,
    )?;
    let d = rbm.n_visible();
    let nh = rbm.n_hidden();
    let held_n = held_bits.len() / d;
    let t0 = Instant::now();
    let enumerable = d.min(nh) <= MAX_ENUMERATED_UNITS;
    let exact = if enumerable {
        Some(log_z_exact(&rbm)?)
    } else {
        None
    };
    let (mut ais_log_z, mut ais_se, mut ais_ess) = (None, None, None);
    let (mut ais_chains, mut ais_temps) = (None, None);
    let (mut rev_log_z, mut rev_se) = (None, None);
    if !enumerable || args.ais || args.reverse {
        let base = BaseRateRbm::from_data(&train_bits, d, 1.0, &device)?;
        let temps = Temperatures::salakhutdinov_murray(args.temperatures)?;
        let mut rng = SeededRng::new(args.seed);
        let k = temps.steps();
        let est = ais_rbm(&rbm, &base, args.chains, &temps, &mut rng, |s| {
            if s % (k / 10).max(1) == 0 {
                eprint!("\rAIS: {s}/{k} temperatures");
            }
        })?;
        eprintln!();
        ais_log_z = Some(est.log_z);
        ais_se = Some(est.se);
        ais_ess = Some(est.ess);
        ais_chains = Some(est.chains);
        ais_temps = Some(k);
        if args.reverse {
            let start = base.sample(args.chains, &mut rng);
            let draws = BlockGibbs::new(args.reverse_sweeps.max(1))?
                .run(&rbm, start, &mut rng)
                .visible;
            let rev = reverse_ais_rbm(&rbm, &base, draws, &temps, &mut rng, |s| {
                if s % (k / 10).max(1) == 0 {
                    eprint!("\rreverse AIS: {s}/{k} temperatures");
                }
            })?;
            eprintln!();
            rev_log_z = Some(rev.log_z);
            rev_se = Some(rev.se);
        }
    }
    let (log_z, log_z_se, method) = match exact {
        Some(z) => (z, 0.0, format!("exact, enumerating 2^{} states", d.min(nh))),
        None => (
            ais_log_z.unwrap_or(f64::NAN),
            ais_se.unwrap_or(f64::NAN),
            format!(
                "AIS from the base-rate RBM, {} temperatures, {} chains",
                ais_temps.unwrap_or(0),
                ais_chains.unwrap_or(0)
            ),
        ),
    };
    let ll = held_out_log_likelihood(
        &rbm,
        to_tensor(&held_bits, held_n, d, &device),
        log_z,
        log_z_se,
    )?;
    let report = LogzReport {
        hidden: nh,
        method: method.clone(),
        train_images: spec.train_images,
        held_out_images: held_n,
        mean_neg_free_energy: ll.mean + log_z,
        log_z,
        log_z_se,
        exact_log_z: exact,
        ais_log_z,
        ais_se,
        ais_ess,
        ais_chains,
        ais_temperatures: ais_temps,
        reverse_ais_log_z: rev_log_z,
        reverse_ais_se: rev_se,
        held_out_log_likelihood: ll.mean,
        held_out_se_data: ll.se_data,
        published: published(nh),
        seconds: t0.elapsed().as_secs_f64(),
    };
    write_json(&root.join("logz.json"), &report)?;
    println!(
        "RBM {d} visible x {nh} hidden, trained by {} on {} images",
        spec.train.method(),
        spec.train_images
    );
    println!("log Z = {log_z:.4} ± {log_z_se:.4} ({method})");
    if let (Some(z), Some(a), Some(se)) = (exact, ais_log_z, ais_se) {
        println!(
            "AIS check: {a:.4} ± {se:.4} against exact {z:.4} (error {:+.2} se)",
            (a - z) / se
        );
    }
    if let (Some(lo), Some(hi), Some(se)) = (ais_log_z, rev_log_z, rev_se) {
        println!(
            "sandwich: forward AIS {lo:.4} <~ log Z <~ {hi:.4} ± {se:.4} reverse AIS (from {} Gibbs sweeps per draw, so approximate)",
            args.reverse_sweeps
        );
    }
    if let Some(ess) = ais_ess {
        println!("AIS weights: ESS {ess:.1} of {}", ais_chains.unwrap_or(0));
    }
    println!(
        "held-out log-likelihood: {:.2} nats (± {:.2} from the data, ± {:.2} from log Z) over {held_n} digits",
        ll.mean, ll.se_data, ll.se_log_z
    );
    let pubs = published(nh);
    if pubs.is_empty() {
        println!(
            "Salakhutdinov and Murray (2008) report RBMs with 20 and 500 hidden units; none with {nh}."
        );
    } else {
        let list: Vec<String> = pubs.iter().map(|(n, v)| format!("{n} {v:.2}")).collect();
        println!(
            "Salakhutdinov and Murray (2008), {nh} hidden units, MNIST test set: {} nats; their RBMs were trained on all 60,000 training digits for many more epochs, this one on {} (the figures are comparable in kind, not in training budget)",
            list.join(", "),
            spec.train_images
        );
    }
    Ok(())
}
