//! ESS per second and ESS per gradient of MALA and HMC on the CPU (flex), run once and printed.
//!
//! `cargo bench -p ebm-benches --bench mcmc_ess`. For each kernel (MALA; HMC with L = 10) and
//! target (`gauss100`: standard normal, d = 100; `illcond100`: variances log-spaced from 0.1 to
//! 10, d = 100): 1,024 chains from standard-normal draws, 500 warm-up steps of shared dual
//! averaging to the kernel's target acceptance (0.574, 0.65), then 1,000 draws, no thinning
//! (`EBM_ESS_DRAWS` and `EBM_ESS_WARMUP` override the lengths). Printed per case: the adapted
//! step size, the mean acceptance, the minimum and median bulk ESS over the 100 coordinates, the
//! largest R-hat, the sampling wall time (warm-up excluded), steps per second, `ESS/s` (minimum
//! bulk ESS over the sampling time) and `ESS/grad` (minimum bulk ESS over the gradient
//! evaluations of the sampling phase: `chains * draws` for MALA, `chains * draws * L` for HMC).

use std::time::Instant;

use ebm_core::burn::tensor::Device;
use ebm_core::{DiagGaussian, Energy, SeededRng};
use ebm_mcmc::{Hmc, Kernel, Mala, Phase, RunConfig, StepSize, run};

const CHAINS: usize = 1024;
const LEAPFROG: usize = 10;

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Runs one case and prints its line.
fn case<K: Kernel<2>>(
    target: &str,
    energy: &dyn Energy<2>,
    mut kernel: K,
    grads_per_step: usize,
    device: &Device,
) {
    let warmup = env_or("EBM_ESS_WARMUP", 500);
    let draws = env_or("EBM_ESS_DRAWS", 1000);
    let mut rng = SeededRng::new(1);
    let init = rng.normal([CHAINS, 100], device);
    let config = RunConfig {
        warmup,
        draws,
        thin: 1,
        ..RunConfig::default()
    };
    let mut start = Instant::now();
    let mut end = None;
    let out = run(energy, &mut kernel, init, &config, &mut rng, |p| {
        match p.phase {
            Phase::WarmUp if p.step == p.steps => start = Instant::now(),
            Phase::Sampling if p.step == p.steps => end = Some(Instant::now()),
            _ => {}
        }
    })
    .unwrap();
    let seconds = end.unwrap().duration_since(start).as_secs_f64();
    let r = &out.report;
    let accept = r.accept_prob.iter().sum::<f64>() / CHAINS as f64;
    let grads = (CHAINS * draws * grads_per_step) as f64;
    println!(
        "{:<5} {:<11} step {:>8.5} acc {:.3} ess_min {:>9.0} ess_med {:>9.0} rhat_max {:.4} \
         time {:>7.2} s steps/s {:>8.1} ESS/s {:>9.1} ESS/grad {:.2e}",
        r.kernel,
        target,
        r.step_size.mean(),
        accept,
        r.min_ess_bulk,
        r.median_ess_bulk,
        r.max_rhat,
        seconds,
        draws as f64 / seconds,
        r.min_ess_bulk / seconds,
        r.min_ess_bulk / grads,
    );
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else to parse.
    let device = Device::flex();
    let targets: [(&str, DiagGaussian); 2] = [
        ("gauss100", DiagGaussian::standard(100, &device).unwrap()),
        (
            "illcond100",
            DiagGaussian::log_spaced(100, 0.1, 10.0, &device).unwrap(),
        ),
    ];
    println!(
        "chains {CHAINS}, d 100, warm-up {}, draws {}, HMC L = {LEAPFROG}",
        env_or("EBM_ESS_WARMUP", 500),
        env_or("EBM_ESS_DRAWS", 1000)
    );
    for (name, energy) in &targets {
        case(
            name,
            energy,
            Mala::new(StepSize::Shared(0.1)).unwrap(),
            1,
            &device,
        );
        case(
            name,
            energy,
            Hmc::new(StepSize::Shared(0.1), LEAPFROG).unwrap(),
            LEAPFROG,
            &device,
        );
    }
}
