//! Clipped stochastic-gradient Langevin dynamics, as image EBMs use it.
//!
//! The short-run sampler of the UvA deep-learning tutorial on EBMs (and of Du & Mordatch 2019):
//! one step is
//!
//! ```text
//! x <- clamp(x + sigma z, lo, hi),                 z ~ N(0, I)
//! g <- clamp(dE/dx(x), -c, c)
//! x <- clamp(x - eta g, lo, hi)
//! ```
//!
//! with a step size `eta` and a noise scale `sigma` chosen independently (the tutorial uses
//! `eta = 10`, `sigma = 0.005` on images in `[-1, 1]`). Unlike Langevin dynamics, `sigma` is not
//! `sqrt(2 eta)`, the gradient is clipped, positions are clamped to a box and nothing is
//! accepted or rejected: this is a **biased heuristic** that produces useful negatives for
//! training, not a sampler of `exp(-E)/Z`. Each step costs one `energy_and_grad` call (at the
//! noised point) plus one forward `energy` call at the new position, which is cached in the state
//! (the gradient is not: the next step needs it at a different, noised point). Where the state's
//! energy is only monitored (short-run negatives in training), [`Sgld::with_energy_at_noised_point`]
//! drops that forward call.

use burn::tensor::{Device, Tensor, TensorData};
use ebm_core::{Energy, SeededRng};

use crate::error::McmcError;
use crate::kernel::{ChainState, Kernel, StepInfo, StepSize, step_size_methods};

/// Clipped SGLD: noise, clamp, clipped gradient step, clamp. The adaptable step size is `eta`.
#[derive(Debug, Clone, PartialEq)]
pub struct Sgld {
    step_size: StepSize,
    noise_scale: f64,
    grad_clip: Option<f64>,
    domain: Option<(f64, f64)>,
    energy_at_noised_point: bool,
}

impl Sgld {
    /// The kernel's name, `"sgld"`.
    pub const NAME: &'static str = "sgld";

    /// A kernel with gradient step `eta`, noise scale `sigma >= 0`, no gradient clip and no
    /// domain.
    pub fn new(step_size: StepSize, noise_scale: f64) -> Result<Self, McmcError> {
        let step_size = step_size.checked(Self::NAME)?;
        if !(noise_scale.is_finite() && noise_scale >= 0.0) {
            return Err(McmcError::invalid(
                Self::NAME,
                "noise_scale",
                format!("must be finite and non-negative, got {noise_scale}"),
            ));
        }
        Ok(Self {
            step_size,
            noise_scale,
            grad_clip: None,
            domain: None,
            energy_at_noised_point: false,
        })
    }

    /// Clamps every gradient component to `[-c, c]` (`c > 0`).
    pub fn with_grad_clip(mut self, c: f64) -> Result<Self, McmcError> {
        if !(c.is_finite() && c > 0.0) {
            return Err(McmcError::invalid(
                Self::NAME,
                "grad_clip",
                format!("must be finite and positive, got {c}"),
            ));
        }
        self.grad_clip = Some(c);
        Ok(self)
    }

    /// Clamps positions to `[lo, hi]` after the noise and after the gradient step (`lo < hi`).
    pub fn with_domain(mut self, lo: f64, hi: f64) -> Result<Self, McmcError> {
        if !(lo.is_finite() && hi.is_finite() && lo < hi) {
            return Err(McmcError::invalid(
                Self::NAME,
                "domain",
                format!("need finite lo < hi, got [{lo}, {hi}]"),
            ));
        }
        self.domain = Some((lo, hi));
        Ok(self)
    }

    /// Saves one forward pass per step: the state's `energy` becomes `E` at the step's noised
    /// point `clamp(x + sigma z)` (a by-product of the gradient call) instead of `E` at the new
    /// position. It lags the position by the gradient step, so use it for monitoring only (the
    /// runner's NaN check still sees a NaN energy one step later at the latest).
    pub fn with_energy_at_noised_point(mut self) -> Self {
        self.energy_at_noised_point = true;
        self
    }

    /// One step on host buffers, for the CPU (`flex`) with a shared step size: the same
    /// arithmetic in the same order as the tensor path (so the same result), in two loops instead
    /// of eight element-wise tensor operations. The gradient comes from
    /// [`HostEnergy::energy_and_grad_host`](ebm_core::HostEnergy::energy_and_grad_host) where the
    /// energy has a host path that takes the batch (no tensor round trip), else from
    /// [`Energy::energy_and_grad`]. `None` if the positions cannot be read as `f32`.
    fn step_host<const D: usize, E: Energy<D> + ?Sized>(
        &self,
        energy: &E,
        state: &ChainState<D>,
        eta: f64,
        rng: &mut SeededRng,
    ) -> Option<(ChainState<D>, StepInfo)> {
        let dims = state.position.dims();
        let device = state.position.device();
        let mut x = state.position.try_to_vec_as::<f32>().ok()?;
        let (lo, hi) = self
            .domain
            .map_or((f32::NEG_INFINITY, f32::INFINITY), |(lo, hi)| {
                (lo as f32, hi as f32)
            });
        let sigma = self.noise_scale as f32;
        let noise = rng.normal_vec_parallel(x.len());
        for (x, z) in x.iter_mut().zip(noise) {
            *x = (*x + z * sigma).clamp(lo, hi);
        }
        let (e_noised, g) = match energy.host().map(|h| h.energy_and_grad_host(&x, dims)) {
            Some(Ok((e, g))) => (Tensor::from_data(TensorData::new(e, [dims[0]]), &device), g),
            _ => {
                let noised = Tensor::<D>::from_data(TensorData::new(x.clone(), dims), &device);
                let (e, g) = energy.energy_and_grad(noised);
                (e, g.try_to_vec_as::<f32>().ok()?)
            }
        };
        let (clip, eta) = (
            self.grad_clip.map_or(f32::INFINITY, |c| c as f32),
            eta as f32,
        );
        for (x, g) in x.iter_mut().zip(g) {
            *x = (*x - g.clamp(-clip, clip) * eta).clamp(lo, hi);
        }
        let position = Tensor::<D>::from_data(TensorData::new(x, dims), &device);
        let state = if self.energy_at_noised_point {
            ChainState {
                position,
                energy: e_noised,
                grad: None,
            }
        } else {
            ChainState::without_grad(energy, position)
        };
        Some((state, StepInfo::all_accepted(dims[0], &device)))
    }

