//! `ebm anomaly fit`: fit the detector on a table (labels, if any, are not used) and set its
//! alarm threshold from a target false-alarm rate on the training rows.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args;
use ebm_core::tabular::quantile;
use ebm_data::read_table;
use serde::{Deserialize, Serialize};

use super::detector::{Recipe, Session, fit};
use super::metrics::ranking;
use crate::args::{RunArgs, reached_end};

/// Arguments of `ebm anomaly fit`.
#[derive(Debug, Args)]
pub struct FitArgs {
    #[command(flatten)]
    pub run: RunArgs,
    /// The training rows: a `.csv` (header, numeric columns), `.npz` (arrays `X`, `y`) or `.npy`.
    #[arg(long)]
    pub data: PathBuf,
    /// The label column of a CSV (or label array of an `.npz`): left out of the features, used
    /// only to report how well the training rows are ranked.
    #[arg(long)]
    pub label: Option<String>,
    /// The fraction of training rows above the alarm threshold.
    #[arg(long, default_value_t = 0.01)]
    pub false_alarm: f64,
    /// Seed of the network's initialisation, the data order and the noise.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// NCE steps of the dependency expert (default: the recipe's 1,000).
    #[arg(long)]
    pub steps: Option<usize>,
    /// Weight of the dependency expert (default: the recipe's 0.3; 0 = marginals only).
    #[arg(long)]
    pub weight: Option<f64>,
    /// Continue an interrupted fit from its last checkpoint, with its saved settings.
    #[arg(long)]
    pub resume: bool,
}

/// The settings of a fit (`config.json` of its run).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FitSettings {
    /// The training table.
    pub data: PathBuf,
    /// Its label column, if any.
    pub label: Option<String>,
    /// The target false-alarm rate of the threshold.
    pub false_alarm: f64,
    /// The seed.
    pub seed: u64,
    /// The recipe.
    pub recipe: Recipe,
}

/// Runs `ebm anomaly fit`. A new run's settings are written only once its table has been read
/// and its folder holds no checkpoint, so a failed start leaves an existing run as it was.
pub fn run(args: FitArgs) -> Result<()> {
    let dir = args.run.dir("anomaly");
    let settings = settings(&args, &dir)?;
    let table = read_table(&settings.data, settings.label.as_deref())?;
    if !args.resume {
        if dir.checkpoints().exists() {
            bail!(
                "run {} already has checkpoints: continue it with --resume, or choose another run folder",
                dir.root().display()
            );
        }
        dir.write_config(&settings)?;
    }
    let device = args.run.device.device()?;
    println!(
        "fitting on {} rows x {} columns of {}",
        table.rows,
        table.cols,
        table.source.display()
    );
    let session = Session {
        run: &dir,
        resume: args.resume,
        progress: true,
        device: &device,
    };
    let (mut detector, energy, outcome) = fit(&table, &settings.recipe, settings.seed, &session)?;
    if !reached_end(&outcome) {
        crate::report::refresh(&dir);
        return Ok(());
    }
    let energies = energy.score_rows(&table.values)?;
    let mut sorted = energies.clone();
    sorted.sort_by(f64::total_cmp);
    let threshold = quantile(&sorted, 1.0 - settings.false_alarm);
    detector.threshold = Some(threshold);
    detector.false_alarm = Some(settings.false_alarm);
    detector.save(&dir)?;
    println!(
        "alarm threshold {threshold:.4} ({:.1}% of the training rows above it)",
        100.0 * settings.false_alarm
    );
    let mut summary = serde_json::json!({
        "rows": table.rows,
        "columns": table.cols,
        "threshold": threshold,
        "false_alarm": settings.false_alarm,
    });
    if let Some((roc, prc)) = table.labels.as_deref().and_then(|l| ranking(&energies, l)) {
        println!("on the training rows (labels not used to fit): AUROC {roc:.4}, AUPRC {prc:.4}");
        summary["train_auroc"] = roc.into();
        summary["train_auprc"] = prc.into();
    }
    crate::output::write_json(&dir.file("fit.json"), &summary)?;
    crate::report::refresh(&dir);
    println!("detector written to {}", dir.root().display());
    Ok(())
}

fn settings(args: &FitArgs, dir: &ebm_train::RunDir) -> Result<FitSettings> {
    if args.resume {
        return dir
            .read_config()
            .with_context(|| format!("resuming {}", dir.root().display()));
    }
    if !(args.false_alarm > 0.0 && args.false_alarm < 1.0) {
        bail!("--false-alarm must be in (0, 1), got {}", args.false_alarm);
    }
    let recipe = Recipe::with(args.steps, args.weight)?;
    let settings = FitSettings {
        data: args.data.clone(),
        label: args.label.clone(),
        false_alarm: args.false_alarm,
        seed: args.seed,
        recipe,
    };
    Ok(settings)
}
