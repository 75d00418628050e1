//! Running a configured kernel for `k` steps from given starts: how negatives are made.

use burn::tensor::Tensor;
use ebm_core::{Energy, SeededRng};
use ebm_mcmc::{Hmc, Kernel, Mala, Rwm, Sgld, StepSize, Ula};

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

impl SamplerConfig {
    /// Whether the kernel has an accept/reject step (so its acceptance rate means something).
    pub fn is_adjusted(&self) -> bool {
        matches!(
            self,
            Self::Mala { .. } | Self::Hmc { .. } | Self::Rwm { .. }
        )
    }

    /// The clipped-SGLD kernel of an `Sgld` config (`None` for other samplers). Its state keeps
    /// the energy at the noised point, which saves a forward pass per step: callers read only
    /// positions.
    pub fn sgld_kernel(&self) -> Option<Result<Sgld, TrainError>> {
        let Self::Sgld {
            step_size,
            noise,
            grad_clip,
            domain,
        } = self
        else {
            return None;
        };
        let build = || -> Result<Sgld, TrainError> {
            let mut k =
                Sgld::new(StepSize::Shared(*step_size), *noise)?.with_energy_at_noised_point();
            if let Some(c) = grad_clip {
                k = k.with_grad_clip(*c)?;
            }
            if let Some((lo, hi)) = domain {
                k = k.with_domain(*lo, *hi)?;
            }
            Ok(k)
        };
        Some(build())
    }

    /// Builds the kernel and runs it for `steps` steps from `start` (see [`run_kernel`]).
    pub fn run<const D: usize, E: Energy<D> + ?Sized>(
        &self,
        energy: &E,
        start: Tensor<D>,
        steps: usize,
        rng: &mut SeededRng,
    ) -> Result<(Tensor<D>, Tensor<1>), TrainError> {
        Ok(match self {
            Self::Sgld { .. } => {
                let k = self.sgld_kernel().expect("an Sgld config")?;
                run_kernel(&k, energy, start, steps, rng)
            }
            Self::Ula { eps } => run_kernel(
                &Ula::new(StepSize::Shared(*eps))?,
                energy,
                start,
                steps,
                rng,
            ),
            Self::Mala { eps } => run_kernel(
                &Mala::new(StepSize::Shared(*eps))?,
                energy,
                start,
                steps,
                rng,
            ),
            Self::Hmc { eps, leapfrog } => run_kernel(
                &Hmc::new(StepSize::Shared(*eps), *leapfrog)?,
                energy,
                start,
                steps,
                rng,
            ),
            Self::Rwm { sigma } => run_kernel(
                &Rwm::new(StepSize::Shared(*sigma))?,
                energy,
                start,
                steps,
                rng,
            ),
        })
    }
}
