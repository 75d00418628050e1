//! The CPU fast paths of an energy, kept out of [`Energy`] and reached through [`Energy::host`].
//!
//! Sampling and training call an energy many times with unchanged parameters. Where an energy can
//! do the work on plain host buffers (the CNN energy on the CPU does, see
//! [`HostCnn`](crate::HostCnn)), it exposes that through [`HostEnergy`]: callers ask
//! `energy.host()` and fall back to the tensor methods of [`Energy`] on `None`.
//!
//! ```text
//! let (e, g) = match energy.host().map(|h| h.energy_and_grad_host(&x, dims)) {
//!     Some(Ok(host)) => host,
//!     _ => /* the tensor path: energy.energy_and_grad(...) */,
//! };
//! ```
//!
//! The parameter gradient ([`HostEnergy::weighted_param_grads`]) returns burn's optimiser type
//! `GradientsParams`; it is the only reason `ebm-core` uses burn's `optim` feature, and it exists
//! only with this crate's `optim` feature (on by default).

#[cfg(feature = "optim")]
use burn::optim::GradientsParams;
#[cfg(feature = "optim")]
use burn::tensor::Tensor;

use crate::energy::Energy;
use crate::error::EnergyError;

/// The weight `c_i = dL/dE_i` of item `i` of a batch, given its energy `E_i`: the derivative of a
/// loss `L` that depends on each item only through its energy (contrastive divergence's does).
pub type ItemWeight<'a> = dyn Fn(usize, f32) -> f32 + Sync + 'a;

/// The CPU fast paths of an [`Energy`] of rank `D`: the same results as its tensor methods, on
/// host memory and without the autodiff tape.
///
/// `Sync`, so that samplers can evaluate chains on several threads (NUTS on the CPU does).
pub trait HostEnergy<const D: usize>: Sync {
    /// [`Energy::energy_and_grad`] on host memory: `x` holds the batch row-major with shape
    /// `dims`; out come the energies `[N]` and the gradient in `x`'s layout.
    ///
    /// Rows are independent: any run of rows of a batch, passed alone with its own `dims[0]`, gets
    /// the same energies and gradients as within the batch (samplers evaluate chunks of chains,
    /// or single chains).
    ///
    /// The CNN energy implements it on the CPU, where it saves the tensor round trips of a
    /// sampler's inner loop. Fails with [`EnergyError::Shape`] when `dims` is not a shape the
    /// energy accepts or `x` does not hold `dims` values; samplers then use the tensor method.
    fn energy_and_grad_host(
        &self,
        x: &[f32],
        dims: [usize; D],
    ) -> Result<(Vec<f32>, Vec<f32>), EnergyError>;

    /// The energies `[N]` of `x` and the gradient with respect to the energy's parameters of
    /// `L = sum_i c_i E(x_i)`, `c_i = weight(i, E(x_i))`, where the energy can form it without
    /// the autodiff tape; `None` (the default) means "use autodiff".
    ///
    /// With `c_i = dL/dE_i` this is the parameter gradient of any loss that depends on each item
    /// only through its energy. Trainers try it first and fall back to autodiff on `None`;
    /// `Some(Err(_))` is a batch the energy rejects ([`EnergyError::Shape`]) or cannot read.
    #[cfg(feature = "optim")]
    fn weighted_param_grads(
        &self,
        x: Tensor<D>,
        weight: &ItemWeight<'_>,
    ) -> Option<Result<(Tensor<1>, GradientsParams), EnergyError>> {
        let _ = (x, weight);
        None
    }

    /// A copy of this energy prepared for many evaluations with unchanged parameters (a sampler's
    /// inner loop), or `None` (the default) where preparing saves nothing.
    ///
    /// The CNN energy on the CPU returns its parameters laid out once for its kernels, instead of
    /// once per call. The snapshot is a plain value: it does not see later parameter updates.
    fn snapshot(&self) -> Option<Box<dyn Energy<D> + '_>> {
        None
    }
}
