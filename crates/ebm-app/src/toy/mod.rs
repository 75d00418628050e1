//! `ebm toy`: train an MLP energy on a 2-D toy density through the one training loop and
//! evaluate it exactly.
//!
//! Data: `--n-train` training points (10,000), `--n-val` validation points (2,000, only for the
//! KDE bandwidth) and `--n-test` held-out points (5,000), three independent draws of the set.
//! Model: `MlpEnergy` 2 -> 128 -> 128 -> 1 with Swish, trained by CD-20 with MALA
//! ([`train::toy_config`]) in seeded epoch permutations of the training points. Evaluation
//! ([`eval`]): the held-out NLL of the EBM exactly by quadrature on a box from the data; the
//! held-out NLL of a Gaussian KDE fitted on the same training points; the unbiased MMD²
//! (median-heuristic Gaussian kernel) between model samples and held-out points; pictures
//! (`crate::plot::landscape`).
//!
//! ```text
//! runs/toy-<set>/     (or runs/toy/<set>/ for `--dataset all`, with table.md beside)
//!   config.json       ToyRunConfig: sizes, seed, recipe, loop
//!   metrics.jsonl     one line per parameter step
//!   checkpoints/      step-XXXXXXXX/ (model, optimiser, RNG) and `latest`
//!   density.svg  samples.svg  samples.npy  metrics.json
//! ```

mod eval;
mod train;

pub use train::{ToyRunConfig, build_model};

use std::time::Instant;

use anyhow::{Context, Result};
use burn::tensor::Device;
use clap::Args;
use ebm_data::ToyDataset;
use ebm_train::{RunDir, Stopped, Trainer};

use crate::args::{FitArgs, RunArgs};
use crate::output::write_atomic;
use eval::{Points, ToyMetrics, to_f64};
use train::Seeds;

/// Arguments of `ebm toy`. On `--resume` the saved settings hold; a flag that differs from
/// them is an error naming it.
#[derive(Debug, Args)]
pub struct ToyArgs {
    /// The run folder (default `runs/toy-<dataset>`, or `runs/toy` for `all`) and the device.
    #[command(flatten)]
    pub run: RunArgs,
    /// The loop's flags; `--seed` seeds the data draws, the initialisation and every sampler
    /// [default: 0]; `--max-steps` stops this session early.
    #[command(flatten)]
    pub fit: FitArgs,
    /// The toy set (8gaussians, moons, swissroll, checkerboard, pinwheel, rings, circles,
    /// 2spirals) or `all` for every one [default: moons].
    #[arg(long)]
    pub dataset: Option<String>,
    /// Parameter steps [default: 6000].
    #[arg(long)]
    pub steps: Option<usize>,
    /// Training points [default: 10000].
    #[arg(long)]
    pub n_train: Option<usize>,
    /// Validation points (KDE bandwidth selection) [default: 2000].
    #[arg(long)]
    pub n_val: Option<usize>,
    /// Held-out points (NLL and MMD) [default: 5000].
    #[arg(long)]
    pub n_test: Option<usize>,
    /// Quadrature points per axis [default: 300].
    #[arg(long)]
    pub grid: Option<usize>,
    /// Fresh model samples for MMD and the plots (MMD uses as many held-out points)
    /// [default: 2000].
    #[arg(long)]
    pub n_samples: Option<usize>,
    /// Sampler steps of the fresh chains that make the model samples [default: 500].
    #[arg(long)]
    pub sample_steps: Option<usize>,
    /// Override the MALA step size of the recipe.
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
    #[arg(long)]
    pub negatives: Option<String>,
    /// With `--negatives pcd`: the probability of restarting a buffer chain from the uniform start.
    #[arg(long)]
    pub reinit: Option<f64>,
    /// Hidden widths of the MLP energy [default: 128,128].
    #[arg(long, value_delimiter = ',')]
    pub hidden: Option<Vec<usize>>,
}

