//! `ebm logz`: the held-out average log-likelihood of a trained RBM, with `log Z` exact by
//! enumeration (up to 20 hidden units) or by AIS from the base-rate RBM, and reverse AIS for the
//! other side of a sandwich.

use std::time::Instant;

use anyhow::Result;
use clap::Args;
use ebm_core::rbm::{MAX_ENUMERATED_UNITS, log_z_exact};
use ebm_core::{BaseRateRbm, Rbm, SeededRng};
use ebm_mcmc::{
    AisEstimate, BlockGibbs, Temperatures, ais_rbm, held_out_log_likelihood, reverse_ais_rbm,
};
use serde::{Deserialize, Serialize};

use super::{Split, load_run, load_split, to_tensor};
use crate::args::RunArgs;
use crate::output::write_json;

/// Arguments of `ebm logz`.
#[derive(Debug, Args)]
pub struct LogzArgs {
    /// The RBM run (default `runs/rbm`).
    #[command(flatten)]
    run: RunArgs,
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

/// What `ebm logz` found (`logz.json`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
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

/// Runs `ebm logz`.
pub fn run_logz(args: LogzArgs) -> Result<()> {
    let device = args.run.device.device()?;
    let dir = args.run.existing("rbm")?;
    let (config, rbm) = load_run(&dir, &device)?;
    let split = load_split(&config)?;
    let t0 = Instant::now();
    let (d, nh) = (rbm.n_visible(), rbm.n_hidden());
    let mut r = LogzReport {
        hidden: nh,
        train_images: split.train_len(),
        held_out_images: split.held_out_len(),
        published: published(nh),
        ..LogzReport::default()
    };
    if d.min(nh) <= MAX_ENUMERATED_UNITS {
        r.exact_log_z = Some(log_z_exact(&rbm)?);
    }
    if r.exact_log_z.is_none() || args.ais || args.reverse {
        estimate_by_ais(&args, &rbm, &split, &device, &mut r)?;
    }
    (r.log_z, r.log_z_se, r.method) = match r.exact_log_z {
        Some(z) => (z, 0.0, format!("exact, enumerating 2^{} states", d.min(nh))),
        None => (
            r.ais_log_z.unwrap_or(f64::NAN),
            r.ais_se.unwrap_or(f64::NAN),
            format!(
                "AIS from the base-rate RBM, {} temperatures, {} chains",
                r.ais_temperatures.unwrap_or(0),
                r.ais_chains.unwrap_or(0)
            ),
        ),
    };
    let held = to_tensor(&split.held_out, split.held_out_len(), d, &device);
    let ll = held_out_log_likelihood(&rbm, held, r.log_z, r.log_z_se)?;
    r.held_out_log_likelihood = ll.mean;
    r.held_out_se_data = ll.se_data;
    r.mean_neg_free_energy = ll.mean + r.log_z;
    r.seconds = t0.elapsed().as_secs_f64();
    write_json(&dir.file("logz.json"), &r)?;
    crate::report::refresh(&dir);
    print_report(
        &r,
        &config.train.method(),
        d,
        args.reverse_sweeps,
        ll.se_log_z,
    );
    Ok(())
}

/// Forward AIS (and reverse AIS with `--reverse`) into the report.
fn estimate_by_ais(
    args: &LogzArgs,
    rbm: &Rbm,
    split: &Split,
    device: &burn::tensor::Device,
    r: &mut LogzReport,
) -> Result<()> {
    let base = BaseRateRbm::from_data(&split.train, split.dim(), 1.0, device)?;
    let temps = Temperatures::salakhutdinov_murray(args.temperatures)?;
    let mut rng = SeededRng::new(args.seed);
    let k = temps.steps();
    let est = ais_rbm(
        rbm,
        &base,
        args.chains,
        &temps,
        &mut rng,
        progress("AIS", k),
    )?;
    eprintln!();
    r.ais_log_z = Some(est.log_z);
    r.ais_se = Some(est.se);
    r.ais_ess = Some(est.ess);
    r.ais_chains = Some(est.chains);
    r.ais_temperatures = Some(k);
    if args.reverse {
        let start = base.sample(args.chains, &mut rng);
        let draws = BlockGibbs::new(args.reverse_sweeps.max(1))?
            .run(rbm, start, &mut rng)
            .visible;
        let rev: AisEstimate = reverse_ais_rbm(
            rbm,
            &base,
            draws,
            &temps,
            &mut rng,
            progress("reverse AIS", k),
        )?;
        eprintln!();
        r.reverse_ais_log_z = Some(rev.log_z);
        r.reverse_ais_se = Some(rev.se);
    }
    Ok(())
}

fn progress(what: &'static str, k: usize) -> impl FnMut(usize) {
    move |s| {
        if s % (k / 10).max(1) == 0 {
            eprint!("\r{what}: {s}/{k} temperatures");
        }
    }
}

fn print_report(r: &LogzReport, method: &str, d: usize, reverse_sweeps: usize, se_log_z: f64) {
    let nh = r.hidden;
    println!(
        "RBM {d} visible x {nh} hidden, trained by {method} on {} images",
        r.train_images
    );
    println!("log Z = {:.4} ± {:.4} ({})", r.log_z, r.log_z_se, r.method);
    if let (Some(z), Some(a), Some(se)) = (r.exact_log_z, r.ais_log_z, r.ais_se) {
        println!(
            "AIS check: {a:.4} ± {se:.4} against exact {z:.4} (error {:+.2} se)",
            (a - z) / se
        );
    }
    if let (Some(lo), Some(hi), Some(se)) = (r.ais_log_z, r.reverse_ais_log_z, r.reverse_ais_se) {
        println!(
            "sandwich: forward AIS {lo:.4} <~ log Z <~ {hi:.4} ± {se:.4} reverse AIS (from {reverse_sweeps} Gibbs sweeps per draw, so approximate)"
        );
    }
    if let Some(ess) = r.ais_ess {
        println!("AIS weights: ESS {ess:.1} of {}", r.ais_chains.unwrap_or(0));
    }
    println!(
        "held-out log-likelihood: {:.2} nats (± {:.2} from the data, ± {:.2} from log Z) over {} digits",
        r.held_out_log_likelihood, r.held_out_se_data, se_log_z, r.held_out_images
    );
    if r.published.is_empty() {
        println!(
            "Salakhutdinov and Murray (2008) report RBMs with 20 and 500 hidden units; none with {nh}."
        );
    } else {
        let list: Vec<String> = r
            .published
            .iter()
            .map(|(n, v)| format!("{n} {v:.2}"))
            .collect();
        println!(
            "Salakhutdinov and Murray (2008), {nh} hidden units, MNIST test set: {} nats; their RBMs were trained on all 60,000 training digits for many more epochs, this one on {} (the figures are comparable in kind, not in training budget)",
            list.join(", "),
            r.train_images
        );
    }
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
