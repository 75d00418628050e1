//! `ebm toy`: train an MLP energy on a 2-D toy density and evaluate it exactly.
//!
//! Data: `--n-train` training points (10,000), `--n-val` validation points (2,000, only for the
//! KDE bandwidth) and `--n-test` held-out points (5,000), three independent draws of the set.
//! Model: `MlpEnergy` 2 -> 128 -> 128 -> 1 with Swish, trained by CD-20 with MALA (see
//! [`toy_config`]). Evaluation: the held-out NLL of the EBM exactly by quadrature on a box from
//! the data; the held-out NLL of a Gaussian KDE fitted on the same training points; the unbiased
//! MMD² (median-heuristic Gaussian kernel) between model samples and held-out points.
//! Writes `density.png` (normalised density with samples on top), `samples.png`, `samples.npy`,
//! `metrics.json`; `--dataset all` runs every set into `<out>/<name>/` and writes `table.md`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use burn::module::Module;
use burn::tensor::{Device, Tensor, TensorData};
use clap::Args;
use ebm_core::{Grid, MlpEnergyConfig, SeededRng, device_from_word};
use ebm_data::ToyDataset;
use ebm_train::eval::{default_bandwidths, eval_half_width};
use ebm_train::{
    InitDistribution, Kde, NegativeConfig, OptimizerConfig, SamplerConfig, TrainConfig, Trainer,
    exact_nll, mmd,
};
use serde::Serialize;

use crate::output::{write_atomic, write_npy};

/// Arguments of `ebm toy`.
#[derive(Debug, Args)]
pub struct ToyArgs {
    /// The toy set (8gaussians, moons, swissroll, checkerboard, pinwheel, rings, circles,
    /// 2spirals) or `all` for every one.
    #[arg(long, default_value = "moons")]
    pub dataset: String,
    /// Parameter steps.
    #[arg(long, default_value_t = 6000)]
    pub steps: usize,
    /// Seed of the data draws, the initialisation and every sampler.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output directory (default `runs/toy-<dataset>`, or `runs/toy` for `all`).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Device: cpu, wgpu, vulkan or cuda.
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// Training points.
    #[arg(long, default_value_t = 10_000)]
    pub n_train: usize,
    /// Validation points (KDE bandwidth selection).
    #[arg(long, default_value_t = 2_000)]
    pub n_val: usize,
    /// Held-out points (NLL and MMD).
    #[arg(long, default_value_t = 5_000)]
    pub n_test: usize,
    /// Quadrature points per axis.
    #[arg(long, default_value_t = 300)]
    pub grid: usize,
    /// Fresh model samples for MMD and the plots (MMD uses as many held-out points).
    #[arg(long, default_value_t = 2_000)]
    pub n_samples: usize,
    /// Sampler steps of the fresh chains that make the model samples.
    #[arg(long, default_value_t = 500)]
    pub sample_steps: usize,
    /// Override the MALA step size of the recipe ([`toy_config`]).
    #[arg(long)]
    pub eps: Option<f64>,
    /// Override the MALA steps per parameter step.
    #[arg(long)]
    pub sampler_steps: Option<usize>,
    /// Override the learning rate.
    #[arg(long)]
    pub lr: Option<f64>,
    /// Override the energy regulariser weight `alpha`.
    #[arg(long)]
    pub alpha: Option<f64>,
    /// Negatives: `cd` (the recipe: chains start at the data batch) or `pcd` (persistent chains
    /// in a replay buffer of 10,000, 5% restarted from uniform `[-4.5, 4.5)^2` per step).
    #[arg(long, default_value = "cd")]
    pub negatives: String,
    /// With `--negatives pcd`: the probability of restarting a buffer chain from the uniform start.
    #[arg(long)]
    pub reinit: Option<f64>,
    /// Hidden widths of the MLP energy.
    #[arg(long, value_delimiter = ',', default_value = "128,128")]
    pub hidden: Vec<usize>,
}

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

/// What one toy run measured (written as `metrics.json`).
#[derive(Debug, Clone, Serialize)]
pub struct ToyMetrics {
    /// The set.
    pub dataset: String,
    /// Parameter steps.
    pub steps: usize,
    /// Seed.
    pub seed: u64,
    /// Exact held-out NLL of the EBM (nats).
    pub nll_ebm: f64,
    /// Its standard error over the held-out points.
    pub nll_ebm_se: f64,
    /// Held-out NLL of the KDE baseline (nats).
    pub nll_kde: f64,
    /// Its standard error.
    pub nll_kde_se: f64,
    /// Paired standard error of `nll_ebm - nll_kde` over the held-out points.
    pub gap_se: f64,
    /// The KDE's bandwidth.
    pub kde_bandwidth: f64,
    /// `log Z` of the EBM over the box.
    pub log_z: f64,
    /// Half-width of the square evaluation box.
    pub box_half_width: f64,
    /// EBM mass on the box's edge cells.
    pub edge_mass: f64,
    /// Unbiased MMD² between model samples and held-out points.
    pub mmd2: f64,
    /// Its standard deviation under equal distributions.
    pub mmd2_null_sd: f64,
    /// The MMD kernel bandwidth (median heuristic).
    pub mmd_bandwidth: f64,
    /// Seconds of training.
    pub train_seconds: f64,
    /// Seconds of the whole run (data, training, evaluation, plots).
    pub wall_seconds: f64,
    /// The training recipe.
    pub config: TrainConfig,
}

