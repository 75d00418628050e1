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

use burn::tensor::{Tensor, TensorReadError};

use crate::error::EnergyError;
use crate::host::HostEnergy;

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

    /// The CPU fast paths of this energy ([`HostEnergy`]: host-buffer input gradients, parameter
    /// gradients without the autodiff tape, a snapshot for a sampler's inner loop), or `None`
    /// (the default) where it has none and callers use the tensor methods above.
    ///
    /// Only wrappers that leave the energy unchanged (`&E`, `Box<E>`, `Arc<E>`) forward it: a
    /// composition or a tempered energy is a different function and has no host path of its own.
    fn host(&self) -> Option<&dyn HostEnergy<D>> {
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

/// Fails with [`EnergyError::NonFinite`] if any energy of the batch is NaN or infinite, and with
/// [`EnergyError::ReadBack`] if the energies cannot be read back (an unreadable batch is not a
/// finite one).
///
/// This reads the energies back to the host: call it once per iteration, not inside a hot loop.
pub fn check_finite(what: &str, energies: &Tensor<1>) -> Result<(), EnergyError> {
    check_finite_read(what, energies.try_to_vec_as::<f64>())
}

/// [`check_finite`] on the result of reading the energies back.
fn check_finite_read(
    what: &str,
    read: Result<Vec<f64>, TensorReadError>,
) -> Result<(), EnergyError> {
    let values = read.map_err(|err| EnergyError::read_back(what, err))?;
    match values.iter().position(|v| !v.is_finite()) {
        Some(index) => Err(EnergyError::NonFinite {
            what: what.to_string(),
            index,
            value: values[index],
        }),
        None => Ok(()),
    }
}

/// Forwards every method, so `&E`, `Box<E>`, `Arc<E>` and `Box<dyn Energy<D>>` are energies too
/// (with the same host paths).
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
            fn host(&self) -> Option<&dyn HostEnergy<D>> {
                (**self).host()
            }
        }
    )*};
}

forward_energy!(&E, Box<E>, std::sync::Arc<E>);

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, TensorData};

    #[test]
    fn check_finite_names_the_first_bad_item() {
        let e = Tensor::<1>::from_data(
            TensorData::new(vec![0.0f32, 1.0, f32::NAN], [3]),
            &Device::flex(),
        );
        assert!(matches!(
            check_finite("test", &e),
            Err(EnergyError::NonFinite { index: 2, .. })
        ));
        assert_eq!(check_finite("test", &e.slice(0..2)), Ok(()));
    }

    #[test]
    fn an_unreadable_batch_is_an_error_not_a_pass() {
        // Negative control of the old `unwrap_or_default()`: a failed read gave an empty vector,
        // in which no item is non-finite.
        let failed = Err(TensorReadError::InvalidShape {
            expected: 3,
            actual: 0,
        });
        let err = check_finite_read("energies", failed).unwrap_err();
        assert!(
            matches!(&err, EnergyError::ReadBack { what, .. } if what == "energies"),
            "{err}"
        );
        assert_eq!(check_finite_read("energies", Ok(vec![])), Ok(()));
    }
}
