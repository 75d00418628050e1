//! Running a configured kernel for `k` steps from given starts: how negatives are made.

use burn::tensor::Tensor;
use ebm_core::{Energy, SeededRng};
use ebm_mcmc::Kernel;

use crate::config::SamplerConfig;
use crate::error::TrainError;

/// Runs any kernel for `steps` steps from `start` on `energy`; returns the final positions and
/// the mean acceptance probability over steps and chains as a `[1]` tensor (not read back here).
///
/// The chains run on the energy's [`HostEnergy::snapshot`](ebm_core::HostEnergy::snapshot)
/// where it has one (its parameters do not change during the run).
pub fn run_kernel<const D: usize, E: Energy<D> + ?Sized, K: Kernel<D>>(
    kernel: &K,
    energy: &E,
    start: Tensor<D>,
    steps: usize,
    rng: &mut SeededRng,
) -> (Tensor<D>, Tensor<1>) {
    match energy.host().and_then(|h| h.snapshot()) {
        Some(snapshot) => run_steps(kernel, &*snapshot, start, steps, rng),
        None => run_steps(kernel, energy, start, steps, rng),
    }
}

fn run_steps<const D: usize, E: Energy<D> + ?Sized, K: Kernel<D>>(
    kernel: &K,
    energy: &E,
    start: Tensor<D>,
    steps: usize,
    rng: &mut SeededRng,
) -> (Tensor<D>, Tensor<1>) {
    let device = start.device();
    let mut state = kernel.init(energy, start);
    let mut acc = Tensor::<1>::zeros([1], &device);
    for _ in 0..steps {
        let (next, info) = kernel.step(energy, state, rng);
        state = next;
        acc = acc + info.accept_prob.mean();
    }
    (state.position, acc / steps.max(1) as f64)
}

/// Builds the configured kernel and runs it for `steps` steps from `start` (see [`run_kernel`]):
/// the negatives and their mean acceptance probability. Only positions are read, so clipped
/// SGLD skips the forward pass that would keep its state's energy current
/// ([`AnyKernel::for_positions_only`](ebm_mcmc::AnyKernel::for_positions_only)). Fails if the configuration is invalid.
pub fn run_sampler<const D: usize, E: Energy<D> + ?Sized>(
    sampler: &SamplerConfig,
    energy: &E,
    start: Tensor<D>,
    steps: usize,
    rng: &mut SeededRng,
) -> Result<(Tensor<D>, Tensor<1>), TrainError> {
    let kernel = sampler.build()?.for_positions_only();
    Ok(run_kernel(&kernel, energy, start, steps, rng))
}