/// Runs `ebm toy`.
pub fn run(args: ToyArgs) -> Result<()> {
    let device = device_from_word(&args.device)?;
    if args.n_train < 2 || args.n_val < 1 || args.n_test < 2 || args.n_samples < 2 {
        bail!("need --n-train >= 2, --n-val >= 1, --n-test >= 2 and --n-samples >= 2");
    }
    if args.grid < 3 {
        bail!("--grid must be at least 3, got {}", args.grid);
    }
    if args.dataset == "all" {
        let out = args
            .out
            .clone()
            .unwrap_or_else(|| PathBuf::from("runs/toy"));
        let t0 = Instant::now();
        let mut rows = Vec::new();
        for set in ToyDataset::ALL {
            let m = run_one(set, &args, &out.join(set.name()), &device)?;
            rows.push(m);
            let table = markdown_table(&rows);
            write_atomic(&out.join("table.md"), |tmp| {
                std::fs::write(tmp, &table).with_context(|| format!("writing {}", tmp.display()))
            })?;
        }
        println!("{}", markdown_table(&rows));
        println!(
            "{} sets in {:.0} s; table in {}",
            rows.len(),
            t0.elapsed().as_secs_f64(),
            out.join("table.md").display()
        );
        return Ok(());
    }
    let set: ToyDataset = args.dataset.parse()?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("runs/toy-{}", set.name())));
    let m = run_one(set, &args, &out, &device)?;
    println!("{}", markdown_table(std::slice::from_ref(&m)));
    println!("wrote {}", out.display());
    Ok(())
}

/// The results table: one row per set, NLLs in nats with standard errors.
pub fn markdown_table(rows: &[ToyMetrics]) -> String {
    let mut s = String::from(
        "| dataset | NLL EBM | NLL KDE | EBM - KDE | MMD² (null sd) | edge mass | seconds |\n|---|---|---|---|---|---|---|\n",
    );
    for m in rows {
        s.push_str(&format!(
            "| {} | {:.3} ± {:.3} | {:.3} ± {:.3} | {:+.3} ± {:.3} | {:.5} ({:.5}) | {:.1e} | {:.0} |\n",
            m.dataset,
            m.nll_ebm,
            m.nll_ebm_se,
            m.nll_kde,
            m.nll_kde_se,
            m.nll_ebm - m.nll_kde,
            m.gap_se,
            m.mmd2,
            m.mmd2_null_sd,
            m.edge_mass,
            m.wall_seconds
        ));
    }
    s
}

fn to_f64(points: &[[f32; 2]]) -> Vec<[f64; 2]> {
    points
        .iter()
        .map(|p| [f64::from(p[0]), f64::from(p[1])])
        .collect()
}