/// Runs `ebm toy`.
pub fn run(args: ToyArgs) -> Result<()> {
    let device = args.run.device.device()?;
    if args.dataset.as_deref() == Some("all") {
        return run_all(&args, &device);
    }
    let set: Option<ToyDataset> = args.dataset.as_deref().map(str::parse).transpose()?;
    let name = set.unwrap_or(ToyDataset::Moons).name();
    let dir = args.run.dir(&format!("toy-{name}"));
    let resume = args.fit.resume;
    let Some(m) = run_one(&args, set, &dir, resume, &device)? else {
        return Ok(());
    };
    println!("{}", markdown_table(std::slice::from_ref(&m)));
    println!("wrote {}", dir.root().display());
    Ok(())
}

/// Every set into `<run>/<set>/`, and `table.md`. With `--resume`, the sets already started
/// continue and the others start.
fn run_all(args: &ToyArgs, device: &Device) -> Result<()> {
    let root = args.run.dir("toy");
    let t0 = Instant::now();
    let mut rows = Vec::new();
    for set in ToyDataset::ALL {
        let dir = RunDir::new(root.root().join(set.name()));
        let resume = args.fit.resume && dir.checkpoints().exists();
        let Some(m) = run_one(args, Some(set), &dir, resume, device)? else {
            return Ok(());
        };
        rows.push(m);
        let table = markdown_table(&rows);
        write_atomic(&root.file("table.md"), |tmp| {
            std::fs::write(tmp, &table).with_context(|| format!("writing {}", tmp.display()))
        })?;
    }
    println!("{}", markdown_table(&rows));
    println!(
        "{} sets in {:.0} s; table in {}",
        rows.len(),
        t0.elapsed().as_secs_f64(),
        root.file("table.md").display()
    );
    Ok(())
}

/// Trains (or continues) and evaluates one set; `None` if training stopped before its end.
fn run_one(
    args: &ToyArgs,
    set: Option<ToyDataset>,
    dir: &RunDir,
    resume: bool,
    device: &Device,
) -> Result<Option<ToyMetrics>> {
    let t0 = Instant::now();
    if !resume && dir.checkpoints().exists() {
        anyhow::bail!(
            "run {} already has checkpoints: continue it with --resume, or choose another --run",
            dir.root().display()
        );
    }
    let c: ToyRunConfig = train::settings(args, set, dir, resume)?;
    let set: ToyDataset = c.dataset.parse()?;
    let seeds = Seeds::of(c.seed);
    let train_points = set.sample(c.n_train, seeds.train);
    let points = Points {
        train: to_f64(&train_points),
        val: to_f64(&set.sample(c.n_val, seeds.val)),
        test: to_f64(&set.sample(c.n_test, seeds.test)),
    };
    dir.write_config(&c)?;
    let model = train::build_model(&c, &device.clone().autodiff())?;
    let mut trainer = Trainer::new(model, c.train.clone(), &[2])?;
    eprintln!(
        "{set}: training {} steps on {} points, batch {}; writing {}",
        c.steps,
        c.n_train,
        c.fit.batch_size,
        dir.root().display()
    );
    let (state, stopped) = train::fit(dir, &c, &train_points, resume, &mut trainer, device)?;
    if stopped != Stopped::Finished || state.step < c.steps {
        println!(
            "{set}: stopped at step {} of {}: continue with --resume",
            state.step, c.steps
        );
        crate::report::refresh(dir);
        return Ok(None);
    }
    let m = eval::evaluate(
        dir,
        &c,
        &trainer,
        (&train_points, &points),
        (state.elapsed_seconds, t0),
        device,
    )?;
    eprintln!(
        "{set}: NLL EBM {:.3} KDE {:.3} (h {:.3}) MMD² {:.5} edge mass {:.1e}, {:.0} s",
        m.nll_ebm, m.nll_kde, m.kde_bandwidth, m.mmd2, m.edge_mass, m.wall_seconds
    );
    crate::report::refresh(dir);
    Ok(Some(m))
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
