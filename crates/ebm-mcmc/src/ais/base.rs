//! The tractable start of the AIS path: a Gaussian or a uniform box, with known `log Z_0`.

use burn::tensor::{Device, Tensor};
use ebm_core::SeededRng;
use serde::{Deserialize, Serialize};

use crate::error::McmcError;
use crate::kernel::sum_per_chain;

/// The tractable start of the path, with known `log Z_0`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum AisBase {
    /// `N(mean, sd^2 I)`: `E_0 = |x - mean|^2 / (2 sd^2)`, `log Z_0 = d (log sd + log(2 pi) / 2)`.
    Gaussian {
        /// The mean of every coordinate.
        mean: f64,
        /// The standard deviation of every coordinate.
        sd: f64,
    },
    /// The uniform distribution on `[lo, hi]^d`: `E_0 = 0` inside, `+inf` outside,
    /// `log Z_0 = d log(hi - lo)`.
    UniformBox {
        /// Lower bound of every coordinate.
        lo: f64,
        /// Upper bound of every coordinate.
        hi: f64,
    },
}

impl AisBase {
    /// Checks the parameters (finite, `sd > 0`, `lo < hi`).
    pub fn validate(&self) -> Result<(), McmcError> {
        match *self {
            AisBase::Gaussian { mean, sd } if !(mean.is_finite() && sd.is_finite() && sd > 0.0) => {
                Err(McmcError::invalid(
                    "ais base",
                    "gaussian",
                    format!("need a finite mean and sd > 0, got mean {mean}, sd {sd}"),
                ))
            }
            AisBase::UniformBox { lo, hi } if !(lo.is_finite() && hi.is_finite() && lo < hi) => {
                Err(McmcError::invalid(
                    "ais base",
                    "box",
                    format!("need finite lo < hi, got [{lo}, {hi}]"),
                ))
            }
            _ => Ok(()),
        }
    }

    /// `log Z_0` in `d` dimensions.
    pub fn log_z(&self, d: usize) -> f64 {
        let d = d as f64;
        match *self {
            AisBase::Gaussian { sd, .. } => d * (sd.ln() + 0.5 * (2.0 * std::f64::consts::PI).ln()),
            AisBase::UniformBox { lo, hi } => d * (hi - lo).ln(),
        }
    }

    /// Exact draws of shape `dims` (`[chains, ...]`).
    pub fn sample<const D: usize>(
        &self,
        dims: [usize; D],
        rng: &mut SeededRng,
        device: &Device,
    ) -> Tensor<D> {
        match *self {
            AisBase::Gaussian { mean, sd } => rng.normal(dims, device) * sd + mean,
            AisBase::UniformBox { lo, hi } => rng.uniform(dims, lo as f32, hi as f32, device),
        }
    }

    /// `E_0(x)` (`+inf` outside the box) and `dE_0/dx` (0 for the box).
    pub fn energy_and_grad<const D: usize>(&self, x: Tensor<D>) -> (Tensor<1>, Tensor<D>) {
        match *self {
            AisBase::Gaussian { mean, sd } => {
                let diff = x - mean;
                let grad = diff.clone() / (sd * sd);
                (sum_per_chain(grad.clone() * diff) * 0.5, grad)
            }
            AisBase::UniformBox { lo, hi } => {
                let outside = x.clone().lower_elem(lo).float() + x.clone().greater_elem(hi).float();
                let n_out = sum_per_chain(outside);
                let e = n_out.clone().zeros_like();
                let e = e.mask_fill(n_out.greater_elem(0.5), f64::INFINITY);
                (e, x.zeros_like())
            }
        }
    }
}
