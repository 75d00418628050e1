//! The energy abstraction: a batch in, one energy per item out.
//!
//! An energy-based model scores an input `x` with `E(x)`; low energy means likely:
//!
//! ```text
//! p(x) = exp(-E(x)) / Z,      Z = \int exp(-E(x)) dx
//! ```
//!
//! `Z` is intractable in general, so most of the toolkit works with energy differences,
//! `log p(x) - log p(x') = E(x') - E(x)`, and with the input gradient `dE/dx`.

use burn::optim::GradientsParams;
use burn::tensor::Tensor;

use crate::error::EnergyError;

/// The weight `c_i = dL/dE_i` of item `i` of a batch, given its energy `E_i`: the derivative of a
/// loss `L` that depends on each item only through its energy (contrastive divergence's does).
pub type ItemWeight<'a> = dyn Fn(usize, f32) -> f32 + Sync + 'a;

/// A scalar energy over a batch of inputs of rank `D`.
///
/// The first axis is the batch: `[N, d]` vectors or `[N, C, H, W]` images map to `[N]` energies.
/// Implementations must treat the items of a batch independently.
pub trait Energy<const D: usize> {
    /// The energy `E(x)` of every item of the batch, shape `[N]`.
    fn energy(&self, x: Tensor<D>) -> Tensor<1>;

    /// A short human-readable name, used in error messages.
    fn name(&self) -> String {
        String::from("energy")
    }

    /// Checks that a batch has the shape this energy accepts (the batch size is free).
    ///
    /// The default accepts any shape; energies with a fixed event shape override it.
    fn check_input(&self, dims: [usize; D]) -> Result<(), EnergyError> {
        let _ = dims;
        Ok(())
    }

    /// `log Z`, where it is known in closed form.
    fn log_z(&self) -> Option<f64> {
        None
    }

    /// The energy and its input gradient `dE/dx` from one backward pass, with the energy's own
    /// parameters frozen.
    ///
    /// The default uses autodiff ([`autodiff_energy_and_grad`]); analytic energies override it
    /// with closed forms. Both returned tensors carry no autodiff graph.
    fn energy_and_grad(&self, x: Tensor<D>) -> (Tensor<1>, Tensor<D>) {
        autodiff_energy_and_grad(self, x)
    }

    /// The energies `[N]` of `x` and the gradient with respect to the energy's parameters of
    /// `L = sum_i c_i E(x_i)`, `c_i = weight(i, E(x_i))`, where the energy can form it without
    /// the autodiff tape; `None` (the default) means "use autodiff".
    ///
    /// With `c_i = dL/dE_i` this is the parameter gradient of any loss that depends on each item
    /// only through its energy. Trainers try it first and fall back to autodiff on `None`.
    fn weighted_param_grads(
        &self,
        x: Tensor<D>,
        weight: &ItemWeight<'_>,
    ) -> Option<(Tensor<1>, GradientsParams)> {
        let _ = (x, weight);
        None
    }

    /// [`Energy::energy_and_grad`] on host memory: `x` holds the batch row-major with shape
    /// `dims`; out come the energies `[N]` and the gradient in `x`'s layout. `None` (the default)
    /// where the energy has no host path; samplers then use the tensor method.
    ///
    /// The CNN energy implements it on the CPU, where it saves the tensor round trips of a
    /// sampler's inner loop.
    fn energy_and_grad_host(&self, x: &[f32], dims: [usize; D]) -> Option<(Vec<f32>, Vec<f32>)> {
        let _ = (x, dims);
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

    /// The score `f(x) = -E(x)` (an unnormalised log density).
    fn score(&self, x: Tensor<D>) -> Tensor<1> {
        self.energy(x).neg()
    }

    /// `log p(x) - log p(x') = E(x') - E(x)`, item by item, with no need for `Z`.
    fn log_ratio(&self, x: Tensor<D>, x_prime: Tensor<D>) -> Tensor<1> {
        self.energy(x_prime) - self.energy(x)
    }

    /// The energy with its input checked first and its output checked for shape `[N]`.
    fn try_energy(&self, x: Tensor<D>) -> Result<Tensor<1>, EnergyError> {
        let dims = x.dims();
        self.check_input(dims)?;
        let e = self.energy(x);
        let [n] = e.dims();
        if n != dims[0] {
            return Err(EnergyError::Shape {
                energy: self.name(),
                expected: format!("[{}] energies for a batch of {}", dims[0], dims[0]),
                got: vec![n],
            });
        }
        Ok(e)
    }
}

/// `E(x)` and `dE/dx` by reverse-mode autodiff on a fresh input leaf.
///
/// The input is taken off any graph it carries (`inner()`), made a leaf that requires a gradient,
/// and `sum_i E(x_i)` is differentiated; since the items are independent, the gradient of the sum
/// is the per-item gradient. Energies whose parameters live on an autodiff device must freeze
/// them before calling this (their [`Energy::energy_and_grad`] does so with `Module::valid`), or
/// the backward pass also computes parameter gradients that nobody reads.
pub fn autodiff_energy_and_grad<const D: usize, E: Energy<D> + ?Sized>(
    energy: &E,
    x: Tensor<D>,
) -> (Tensor<1>, Tensor<D>) {
    let leaf = x.inner().autodiff().require_grad();
    let e = energy.energy(leaf.clone());
    let grads = e.clone().sum().backward();
    let g = leaf
        .grad(&grads)
        .unwrap_or_else(|| leaf.clone().inner().zeros_like());
    (e.inner(), g)
}

/// Fails with [`EnergyError::NonFinite`] if any energy of the batch is NaN or infinite.
///
/// This reads the energies back to the host: call it once per iteration, not inside a hot loop.
pub fn check_finite(what: &str, energies: &Tensor<1>) -> Result<(), EnergyError> {
    let values = energies
        .to_data()
        .try_to_vec_as::<f64>()
        .unwrap_or_default();
    match values.iter().position(|v| !v.is_finite()) {
        Some(index) => Err(EnergyError::NonFinite {
            what: what.to_string(),
            index,
            value: values[index],
        }),
        None => Ok(()),
    }
}

/// Forwards every method, so `&E`, `Box<E>` and `Box<dyn Energy<D>>` are energies too.
macro_rules! forward_energy {
    ($($ty:ty),*) => {$(
        impl<const D: usize, E: Energy<D> + ?Sized> Energy<D> for $ty {
            fn energy(&self, x: Tensor<D>) -> Tensor<1> {
                (**self).energy(x)
            }
            fn name(&self) -> String {
                (**self).name()
            }
            fn check_input(&self, dims: [usize; D]) -> Result<(), EnergyError> {
                (**self).check_input(dims)
            }
            fn log_z(&self) -> Option<f64> {
                (**self).log_z()
            }
            fn energy_and_grad(&self, x: Tensor<D>) -> (Tensor<1>, Tensor<D>) {
                (**self).energy_and_grad(x)
            }
            fn weighted_param_grads(
                &self,
                x: Tensor<D>,
                weight: &ItemWeight<'_>,
            ) -> Option<(Tensor<1>, GradientsParams)> {
                (**self).weighted_param_grads(x, weight)
            }
            fn energy_and_grad_host(
                &self,
                x: &[f32],
                dims: [usize; D],
            ) -> Option<(Vec<f32>, Vec<f32>)> {
                (**self).energy_and_grad_host(x, dims)
            }
            fn snapshot(&self) -> Option<Box<dyn Energy<D> + '_>> {
                (**self).snapshot()
            }
        }
    )*};
}

forward_energy!(&E, Box<E>, std::sync::Arc<E>);