fn run_one(set: ToyDataset, args: &ToyArgs, out: &Path, device: &Device) -> Result<ToyMetrics> {
    let t0 = Instant::now();
    let mut rng = SeededRng::new(args.seed);
    let (seed_train, seed_val, seed_test) = (rng.next_u64(), rng.next_u64(), rng.next_u64());
    let train = set.sample(args.n_train, seed_train);
    let val = to_f64(&set.sample(args.n_val, seed_val));
    let test = to_f64(&set.sample(args.n_test, seed_test));
    let train64 = to_f64(&train);

    // Training.
    let mut config = toy_config(args.steps, rng.next_u64());
    if let Some(eps) = args.eps {
        config.sampler = SamplerConfig::Mala { eps };
    }
    if let Some(k) = args.sampler_steps {
        config.sampler_steps = k;
    }
    if let Some(lr) = args.lr {
        config.optimizer.lr = lr;
    }
    if let Some(alpha) = args.alpha {
        config.alpha = alpha;
    }
    match args.negatives.as_str() {
        "cd" => {}
        "pcd" => {
            config.negatives = NegativeConfig::Persistent {
                capacity: 10_000,
                reinit_prob: args.reinit.unwrap_or(0.05),
            }
        }
        other => bail!("--negatives must be cd or pcd, got {other:?}"),
    }
    let model = MlpEnergyConfig::new(2)
        .with_hidden(args.hidden.clone())
        .init(&device.clone().autodiff(), rng.next_u64())?;
    let mut trainer = Trainer::new(model, config.clone(), &[2])?;
    let flat: Vec<f32> = train.iter().flatten().copied().collect();
    let batch = config.batch_size.min(train.len());
    eprintln!(
        "{set}: training {} steps on {} points, batch {batch}; writing {}",
        args.steps,
        train.len(),
        out.display()
    );
    let t_train = Instant::now();
    let report_every = (args.steps / 10).max(1);
    for step in 0..args.steps {
        let x = random_points(&flat, batch, &mut rng, device);
        let m = trainer.step(x)?;
        if (step + 1) % report_every == 0 {
            eprintln!(
                "{set}: step {} loss {:.4} E+ {:.3} E- {:.3} acc {:.2} ({:.0} s)",
                step + 1,
                m.loss,
                m.e_pos,
                m.e_neg,
                m.acceptance.unwrap_or(f64::NAN),
                t_train.elapsed().as_secs_f64()
            );
        }
    }
    let train_seconds = t_train.elapsed().as_secs_f64();

    // Exact NLL by quadrature on a box that holds every training and held-out point.
    let all: Vec<[f64; 2]> = train64.iter().chain(&test).copied().collect();
    let half = eval_half_width(&all, 0.5, 4.5)?;
    let grid = Grid::square(half, args.grid)?;
    let frozen = trainer.model().valid();
    let exact = exact_nll(&frozen, &grid, &test, device)?;

    // KDE baseline on the same training points.
    let fit = Kde::fit(train64, &val, &default_bandwidths())?;
    let kde_terms: Vec<f64> = fit.kde.log_densities(&test);
    let kde_nll = ebm_train::MeanSe::of(&kde_terms.iter().map(|l| -l).collect::<Vec<_>>())
        .context("no held-out points")?;
    let ebm_log_p = exact
        .normalisation
        .log_prob(&frozen, ebm_train::eval::points_tensor(&test, device))?;
    let gaps: Vec<f64> = ebm_log_p
        .iter()
        .zip(&kde_terms)
        .map(|(e, k)| k - e)
        .collect();
    let gap = ebm_train::MeanSe::of(&gaps).context("no held-out points")?;

    // Model samples: `sample_steps` steps of the training sampler from where the training chains
    // start: training points for CD (so a mode's share comes from the model, not from which
    // basin a uniform start fell into), the uniform initial distribution otherwise.
    let mut sample_rng = SeededRng::new(rng.next_u64());
    let samples_t = match config.negatives {
        NegativeConfig::CdK => {
            let starts = random_points(&flat, args.n_samples, &mut sample_rng, device);
            config
                .sampler
                .run(&frozen, starts, args.sample_steps, &mut sample_rng)?
                .0
        }
        _ => trainer.sample_fresh(args.n_samples, args.sample_steps, device, &mut sample_rng)?,
    };
    let samples_f32 = samples_t
        .into_data()
        .try_to_vec_as::<f32>()
        .map_err(|e| anyhow::anyhow!("reading samples: {e:?}"))?;
    let samples: Vec<[f64; 2]> = samples_f32
        .chunks_exact(2)
        .map(|p| [f64::from(p[0]), f64::from(p[1])])
        .collect();
    let n_mmd = samples.len().min(test.len());
    let mmd = mmd(&samples[..n_mmd], &test[..n_mmd])?;

    // Outputs.
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    write_npy(&out.join("samples.npy"), &samples_f32, &[samples.len(), 2])?;
    write_density_png(
        &out.join("density.png"),
        &exact.normalisation.density(),
        args.grid,
        half,
        &samples,
    )?;
    write_scatter_png(&out.join("samples.png"), half, &test, &samples)?;
    let metrics = ToyMetrics {
        dataset: set.name().to_string(),
        steps: args.steps,
        seed: args.seed,
        nll_ebm: exact.nll.mean,
        nll_ebm_se: exact.nll.se,
        nll_kde: kde_nll.mean,
        nll_kde_se: kde_nll.se,
        gap_se: gap.se,
        kde_bandwidth: fit.kde.bandwidth(),
        log_z: exact.log_z,
        box_half_width: half,
        edge_mass: exact.edge_mass,
        mmd2: mmd.mmd2,
        mmd2_null_sd: mmd.null_sd,
        mmd_bandwidth: mmd.bandwidth,
        train_seconds,
        wall_seconds: t0.elapsed().as_secs_f64(),
        config,
    };
    let json = serde_json::to_string_pretty(&metrics)?;
    write_atomic(&out.join("metrics.json"), |tmp| {
        std::fs::write(tmp, &json).with_context(|| format!("writing {}", tmp.display()))
    })?;
    eprintln!(
        "{set}: NLL EBM {:.3} KDE {:.3} (h {:.3}) MMD² {:.5} edge mass {:.1e}, {:.0} s",
        metrics.nll_ebm,
        metrics.nll_kde,
        metrics.kde_bandwidth,
        metrics.mmd2,
        metrics.edge_mass,
        metrics.wall_seconds
    );
    Ok(metrics)
}