    fn clamp_domain<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        match self.domain {
            Some((lo, hi)) => x.clamp(lo, hi),
            None => x,
        }
    }
}

impl<const D: usize> Kernel<D> for Sgld {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn step<E: Energy<D> + ?Sized>(
        &self,
        energy: &E,
        state: ChainState<D>,
        rng: &mut SeededRng,
    ) -> (ChainState<D>, StepInfo) {
        if let StepSize::Shared(eta) = self.step_size
            && state.position.device() == Device::flex()
            && let Some(next) = self.step_host(energy, &state, eta, rng)
        {
            return next;
        }
        let dims = state.position.dims();
        let device = state.position.device();
        let z = Tensor::<D>::from_data(
            TensorData::new(rng.normal_vec_parallel(dims.iter().product()), dims),
            &device,
        );
        let x = self.clamp_domain(state.position + z.mul_scalar(self.noise_scale));
        let (e_noised, g) = energy.energy_and_grad(x.clone());
        let g = match self.grad_clip {
            Some(c) => g.clamp(-c, c),
            None => g,
        };
        let x = self.clamp_domain(x - self.step_size.scale(g, |h| h));
        let state = if self.energy_at_noised_point {
            ChainState {
                position: x,
                energy: e_noised,
                grad: None,
            }
        } else {
            ChainState::without_grad(energy, x)
        };
        (state, StepInfo::all_accepted(dims[0], &device))
    }

    fn init<E: Energy<D> + ?Sized>(&self, energy: &E, position: Tensor<D>) -> ChainState<D> {
        ChainState::without_grad(energy, position)
    }

    step_size_methods!(step_size, Self::NAME);
}

#[cfg(test)]
mod tests {
    use super::*;
    use ebm_core::{CnnEnergyConfig, DiagGaussian, MlpEnergyConfig};

    /// The host path (shared step on the CPU) and the tensor path (per-chain steps of the same
    /// value) are the same arithmetic: same positions and energies after a few steps.
    fn assert_paths_agree<const D: usize, E: Energy<D> + ?Sized>(
        energy: &E,
        kernel: Sgld,
        shape: [usize; D],
    ) {
        let device = Device::flex();
        let chains = shape[0];
        let StepSize::Shared(eta) = kernel.step_size else {
            panic!("the host path needs a shared step size")
        };
        let per_chain = Sgld {
            step_size: StepSize::PerChain(vec![eta; chains]),
            ..kernel.clone()
        };
        let start = SeededRng::new(1).normal(shape, &device) * 2.0;
        let (mut a, mut b) = (
            kernel.init(energy, start.clone()),
            per_chain.init(energy, start),
        );
        let (mut rng_a, mut rng_b) = (SeededRng::new(2), SeededRng::new(2));
        for _ in 0..5 {
            a = kernel.step(energy, a, &mut rng_a).0;
            b = per_chain.step(energy, b, &mut rng_b).0;
        }
        for (what, x, y) in [
            (
                "positions",
                a.position.try_to_vec_as::<f32>(),
                b.position.try_to_vec_as::<f32>(),
            ),
            (
                "energies",
                a.energy.try_to_vec_as::<f32>(),
                b.energy.try_to_vec_as::<f32>(),
            ),
        ] {
            let (x, y) = (x.unwrap(), y.unwrap());
            let worst = x
                .iter()
                .zip(&y)
                .fold(0.0f32, |m, (p, q)| m.max((p - q).abs()));
            assert!(
                worst <= 1e-6 * (1.0 + y.iter().fold(0.0f32, |m, v| m.max(v.abs()))),
                "{what}: {worst:e}"
            );
        }
        assert_eq!(rng_a, rng_b, "both paths draw the same noise");
    }

    #[test]
    fn host_and_tensor_paths_agree() {
        let gauss = DiagGaussian::standard(3, &Device::flex()).unwrap();
        let plain = Sgld::new(StepSize::Shared(0.1), 0.3).unwrap();
        assert_paths_agree(&gauss, plain.clone(), [7, 3]);
        let clipped = plain
            .with_grad_clip(0.5)
            .unwrap()
            .with_domain(-1.0, 1.5)
            .unwrap();
        assert_paths_agree(&gauss, clipped.clone(), [7, 3]);
        let mlp = MlpEnergyConfig::new(3).init(&Device::flex(), 3).unwrap();
        assert_paths_agree(&mlp, clipped.clone().with_energy_at_noised_point(), [7, 3]);
        // The CNN's host gradient (`energy_and_grad_host`, through its snapshot) against the
        // tensor path's `energy_and_grad`.
        let cnn = CnnEnergyConfig::new().init(&Device::flex(), 4).unwrap();
        let snapshot = cnn
            .host()
            .and_then(|h| h.snapshot())
            .expect("the CNN has a CPU snapshot");
        assert_paths_agree(&*snapshot, clipped, [5, 1, 28, 28]);
    }
}
