//! Step throughput of the MCMC kernels on the CPU (flex): one step of 1,024 chains.
//!
//! `cargo bench -p ebm-benches --bench mcmc`. Ids `mcmc/<kernel>_<target>_c1024` for kernels
//! `rwm`, `ula`, `mala` and `hmc` (L = 10 leapfrog steps) on targets `gauss100` (standard normal,
//! d = 100), `illcond100` (diagonal Gaussian, variances log-spaced from 0.1 to 10, d = 100) and
//! `mlp` (the MLP energy 2 -> 128 -> 128 -> 1, untrained, seed 0). Throughput is one element per
//! step, so criterion's `elem/s` is steps per second (of all 1,024 chains together).
//!
//! Before timing, each kernel's step size is adapted by 100 warm-up steps of the runner (dual
//! averaging to its target acceptance; ULA keeps a fixed step size of 0.05), and timing starts
//! from the adapted state. Each timed step reads the acceptance probabilities back to the host, as
//! the runner does every step, so the device work is finished inside the measurement.

use std::cell::RefCell;
use std::time::Duration;

use criterion::{Criterion, Throughput};
use ebm_core::burn::tensor::Device;
use ebm_core::{DiagGaussian, Energy, MlpEnergyConfig, SeededRng};
use ebm_mcmc::{ChainState, Hmc, Kernel, Mala, RunConfig, Rwm, StepSize, Ula, run};

const CHAINS: usize = 1024;

fn targets(device: &Device) -> Vec<(&'static str, usize, Box<dyn Energy<2>>)> {
    vec![
        (
            "gauss100",
            100,
            Box::new(DiagGaussian::standard(100, device).unwrap()),
        ),
        (
            "illcond100",
            100,
            Box::new(DiagGaussian::log_spaced(100, 0.1, 10.0, device).unwrap()),
        ),
        (
            "mlp",
            2,
            Box::new(MlpEnergyConfig::new(2).init(device, 0).unwrap()),
        ),
    ]
}

/// Adapts `kernel` for 100 warm-up steps (if it has an adaptation target), then times single steps.
fn bench_kernel<K: Kernel<2>>(
    c: &mut Criterion,
    id: String,
    mut kernel: K,
    energy: &dyn Energy<2>,
    d: usize,
    device: &Device,
) {
    let mut rng = SeededRng::new(1);
    let init = rng.normal([CHAINS, d], device);
    let adapt = kernel.target_accept().is_some();
    let config = RunConfig {
        warmup: 100,
        draws: 0,
        thin: 1,
        adapt: if adapt {
            RunConfig::default().adapt
        } else {
            None
        },
        diagnostics: false,
    };
    let warmed = run(energy, &mut kernel, init, &config, &mut rng, |_| {}).unwrap();
    let state: RefCell<Option<ChainState<2>>> = RefCell::new(Some(warmed.final_state));
    let mut group = c.benchmark_group("mcmc");
    group.throughput(Throughput::Elements(1));
    group.bench_function(id, |b| {
        b.iter(|| {
            let current = state.borrow_mut().take().unwrap();
            let (next, info) = kernel.step(energy, current, &mut rng);
            *state.borrow_mut() = Some(next);
            info.accept_prob.into_data()
        })
    });
    group.finish();
}

fn kernels(c: &mut Criterion) {
    let device = Device::flex();
    for (target, d, energy) in targets(&device) {
        let energy = &*energy;
        bench_kernel(
            c,
            format!("rwm_{target}_c{CHAINS}"),
            Rwm::new(StepSize::Shared(0.2)).unwrap(),
            energy,
            d,
            &device,
        );
        bench_kernel(
            c,
            format!("ula_{target}_c{CHAINS}"),
            Ula::new(StepSize::Shared(0.05)).unwrap(),
            energy,
            d,
            &device,
        );
        bench_kernel(
            c,
            format!("mala_{target}_c{CHAINS}"),
            Mala::new(StepSize::Shared(0.1)).unwrap(),
            energy,
            d,
            &device,
        );
        bench_kernel(
            c,
            format!("hmc_{target}_c{CHAINS}"),
            Hmc::new(StepSize::Shared(0.1), 10).unwrap(),
            energy,
            d,
            &device,
        );
    }
}

fn main() {
    let mut c = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args();
    kernels(&mut c);
    c.final_summary();
}