/// `n` points drawn uniformly with replacement from the flat `[x0, y0, x1, y1, ...]` list, as a
/// `[n, 2]` tensor.
fn random_points(flat: &[f32], n: usize, rng: &mut SeededRng, device: &Device) -> Tensor<2> {
    let len = flat.len() / 2;
    let mut values = Vec::with_capacity(2 * n);
    for _ in 0..n {
        let i = ((rng.uniform_f64() * len as f64) as usize).min(len - 1);
        values.extend_from_slice(&flat[2 * i..2 * i + 2]);
    }
    Tensor::from_data(TensorData::new(values, [n, 2]), device)
}

/// Image side in pixels of the PNGs.
const SIDE: usize = 512;

/// A perceptually ordered colour map (anchors of matplotlib's "magma"), `t` in `[0, 1]`.
fn magma(t: f64) -> [u8; 3] {
    const C: [[f64; 3]; 6] = [
        [0.0, 0.0, 4.0],
        [59.0, 15.0, 112.0],
        [140.0, 41.0, 129.0],
        [222.0, 73.0, 104.0],
        [254.0, 159.0, 109.0],
        [252.0, 253.0, 191.0],
    ];
    let t = t.clamp(0.0, 1.0) * (C.len() - 1) as f64;
    let i = (t.floor() as usize).min(C.len() - 2);
    let f = t - i as f64;
    [0, 1, 2].map(|k| (C[i][k] + f * (C[i + 1][k] - C[i][k])).round() as u8)
}

/// Pixel of a point in the square `[-half, half]^2` (`y` up), if inside.
fn pixel(p: [f64; 2], half: f64) -> Option<(usize, usize)> {
    let u = (p[0] + half) / (2.0 * half);
    let v = (half - p[1]) / (2.0 * half);
    ((0.0..1.0).contains(&u) && (0.0..1.0).contains(&v))
        .then_some(((u * SIDE as f64) as usize, (v * SIDE as f64) as usize))
}

fn dot(rgb: &mut [u8], p: [f64; 2], half: f64, colour: [u8; 3]) {
    if let Some((x, y)) = pixel(p, half) {
        for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
            let (x, y) = ((x + dx).min(SIDE - 1), (y + dy).min(SIDE - 1));
            let o = (y * SIDE + x) * 3;
            rgb[o..o + 3].copy_from_slice(&colour);
        }
    }
}

fn save_rgb(path: &Path, rgb: &[u8]) -> Result<()> {
    write_atomic(path, |tmp| {
        image::save_buffer_with_format(
            tmp,
            rgb,
            SIDE as u32,
            SIDE as u32,
            image::ColorType::Rgb8,
            image::ImageFormat::Png,
        )
        .with_context(|| format!("writing {}", tmp.display()))
    })
}

/// The density on the grid (row-major, rows are `y`) as a heat map scaled to its maximum
/// (nearest grid point per pixel), with model samples as cyan dots.
fn write_density_png(
    path: &Path,
    density: &[f64],
    points: usize,
    half: f64,
    samples: &[[f64; 2]],
) -> Result<()> {
    let max = density.iter().copied().fold(0.0, f64::max).max(1e-300);
    let mut rgb = vec![0u8; SIDE * SIDE * 3];
    for py in 0..SIDE {
        let gy = points - 1 - (py * points / SIDE).min(points - 1);
        for px in 0..SIDE {
            let gx = (px * points / SIDE).min(points - 1);
            let c = magma(density[gy * points + gx] / max);
            let o = (py * SIDE + px) * 3;
            rgb[o..o + 3].copy_from_slice(&c);
        }
    }
    for &s in samples.iter().take(1000) {
        dot(&mut rgb, s, half, [0, 220, 255]);
    }
    save_rgb(path, &rgb)
}

/// Held-out data (grey) and model samples (red) on white.
fn write_scatter_png(
    path: &Path,
    half: f64,
    data: &[[f64; 2]],
    samples: &[[f64; 2]],
) -> Result<()> {
    let mut rgb = vec![255u8; SIDE * SIDE * 3];
    for &p in data.iter().take(2000) {
        dot(&mut rgb, p, half, [170, 170, 170]);
    }
    for &s in samples {
        dot(&mut rgb, s, half, [200, 30, 30]);
    }
    save_rgb(path, &rgb)
}
