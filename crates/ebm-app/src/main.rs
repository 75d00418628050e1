//! `ebm`: train image energy-based models and use them.
//!
//! Commands: `train` (persistent CD on images), `sample` (fresh chains from a trained run).
//! Usually driven through `cargo xtask <command>`, which builds this binary in release mode.

mod output;
mod run;
mod sample;
mod train;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Energy-based models on burn: train, sample.
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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Train(args) => train::run(args),
        Command::Sample(args) => sample::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
