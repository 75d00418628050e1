//! `ebm`: train image energy-based models and use them.
//!
//! Commands: `train` (persistent CD on images), `sample` (fresh chains from a trained run),
//! `score` (energies and anomaly-detection AUROC), `denoise` and `inpaint` (Langevin restoration).
//! Usually driven through `cargo xtask <command>`, which builds this binary in release mode.

mod output;
mod restore;
mod run;
mod sample;
mod sample_target;
mod score;
mod toy;
mod train;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Energy-based models on burn: train, sample, score, denoise, inpaint, sample analytic targets.
#[derive(Debug, Parser)]
#[command(name = "ebm", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Train the CNN energy on images by persistent contrastive divergence (default: the
    /// embedded 4,000 MNIST digits, the UvA tutorial's recipe, on the CPU).
    Train(train::TrainArgs),
    /// Draw images from fresh chains of a trained run, with one chain's trajectory.
    Sample(sample::SampleArgs),
    /// Energy of every image to CSV; AUROC of anomaly detection by energy against outlier sets.
    Score(score::ScoreArgs),
    /// Restore noisy images by Langevin descent on the energy; PSNR before and after.
    Denoise(restore::DenoiseArgs),
    /// Fill in missing pixels by Langevin descent with the observed ones held fixed.
    Inpaint(restore::InpaintArgs),
    /// Run one MCMC kernel (rwm, mala, hmc, ula) on an analytic benchmark target; write the
    /// draws as .npy and print acceptance, bulk ESS, R-hat and ESS per second.
    SampleTarget(sample_target::SampleTargetArgs),
    /// Train an MLP energy on a 2-D toy set (or `all`) and evaluate it exactly: held-out NLL by
    /// quadrature against a KDE baseline, MMD², density and sample PNGs, metrics JSON.
    Toy(toy::ToyArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Train(args) => train::run(args),
        Command::Sample(args) => sample::run(args),
        Command::Score(args) => score::run(args),
        Command::Denoise(args) => restore::run_denoise(args),
        Command::Inpaint(args) => restore::run_inpaint(args),
        Command::SampleTarget(args) => sample_target::run_sample_target(args),
        Command::Toy(args) => toy::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
