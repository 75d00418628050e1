//! `ebm`: train image energy-based models and use them.
//!
//! Commands: `train` (persistent CD on images), `sample` (fresh chains from a trained run),
//! `eval-samples` (generated digits judged by a classifier: classes, confidence, Fréchet distance),
//! `score` (energies and anomaly-detection AUROC), `denoise` and `inpaint` (Langevin restoration),
//! `sample-target` and `toy` (samplers and 2-D densities with exact NLL), `rbm train` and `logz`
//! (RBM and AIS likelihoods), `train-conditional`, `classify` and `compose` (conditional energies
//! and their composition), `tag` (part-of-speech tagging with a linear-chain energy), `anomaly`
//! (anomaly detection on tables: fit, score a file or a stream, ADBench's benchmark),
//! `restore-bench` (inpainting and denoising against nearest-neighbour and median baselines),
//! `report` (one HTML page per run), `export` and `import` (weights as safetensors; PyTorch).
//! Usually driven through `cargo xtask <command>`, which builds this binary in release mode.

mod anomaly;
mod args;
mod attributes;
mod class_samples;
mod classify;
mod classify_report;
mod compose;
mod conditional;
mod conditional_run;
mod eval_samples;
mod judge;
mod ood;
mod output;
mod plot;
mod rbm;
mod report;
mod restore;
mod restore_bench;
mod run;
mod run_kind;
mod sample;
mod sample_target;
mod score;
mod tag;
mod toy;
mod train;
mod weights;

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
    /// Judge generated digits with the judge classifier: class histogram, mean confidence, and
    /// the Fréchet distance of their features to held-out digits beside its floor and ceiling.
    EvalSamples(eval_samples::EvalSamplesArgs),
    /// Energy of every image to CSV; AUROC of anomaly detection by energy against outlier sets.
    Score(score::ScoreArgs),
    /// Restore noisy images by Langevin descent on the energy; PSNR before and after.
    Denoise(restore::DenoiseArgs),
    /// Fill in missing pixels by Langevin descent with the observed ones held fixed.
    Inpaint(restore::InpaintArgs),
    /// Run one MCMC kernel (rwm, mala, hmc, nuts, ula) on an analytic benchmark target; write the
    /// draws as .npy and print acceptance, bulk ESS, R-hat and ESS per second.
    SampleTarget(sample_target::SampleTargetArgs),
    /// Train an MLP energy on a 2-D toy set (or `all`) and evaluate it exactly: held-out NLL by
    /// quadrature against a KDE baseline, MMD², density and sample PNGs, metrics JSON.
    Toy(toy::ToyArgs),
    /// Part-of-speech tagging with a linear-chain energy: `tag train`, `tag eval`, or tag raw
    /// text (one sentence a line) with a trained run.
    Tag(tag::TagArgs),
    /// Restricted Boltzmann machines: `rbm train` by CD-k or persistent CD on binarised digits,
    /// with a held-out split, filters and samples as PNG grids.
    Rbm(rbm::RbmArgs),
    /// Held-out average log-likelihood (nats) of a trained RBM run: exact log Z by enumeration
    /// (up to 20 hidden units) or AIS from the base-rate RBM, beside Salakhutdinov and Murray's
    /// published figures.
    Logz(rbm::LogzArgs),
    /// Train a conditional energy E(x, y) = -logit_y(x) on labelled digits by joint contrastive
    /// divergence (`digit`, or an attribute: `even`, `ge5`, `loop`, `curvy`), or the `judge`
    /// classifier by cross-entropy.
    TrainConditional(conditional::TrainConditionalArgs),
    /// Classify the held-out images by energy, y = argmin_y E(x, y): accuracy and confusion.
    Classify(classify::ClassifyArgs),
    /// Sample a composition of experts (`even & ge5`, `digit=0 | digit=1`, `ge5 & !loop`),
    /// write a PNG grid, and report the fraction of samples the judge classifier puts in the
    /// intended set of digits, beside each expert alone and chance.
    Compose(compose::ComposeArgs),
    /// Anomaly detection on tables by energy: `anomaly fit`, `anomaly score` (a file or CSV rows
    /// on standard input) and `anomaly bench` (ADBench's unsupervised protocol).
    Anomaly(anomaly::AnomalyArgs),
    /// Restoration benchmark on held-out digits: masks and noise, kNN and median baselines
    /// against MALA on the conditional energy; PSNR, SSIM, judge agreement, table, JSON, grids.
    RestoreBench(restore_bench::RestoreBenchArgs),
    /// Write `report.html` into a run folder: settings, training curves, the sample grids of
    /// every epoch, pictures and evaluation results, in one self-contained page.
    Report(report::ReportArgs),
    /// Write a run's network as safetensors, with its kind and settings in the metadata.
    Export(weights::ExportArgs),
    /// Make a run folder from weights: a file of `ebm export`, or the UvA tutorial's PyTorch
    /// `CNNModel` (`--pytorch FILE.pt`).
    Import(weights::ImportArgs),
}

fn main() -> ExitCode {
    default_sigpipe();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Train(args) => train::run(args),
        Command::Sample(args) => sample::run(args),
        Command::EvalSamples(args) => eval_samples::run(args),
        Command::Score(args) => score::run(args),
        Command::Denoise(args) => restore::run_denoise(args),
        Command::Inpaint(args) => restore::run_inpaint(args),
        Command::SampleTarget(args) => sample_target::run_sample_target(args),
        Command::Toy(args) => toy::run(args),
        Command::Tag(args) => tag::run(args),
        Command::TrainConditional(args) => conditional::run(args),
        Command::Classify(args) => classify::run(args),
        Command::Compose(args) => compose::run(args),
        Command::RestoreBench(args) => restore_bench::run(args),
        Command::Rbm(args) => rbm::run(args),
        Command::Logz(args) => rbm::run_logz(args),
        Command::Anomaly(args) => anomaly::run(args),
        Command::Report(args) => report::run(args),
        Command::Export(args) => weights::run_export(args),
        Command::Import(args) => weights::run_import(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// Writing to a closed pipe (`ebm classify ... | head`) ends the process quietly, as it does
/// other Unix tools, instead of panicking in `println!` (Rust ignores `SIGPIPE` by default).
#[cfg(unix)]
#[allow(unsafe_code)]
fn default_sigpipe() {
    // SAFETY: restores the default disposition of one signal at start-up, before any other
    // thread exists; no handler runs Rust code.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

#[cfg(not(unix))]
fn default_sigpipe() {}
