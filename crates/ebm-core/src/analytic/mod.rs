//! Analytic energies: closed-form energies and gradients, with exact `log Z` where one exists.
//!
//! They are the known answers the samplers, the trainers and the normalisers are tested against.
//! All act on `[N, d]` batches. The sampler benchmarks' targets (diagonal Gaussian, banana,
//! funnel, logistic regression) also evaluate on host memory ([`HostEnergy`](crate::HostEnergy),
//! in `host.rs`), which NUTS on the CPU uses to run chain by chain.

mod banana;
mod diag_gaussian;
mod double_well;
mod funnel;
mod gaussian;
mod host;
mod logistic;
mod logistic_host;
mod mixture;
pub(crate) mod special;
mod temperature;

pub use banana::Banana;
pub use diag_gaussian::DiagGaussian;
pub use double_well::DoubleWell;
pub use funnel::Funnel;
pub use gaussian::Gaussian;
pub use logistic::LogisticRegression;
pub use mixture::GaussianMixture;
pub use temperature::Tempered;

use burn::tensor::{Device, Tensor, TensorData};

use crate::error::EnergyError;

/// `0.5 * log(2 pi)`.
pub(crate) const HALF_LN_2PI: f64 = 0.918_938_533_204_672_8;

/// A `[1, d]` row tensor from host values.
pub(crate) fn row(values: &[f64], device: &Device) -> Tensor<2> {
    let v: Vec<f32> = values.iter().map(|&x| x as f32).collect();
    Tensor::from_data(TensorData::new(v, [1, values.len()]), device)
}

/// Checks `dims == [N, d]` for an energy of dimension `d`.
pub(crate) fn check_dim(name: &str, d: usize, dims: [usize; 2]) -> Result<(), EnergyError> {
    crate::module_energy::check_event_dims(name, Some(&[d]), &dims)
}

/// Fails unless every value is finite (and positive when `positive`).
pub(crate) fn check_values(
    energy: &str,
    parameter: &str,
    values: &[f64],
    positive: bool,
) -> Result<(), EnergyError> {
    let bad = |reason: String| EnergyError::InvalidParameter {
        energy: energy.into(),
        parameter: parameter.into(),
        reason,
    };
    if values.is_empty() {
        return Err(bad("must not be empty".into()));
    }
    if let Some((i, v)) = values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(bad(format!("entry {i} is not finite ({v})")));
    }
    if positive && let Some((i, v)) = values.iter().enumerate().find(|(_, v)| **v <= 0.0) {
        return Err(bad(format!("entry {i} must be positive, got {v}")));
    }
    Ok(())
}
