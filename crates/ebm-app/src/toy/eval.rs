//! Evaluating a trained toy run exactly: the held-out NLL of the EBM by quadrature beside a
//! Gaussian KDE fitted on the same training points, the unbiased MMD² between model samples and
//! held-out points, and the outputs (`density.svg`, `samples.svg`, `samples.npy`,
//! `metrics.json`).

use anyhow::{Context, Result};
use burn::module::Module;
use burn::tensor::Device;
use ebm_core::{Grid, MlpEnergy, SeededRng};
use ebm_train::eval::{default_bandwidths, eval_half_width, points_tensor};
use ebm_train::{Kde, MeanSe, NegativeConfig, RunDir, TrainConfig, Trainer, exact_nll, mmd};
use serde::Serialize;

use super::train::{Seeds, ToyRunConfig, points_at};
use crate::output::{write_atomic, write_npy, write_text};
use crate::plot::landscape::{Field, heat_map_svg, scatter_svg};

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
    /// Seconds of training (over every session of the run).
    pub train_seconds: f64,
    /// Seconds of the whole command for this set (data, training, evaluation, plots).
    pub wall_seconds: f64,
    /// The training recipe.
    pub config: TrainConfig,
}

/// The three draws of a set, in `f64` for evaluation.
pub struct Points {
    /// Training points.
    pub train: Vec<[f64; 2]>,
    /// Validation points (KDE bandwidth).
    pub val: Vec<[f64; 2]>,
    /// Held-out points.
    pub test: Vec<[f64; 2]>,
}

/// Points as `f64`.
pub fn to_f64(points: &[[f32; 2]]) -> Vec<[f64; 2]> {
    points
        .iter()
        .map(|p| [f64::from(p[0]), f64::from(p[1])])
        .collect()
}

/// Held-out NLLs of the EBM and of the KDE, and the paired standard error of their gap.
struct Nlls {
    exact: ebm_train::ExactNll,
    half: f64,
    kde_nll: MeanSe,
    kde_bandwidth: f64,
    gap_se: f64,
}

fn nlls(frozen: &MlpEnergy, c: &ToyRunConfig, p: &Points, device: &Device) -> Result<Nlls> {
    // Exact NLL by quadrature on a box that holds every training and held-out point.
    let all: Vec<[f64; 2]> = p.train.iter().chain(&p.test).copied().collect();
    let half = eval_half_width(&all, 0.5, 4.5)?;
    let grid = Grid::square(half, c.grid)?;
    let exact = exact_nll(frozen, &grid, &p.test, device)?;
    // KDE baseline on the same training points.
    let fit = Kde::fit(p.train.clone(), &p.val, &default_bandwidths())?;
    let kde_terms: Vec<f64> = fit.kde.log_densities(&p.test);
    let kde_nll = MeanSe::of(&kde_terms.iter().map(|l| -l).collect::<Vec<_>>())
        .context("no held-out points")?;
    let ebm_log_p = exact
        .normalisation
        .log_prob(frozen, points_tensor(&p.test, device))?;
    let gaps: Vec<f64> = ebm_log_p
        .iter()
        .zip(&kde_terms)
        .map(|(e, k)| k - e)
        .collect();
    let gap = MeanSe::of(&gaps).context("no held-out points")?;
    Ok(Nlls {
        exact,
        half,
        kde_nll,
        kde_bandwidth: fit.kde.bandwidth(),
        gap_se: gap.se,
    })
}

/// Model samples: `sample_steps` steps of the training sampler from where the training chains
/// start: training points for CD (so a mode's share comes from the model, not from which basin
/// a uniform start fell into), the uniform initial distribution otherwise. Flat `f32` values.
fn model_samples(
    trainer: &Trainer<2, MlpEnergy>,
    frozen: &MlpEnergy,
    c: &ToyRunConfig,
    train: &[[f32; 2]],
    device: &Device,
) -> Result<Vec<f32>> {
    let mut rng = SeededRng::new(Seeds::of(c.seed).samples);
    let samples = match c.train.negatives {
        NegativeConfig::CdK => {
            let n = train.len();
            let idx: Vec<usize> = (0..c.n_samples)
                .map(|_| ((rng.uniform_f64() * n as f64) as usize).min(n - 1))
                .collect();
            let flat: Vec<f32> = train.iter().flatten().copied().collect();
            let starts = points_at(&flat, &idx, device);
            ebm_train::run_sampler(&c.train.sampler, frozen, starts, c.sample_steps, &mut rng)?.0
        }
        _ => trainer.sample_fresh(c.n_samples, c.sample_steps, device, &mut rng)?,
    };
    samples
        .into_data()
        .try_to_vec_as::<f32>()
        .map_err(|e| anyhow::anyhow!("reading samples: {e:?}"))
}

