//! The Gaussian energy with a diagonal covariance.

use burn::tensor::{Device, Tensor};

use super::{HALF_LN_2PI, check_dim, check_values, row};
use crate::energy::Energy;
use crate::error::EnergyError;
use crate::host::HostEnergy;
use crate::rng::SeededRng;

/// `E(x) = 1/2 sum_j (x_j - m_j)^2 / v_j`, with `log Z = sum_j 1/2 log(2 pi v_j)`.
#[derive(Debug, Clone)]
pub struct DiagGaussian {
    mean: Tensor<2>,
    inv_var: Tensor<2>,
    sd: Tensor<2>,
    mean_host: Vec<f64>,
    var_host: Vec<f64>,
}

impl DiagGaussian {
    /// A Gaussian with mean `mean` and variances `var` (both `d` values, variances positive).
    pub fn new(mean: &[f64], var: &[f64], device: &Device) -> Result<Self, EnergyError> {
        check_values("DiagGaussian", "mean", mean, false)?;
        check_values("DiagGaussian", "var", var, true)?;
        if mean.len() != var.len() {
            return Err(EnergyError::InvalidParameter {
                energy: "DiagGaussian".into(),
                parameter: "var".into(),
                reason: format!(
                    "{} variances for a mean of dimension {}",
                    var.len(),
                    mean.len()
                ),
            });
        }
        let inv: Vec<f64> = var.iter().map(|v| 1.0 / v).collect();
        let sd: Vec<f64> = var.iter().map(|v| v.sqrt()).collect();
        Ok(Self {
            mean: row(mean, device),
            inv_var: row(&inv, device),
            sd: row(&sd, device),
            mean_host: mean.to_vec(),
            var_host: var.to_vec(),
        })
    }

    /// The standard normal in `d` dimensions.
    pub fn standard(d: usize, device: &Device) -> Result<Self, EnergyError> {
        Self::new(&vec![0.0; d], &vec![1.0; d], device)
    }

    /// The ill-conditioned Gaussian of the benchmarks: mean 0, variances log-spaced from `lo` to `hi`.
    pub fn log_spaced(d: usize, lo: f64, hi: f64, device: &Device) -> Result<Self, EnergyError> {
        let var: Vec<f64> = (0..d)
            .map(|i| {
                let t = if d == 1 {
                    0.0
                } else {
                    i as f64 / (d - 1) as f64
                };
                (lo.ln() + t * (hi.ln() - lo.ln())).exp()
            })
            .collect();
        Self::new(&vec![0.0; d], &var, device)
    }

    /// The dimension `d`.
    pub fn dim(&self) -> usize {
        self.mean_host.len()
    }

    /// The mean.
    pub fn mean(&self) -> &[f64] {
        &self.mean_host
    }

    /// The variances.
    pub fn var(&self) -> &[f64] {
        &self.var_host
    }

    /// `n` exact draws, `[n, d]`.
    pub fn sample(&self, n: usize, rng: &mut SeededRng) -> Tensor<2> {
        rng.normal([n, self.dim()], &self.mean.device()) * self.sd.clone() + self.mean.clone()
    }
}

impl Energy<2> for DiagGaussian {
    fn energy(&self, x: Tensor<2>) -> Tensor<1> {
        let diff = x - self.mean.clone();
        let [n, _] = diff.dims();
        (diff.powi_scalar(2) * self.inv_var.clone())
            .sum_dim(1)
            .reshape([n])
            * 0.5
    }

    fn name(&self) -> String {
        format!("DiagGaussian (d = {})", self.dim())
    }

    fn check_input(&self, dims: [usize; 2]) -> Result<(), EnergyError> {
        check_dim(&self.name(), self.dim(), dims)
    }

    fn log_z(&self) -> Option<f64> {
        Some(
            self.var_host
                .iter()
                .map(|v| HALF_LN_2PI + 0.5 * v.ln())
                .sum(),
        )
    }

    /// `dE/dx_j = (x_j - m_j) / v_j`.
    fn energy_and_grad(&self, x: Tensor<2>) -> (Tensor<1>, Tensor<2>) {
        let diff = x.inner() - self.mean.clone();
        let grad = diff.clone() * self.inv_var.clone();
        let [n, _] = diff.dims();
        ((grad.clone() * diff).sum_dim(1).reshape([n]) * 0.5, grad)
    }

    fn host(&self) -> Option<&dyn HostEnergy<2>> {
        Some(self)
    }
}
