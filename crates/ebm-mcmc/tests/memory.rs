//! Memory stays flat over long runs: a 5,000-step MALA run of an MLP energy (2 -> 128 -> 128 -> 1,
//! 256 chains) peaks within 10% of a 500-step run's resident memory.
//!
//! The peak resident set (`VmHWM` in `/proc/self/status`) is a high-water mark for the whole
//! process, so each length runs in a child process: the parent test re-executes this test binary
//! (`std::env::current_exe()`) filtered to the helper test [`rss_child`], with `EBM_MEM_STEPS`
//! selecting the length; the helper prints its `VmHWM` and the parent compares. Both runs keep the
//! same number of draws (50, thinned), so the output buffer is the same size and any growth would
//! come from the sampling loop itself (retained tensors, autodiff graphs, caches).
//!
//! So that the check can fail, a negative control runs the 5,000-step child with
//! `EBM_MEM_LEAK=1`, which retains every state (positions, energies and gradients: at least 5 KiB
//! per step; measured 42 MiB peak against 8.7 MiB), and asserts that the same 10% check flags it.
//! The three children take about 25 s in the test profile (the 5,000-step run about 15 s).

use std::process::Command;
use std::time::Instant;

use burn::tensor::Device;
use ebm_core::{MlpEnergyConfig, SeededRng};
use ebm_mcmc::{ChainState, Kernel, Mala, RunConfig, StepSize, run};

const CHAINS: usize = 256;
const DRAWS: usize = 50;

/// The peak resident set size of this process in KiB (`VmHWM`).
fn vm_hwm_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("reading /proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/self/status")
}

/// The helper: does nothing unless `EBM_MEM_STEPS` is set; then runs that many MALA steps (a
/// tenth as adapted warm-up, the rest thinned to 50 draws) and prints `VMHWM_KIB=<n>`.
#[test]
fn rss_child() {
    let Ok(steps) = std::env::var("EBM_MEM_STEPS") else {
        return;
    };
    let steps: usize = steps.parse().expect("EBM_MEM_STEPS is a number");
    let leak = std::env::var("EBM_MEM_LEAK").is_ok();
    let device = Device::flex();
    let energy = MlpEnergyConfig::new(2).init(&device, 0).unwrap();
    let mut rng = SeededRng::new(3);
    let init = rng.normal([CHAINS, 2], &device);
    let warmup = steps / 10;
    let thin = (steps - warmup) / DRAWS;
    assert_eq!(
        warmup + thin * DRAWS,
        steps,
        "steps must be a multiple of 500"
    );
    let config = RunConfig {
        warmup,
        draws: DRAWS,
        thin,
        diagnostics: false,
        ..RunConfig::default()
    };
    let mut kernel = Mala::new(StepSize::Shared(0.05)).unwrap();
    let start = Instant::now();
    if leak {
        // The negative control: the same number of steps, every state kept alive.
        let mut kept: Vec<ChainState<2>> = Vec::with_capacity(steps);
        let mut state = kernel.init(&energy, init);
        for _ in 0..steps {
            state = kernel.step(&energy, state, &mut rng).0;
            kept.push(state.clone());
        }
        assert_eq!(kept.len(), steps);
    } else {
        let out = run(&energy, &mut kernel, init, &config, &mut rng, |_| {}).unwrap();
        assert_eq!(out.shape, vec![CHAINS, DRAWS, 2]);
    }
    println!(
        "VMHWM_KIB={} SECONDS={:.2}",
        vm_hwm_kib(),
        start.elapsed().as_secs_f64()
    );
}

/// Runs [`rss_child`] in a fresh process and returns its peak RSS in KiB.
fn child_peak(steps: usize, leak: bool) -> u64 {
    let exe = std::env::current_exe().unwrap();
    let mut cmd = Command::new(exe);
    cmd.args(["--exact", "rss_child", "--nocapture", "--test-threads", "1"])
        .env("EBM_MEM_STEPS", steps.to_string());
    if leak {
        cmd.env("EBM_MEM_LEAK", "1");
    } else {
        cmd.env_remove("EBM_MEM_LEAK");
    }
    let out = cmd.output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "child failed: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = text
        .lines()
        .find(|l| l.contains("VMHWM_KIB="))
        .unwrap_or_else(|| panic!("no VMHWM_KIB in {text}"));
    eprintln!("steps {steps} leak {leak}: {line}");
    line.split_whitespace()
        .find_map(|w| w.strip_prefix("VMHWM_KIB="))
        .and_then(|v| v.parse().ok())
        .unwrap()
}

#[test]
fn mala_on_an_mlp_keeps_memory_flat_over_5000_steps() {
    if std::env::var("EBM_MEM_STEPS").is_ok() {
        return; // inside a child
    }
    let short = child_peak(500, false);
    let long = child_peak(5000, false);
    let ratio = long as f64 / short as f64;
    eprintln!("peak RSS: 500 steps {short} KiB, 5000 steps {long} KiB, ratio {ratio:.3}");
    assert!(
        ratio < 1.10,
        "peak RSS grew from {short} KiB (500 steps) to {long} KiB (5000 steps)"
    );
    let leaky = child_peak(5000, true);
    let leak_ratio = leaky as f64 / short as f64;
    eprintln!("negative control, every state kept: {leaky} KiB, ratio {leak_ratio:.3}");
    assert!(
        leak_ratio >= 1.10,
        "the check missed a leak of every state: {leaky} KiB vs {short} KiB"
    );
}
