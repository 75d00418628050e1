//! Held-out log-likelihood `mean(-E(x)) - log Z` once `log Z` is known.

use burn::tensor::Tensor;
use ebm_core::Energy;
use serde::{Deserialize, Serialize};

use super::estimate::host;
use crate::error::McmcError;

/// A held-out log-likelihood: the mean of `log p(x) = -E(x) - log Z` over the data.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct HeldOutLogLikelihood {
    /// `mean_n(-E(x_n)) - log Z`, nats per item.
    pub mean: f64,
    /// The standard error from the data: `sd_n(E(x_n)) / sqrt(N)`.
    pub se_data: f64,
    /// The standard error of `log Z` (0 when exact).
    pub se_log_z: f64,
    /// Items `N`.
    pub count: usize,
}

/// `mean(-E(x)) - log Z` over a batch `x` (`[N, ...]`), with the standard error of `log Z` carried
/// along (0 for an exact `log Z`).
pub fn held_out_log_likelihood<const D: usize, E: Energy<D> + ?Sized>(
    energy: &E,
    x: Tensor<D>,
    log_z: f64,
    se_log_z: f64,
) -> Result<HeldOutLogLikelihood, McmcError> {
    let e = host(energy.try_energy(x.inner())?)?;
    let n = e.len();
    if n == 0 {
        return Err(McmcError::invalid(
            "held-out log-likelihood",
            "x",
            "no items",
        ));
    }
    let mean_e = e.iter().sum::<f64>() / n as f64;
    let var = if n > 1 {
        e.iter().map(|v| (v - mean_e).powi(2)).sum::<f64>() / (n - 1) as f64
    } else {
        0.0
    };
    Ok(HeldOutLogLikelihood {
        mean: -mean_e - log_z,
        se_data: (var / n as f64).sqrt(),
        se_log_z,
        count: n,
    })
}
