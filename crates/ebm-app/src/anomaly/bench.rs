//! `ebm anomaly bench`: ADBench's unsupervised protocol on every `.npz` set of a folder.
//!
//! Per set and seed: a stratified 70/30 split (`ebm_data::stratified_split`), the detector fitted
//! on the training part without its labels (its anomalies included), AUROC and AUPRC of the
//! energies on the test part. Written to the output folder: `bench.md` (mean and sd per set),
//! `bench.json` (every seed's figures and seconds) and `splits.json` (each split's row indices
//! and standardisation, so that peers score exactly the same rows the same way:
//! `benches/pyod/peers.py`). Ctrl-C stops after the current fit and writes the figures so far.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::Args;
use ebm_data::{Table, read_table, stratified_split};
use ebm_train::fit::Progress;
use ebm_train::{RunDir, Stopped};
use serde::Serialize;

use super::detector::{Recipe, Session, fit};
use super::metrics::ranking;
use super::report::{SetResult, SplitRecord, markdown};
use crate::args::DeviceArg;

/// Arguments of `ebm anomaly bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// A folder of `.npz` sets (arrays `X` and `y`), e.g. `datasets/adbench`.
    #[arg(long)]
    pub data: PathBuf,
    /// Seeds per set (splits and fits `0..seeds`).
    #[arg(long, default_value_t = 5)]
    pub seeds: u64,
    /// The output folder (its `fits/` is replaced).
    #[arg(long, default_value = "runs/anomaly-bench")]
    pub out: PathBuf,
    /// Only the sets whose file name contains this.
    #[arg(long)]
    pub only: Option<String>,
    /// NCE steps of the dependency expert (default: the recipe's).
    #[arg(long)]
    pub steps: Option<usize>,
    /// Weight of the dependency expert (default: the recipe's).
    #[arg(long)]
    pub weight: Option<f64>,
    /// Device.
    #[arg(long, value_enum, default_value_t = DeviceArg::Cpu)]
    pub device: DeviceArg,
}

/// `bench.json`.
#[derive(Debug, Serialize)]
struct BenchFile<'a> {
    recipe: &'a Recipe,
    test_fraction: f64,
    seconds: f64,
    sets: &'a [SetResult],
}

/// Runs `ebm anomaly bench`.
pub fn run(args: BenchArgs) -> Result<()> {
    let recipe = Recipe::with(args.steps, args.weight)?;
    if args.seeds == 0 {
        bail!("--seeds must be at least 1");
    }
    let files = set_files(&args.data, args.only.as_deref())?;
    let fits = args.out.join("fits");
    if fits.exists() {
        std::fs::remove_dir_all(&fits).with_context(|| format!("clearing {}", fits.display()))?;
    }
    let device = args.device.device()?;
    let start = Instant::now();
    let total = files.len() * args.seeds as usize;
    let mut progress = Progress::new(total, 0);
    let (mut results, mut splits) = (Vec::new(), Vec::new());
    for file in &files {
        let table = read_table(file, None)?;
        let name = set_name(file);
        let mut set = SetResult::new(&name, &table)?;
        let mut interrupted = false;
        for seed in 0..args.seeds {
            let run = RunDir::new(fits.join(format!("{name}-s{seed}")));
            let Some((record, split)) = one_split(&table, &recipe, seed, &run, &device)? else {
                interrupted = true;
                break;
            };
            progress.step(&format!("{name} seed {seed}: AUROC {:.3}", record.auroc));
            set.seeds.push(record);
            splits.push(split.named(&name));
        }
        if !set.seeds.is_empty() {
            results.push(set);
        }
        if interrupted {
            progress.println("interrupted: the figures so far are written; run again for all");
            break;
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    progress.finish(&format!(
        "{} of {total} fits in {seconds:.0} s",
        splits.len()
    ));
    write_outputs(&args.out, &recipe, seconds, &results, &splits)
}

/// The `.npz` files of `dir`, sorted by name, filtered by `only`.
fn set_files(dir: &Path, only: Option<&str>) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "npz"))
        .filter(|p| only.is_none_or(|o| set_name(p).contains(o)))
        .collect();
    files.sort();
    if files.is_empty() {
        bail!(
            "{} holds no .npz set{}",
            dir.display(),
            only.map_or(String::new(), |o| format!(" matching {o:?}"))
        );
    }
    Ok(files)
}

fn set_name(path: &Path) -> String {
    path.file_stem()
        .map_or_else(String::new, |s| s.to_string_lossy().into_owned())
}

/// One seed of one set: split, fit on the training part, score the test part; `None` if the fit
/// was interrupted (Ctrl-C).
fn one_split(
    table: &Table,
    recipe: &Recipe,
    seed: u64,
    run: &RunDir,
    device: &burn::tensor::Device,
) -> Result<Option<(super::report::SeedResult, SplitRecord)>> {
    let labels = table.require_labels()?;
    let (train_idx, test_idx) = stratified_split(labels, 0.3, seed)?;
    let (train, test) = (table.select(&train_idx), table.select(&test_idx));
    let t0 = Instant::now();
    let session = Session {
        run,
        resume: false,
        progress: false,
        device,
    };
    let (detector, energy, outcome) = fit(&train, recipe, seed, &session)
        .with_context(|| format!("fitting {} (seed {seed})", table.source.display()))?;
    if outcome.stopped != Stopped::Finished {
        return Ok(None);
    }
    let fit_seconds = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    let energies = energy.score_rows(&test.values)?;
    let score_seconds = t1.elapsed().as_secs_f64();
    let test_labels = test.require_labels()?;
    let (auroc, auprc) = ranking(&energies, test_labels).unwrap_or((f64::NAN, f64::NAN));
    let record = super::report::SeedResult {
        seed,
        auroc,
        auprc,
        fit_seconds,
        score_seconds,
    };
    let split = SplitRecord {
        set: String::new(),
        seed,
        train: train_idx,
        test: test_idx,
        center: detector.scaler.center,
        scale: detector.scaler.scale,
    };
    Ok(Some((record, split)))
}

fn write_outputs(
    out: &Path,
    recipe: &Recipe,
    seconds: f64,
    results: &[SetResult],
    splits: &[SplitRecord],
) -> Result<()> {
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let bench = BenchFile {
        recipe,
        test_fraction: 0.3,
        seconds,
        sets: results,
    };
    let write = |name: &str, bytes: Vec<u8>| -> Result<()> {
        let path = out.join(name);
        std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))
    };
    write("bench.json", serde_json::to_vec_pretty(&bench)?)?;
    write("splits.json", serde_json::to_vec(splits)?)?;
    let table = markdown(results);
    write("bench.md", table.clone().into_bytes())?;
    println!("{table}");
    println!(
        "written to {} (bench.md, bench.json, splits.json)",
        out.display()
    );
    Ok(())
}
