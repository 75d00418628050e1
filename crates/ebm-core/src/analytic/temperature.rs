//! Temperature as a wrapper: `E / T`.

use burn::tensor::Tensor;

use crate::energy::Energy;
use crate::error::EnergyError;

/// The tempered energy `E_T(x) = E(x) / T`, i.e. `p_T(x) ∝ p(x)^{1/T}`.
///
/// `T > 1` flattens the density (easier mixing), `T < 1` sharpens it. `log Z` of the tempered
/// density is not known in general, so [`Energy::log_z`] is `None` even when the inner energy has one.
#[derive(Debug, Clone)]
pub struct Tempered<E> {
    /// The wrapped energy.
    pub inner: E,
    temperature: f64,
}

impl<E> Tempered<E> {
    /// Wraps `inner` at temperature `temperature > 0`.
    pub fn new(inner: E, temperature: f64) -> Result<Self, EnergyError> {
        if !(temperature > 0.0 && temperature.is_finite()) {
            return Err(EnergyError::InvalidParameter {
                energy: "Tempered".into(),
                parameter: "temperature".into(),
                reason: format!("must be finite and > 0, got {temperature}"),
            });
        }
        Ok(Self { inner, temperature })
    }

    /// The temperature `T`.
    pub fn temperature(&self) -> f64 {
        self.temperature
    }
}

impl<const D: usize, E: Energy<D>> Energy<D> for Tempered<E> {
    fn energy(&self, x: Tensor<D>) -> Tensor<1> {
        self.inner.energy(x) / self.temperature
    }

    fn name(&self) -> String {
        format!("{} at T = {}", self.inner.name(), self.temperature)
    }

    fn check_input(&self, dims: [usize; D]) -> Result<(), EnergyError> {
        self.inner.check_input(dims).map_err(|err| match err {
            EnergyError::Shape { expected, got, .. } => EnergyError::Shape {
                energy: self.name(),
                expected,
                got,
            },
            other => other,
        })
    }

    fn energy_and_grad(&self, x: Tensor<D>) -> (Tensor<1>, Tensor<D>) {
        let (e, g) = self.inner.energy_and_grad(x);
        (e / self.temperature, g / self.temperature)
    }
}