/// The paths of 3 chains of the training sampler from its initial distribution over
/// `sample_steps` steps (100 points each at most), for the density picture. Seeded apart from
/// the samples, which they leave unchanged.
fn trajectories(
    frozen: &MlpEnergy,
    c: &ToyRunConfig,
    device: &Device,
) -> Result<Vec<Vec<[f64; 2]>>> {
    let mut rng = SeededRng::new(Seeds::of(c.seed).samples ^ 0x7261_6a65);
    let chains = 3;
    let x = ebm_train::buffer::draw_tensor(&c.train.init, [chains, 2], &mut rng, device);
    let legs = c.sample_steps.clamp(1, 100);
    let sampler = &c.train.sampler;
    let (_, strip) = crate::sample::run_with_snapshots(
        sampler,
        frozen,
        x,
        (c.sample_steps, legs, chains),
        &mut rng,
    )?;
    // The strip is snapshot-major, `[legs + 1][chains][2]`; a path is one chain's column.
    let point = |s: usize, i: usize| {
        let o = (s * chains + i) * 2;
        [f64::from(strip[o]), f64::from(strip[o + 1])]
    };
    Ok((0..chains)
        .map(|i| (0..=legs).map(|s| point(s, i)).collect())
        .collect())
}

/// Evaluates the trained run and writes its outputs into `dir`; `timing` is (train seconds,
/// seconds of the command so far).
pub fn evaluate(
    dir: &RunDir,
    c: &ToyRunConfig,
    trainer: &Trainer<2, MlpEnergy>,
    (train, p): (&[[f32; 2]], &Points),
    timing: (f64, std::time::Instant),
    device: &Device,
) -> Result<ToyMetrics> {
    let frozen = trainer.model().valid();
    let n = nlls(&frozen, c, p, device)?;
    let samples_f32 = model_samples(trainer, &frozen, c, train, device)?;
    let samples: Vec<[f64; 2]> = samples_f32
        .chunks_exact(2)
        .map(|q| [f64::from(q[0]), f64::from(q[1])])
        .collect();
    let n_mmd = samples.len().min(p.test.len());
    let mmd = mmd(&samples[..n_mmd], &p.test[..n_mmd])?;
    write_npy(&dir.file("samples.npy"), &samples_f32, &[samples.len(), 2])?;
    let density = n.exact.normalisation.density();
    let field = Field {
        values: &density,
        points: c.grid,
        half: n.half,
    };
    let title = format!("{}: model density, samples and 3 chains' paths", c.dataset);
    let paths = trajectories(&frozen, c, device)?;
    let svg = heat_map_svg(&title, "density p(x)", field, &samples, &paths)?;
    write_text(&dir.file("density.svg"), &svg)?;
    let title = format!("{}: held-out data and model samples", c.dataset);
    write_text(
        &dir.file("samples.svg"),
        &scatter_svg(&title, n.half, &p.test, &samples)?,
    )?;
    let metrics = ToyMetrics {
        dataset: c.dataset.clone(),
        steps: c.steps,
        seed: c.seed,
        nll_ebm: n.exact.nll.mean,
        nll_ebm_se: n.exact.nll.se,
        nll_kde: n.kde_nll.mean,
        nll_kde_se: n.kde_nll.se,
        gap_se: n.gap_se,
        kde_bandwidth: n.kde_bandwidth,
        log_z: n.exact.log_z,
        box_half_width: n.half,
        edge_mass: n.exact.edge_mass,
        mmd2: mmd.mmd2,
        mmd2_null_sd: mmd.null_sd,
        mmd_bandwidth: mmd.bandwidth,
        train_seconds: timing.0,
        wall_seconds: timing.1.elapsed().as_secs_f64(),
        config: c.train.clone(),
    };
    let json = serde_json::to_string_pretty(&metrics)?;
    write_atomic(&dir.file("metrics.json"), |tmp| {
        std::fs::write(tmp, &json).with_context(|| format!("writing {}", tmp.display()))
    })?;
    Ok(metrics)
}
