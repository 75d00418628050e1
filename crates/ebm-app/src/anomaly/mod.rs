//! `ebm anomaly`: anomaly detection on tables (sensor readings, laboratory measurements) by
//! energy: `fit` a detector, `score` rows (a file or a stream), `bench` ADBench's protocol.
//!
//! The detector's energy is a product of two experts on robustly standardised columns
//! ([`ebm_core::TabularEnergy`]): the product of each column's KDE, and an MLP energy trained by
//! noise-contrastive estimation against draws from it ([`ebm_train::NceTrainer`]).

pub mod bench;
pub mod detector;
pub mod fit;
pub mod metrics;
pub mod report;
pub mod score;

use anyhow::Result;
use clap::{Args, Subcommand};

/// Arguments of `ebm anomaly`.
#[derive(Debug, Args)]
pub struct AnomalyArgs {
    #[command(subcommand)]
    command: AnomalyCommand,
}

#[derive(Debug, Subcommand)]
enum AnomalyCommand {
    /// Fit the detector on a table (a run folder, default `runs/anomaly`) and set the alarm
    /// threshold from a false-alarm rate on the training rows.
    Fit(fit::FitArgs),
    /// Energies (and alarms) of a table's rows, or of CSV rows streamed on standard input.
    Score(score::ScoreArgs),
    /// ADBench's unsupervised protocol on a folder of `.npz` sets: AUROC and AUPRC per set over
    /// seeded stratified 70/30 splits.
    Bench(bench::BenchArgs),
}

/// Runs `ebm anomaly`.
pub fn run(args: AnomalyArgs) -> Result<()> {
    match args.command {
        AnomalyCommand::Fit(a) => fit::run(a),
        AnomalyCommand::Score(a) => score::run(a),
        AnomalyCommand::Bench(a) => bench::run(a),
    }
}
