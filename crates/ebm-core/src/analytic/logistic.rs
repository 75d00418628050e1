//! Bayesian logistic regression: the posterior of the coefficients as an energy.

use burn::tensor::{Device, Tensor, TensorData};

use super::check_dim;
use super::logistic_host::Columns;
use crate::energy::Energy;
use crate::error::EnergyError;
use crate::host::HostEnergy;

/// The posterior of logistic-regression coefficients `theta = (b, w)` (intercept first) given
/// rows `x_i` and labels `y_i in {0, 1}`, under the prior `theta ~ N(0, s^2 I)`:
///
/// ```text
/// z_i  = b + w . x_i
/// E(theta) = sum_i [softplus(z_i) - y_i z_i] + |theta|^2 / (2 s^2)
/// dE/dtheta = sum_i (sigma(z_i) - y_i) (1, x_i) + theta / s^2
/// ```
///
/// (`softplus(z) = log(1 + e^z)`, computed as `max(z, 0) + log(1 + e^{-|z|})`). A batch of `N`
/// coefficient vectors `[N, d + 1]` costs two `[N, d + 1] x [d + 1, n]` products. `log Z` (the
/// evidence) has no closed form.
#[derive(Debug, Clone)]
pub struct LogisticRegression {
    /// `[n, d + 1]`: a column of ones, then the features.
    design: Tensor<2>,
    /// `[1, n]` labels.
    labels: Tensor<2>,
    prior_sd: f64,
    dim: usize,
    rows: usize,
    /// The design column by column on the host, for [`HostEnergy`].
    columns: Columns,
}

impl LogisticRegression {
    /// The posterior for `rows` rows of `features` (row-major `[rows, d]`), `labels` (0 or 1)
    /// and prior sd `prior_sd > 0`.
    pub fn new(
        features: &[f64],
        labels: &[f64],
        rows: usize,
        prior_sd: f64,
        device: &Device,
    ) -> Result<Self, EnergyError> {
        let bad = |parameter: &str, reason: String| EnergyError::InvalidParameter {
            energy: "LogisticRegression".into(),
            parameter: parameter.into(),
            reason,
        };
        if rows == 0 || !features.len().is_multiple_of(rows) || labels.len() != rows {
            return Err(bad(
                "data",
                format!(
                    "{} features and {} labels for {rows} rows",
                    features.len(),
                    labels.len()
                ),
            ));
        }
        if labels.iter().any(|y| *y != 0.0 && *y != 1.0) || features.iter().any(|v| !v.is_finite())
        {
            return Err(bad(
                "data",
                "labels must be 0 or 1 and features finite".into(),
            ));
        }
        if !(prior_sd.is_finite() && prior_sd > 0.0) {
            return Err(bad(
                "prior_sd",
                format!("must be finite and positive, got {prior_sd}"),
            ));
        }
        let d = features.len() / rows;
        let mut design = Vec::with_capacity(rows * (d + 1));
        for r in features.chunks(d.max(1)).take(rows) {
            design.push(1.0f32);
            design.extend(r.iter().map(|v| *v as f32));
        }
        let y: Vec<f32> = labels.iter().map(|v| *v as f32).collect();
        let columns = Columns::new(&design, &y);
        Ok(Self {
            design: Tensor::from_data(TensorData::new(design, [rows, d + 1]), device),
            labels: Tensor::from_data(TensorData::new(y, [1, rows]), device),
            prior_sd,
            dim: d + 1,
            rows,
            columns,
        })
    }

    /// The number of coefficients, `d + 1`.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// The prior's standard deviation `s`.
    pub fn prior_sd(&self) -> f64 {
        self.prior_sd
    }

    /// The design and labels on the host, column by column.
    pub(crate) fn columns(&self) -> &Columns {
        &self.columns
    }

    /// `z = theta X^T`, `[N, n]`.
    fn logits(&self, theta: Tensor<2>) -> Tensor<2> {
        theta.matmul(self.design.clone().transpose())
    }

    fn prior(&self, theta: Tensor<2>) -> Tensor<1> {
        let [n, _] = theta.dims();
        (theta.powi_scalar(2).sum_dim(1) / (2.0 * self.prior_sd * self.prior_sd)).reshape([n])
    }
}

/// `log(1 + e^z)`, stable.
fn softplus(z: Tensor<2>) -> Tensor<2> {
    z.clone().clamp_min(0.0) + z.abs().neg().exp().add_scalar(1.0).log()
}

impl Energy<2> for LogisticRegression {
    fn energy(&self, theta: Tensor<2>) -> Tensor<1> {
        let [n, _] = theta.dims();
        let z = self.logits(theta.clone());
        let nll = (softplus(z.clone()) - z * self.labels.clone())
            .sum_dim(1)
            .reshape([n]);
        nll + self.prior(theta)
    }

    fn name(&self) -> String {
        format!(
            "LogisticRegression (n = {}, d + 1 = {})",
            self.rows, self.dim
        )
    }

    fn check_input(&self, dims: [usize; 2]) -> Result<(), EnergyError> {
        check_dim(&self.name(), self.dim, dims)
    }

    fn energy_and_grad(&self, theta: Tensor<2>) -> (Tensor<1>, Tensor<2>) {
        let theta = theta.inner();
        let [n, _] = theta.dims();
        let z = self.logits(theta.clone());
        let nll = (softplus(z.clone()) - z.clone() * self.labels.clone())
            .sum_dim(1)
            .reshape([n]);
        let sigma = z.neg().exp().add_scalar(1.0).recip();
        let residual = sigma - self.labels.clone();
        let s2 = self.prior_sd * self.prior_sd;
        let grad = residual.matmul(self.design.clone()) + theta.clone() / s2;
        (nll + self.prior(theta), grad)
    }

    fn host(&self) -> Option<&dyn HostEnergy<2>> {
        Some(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::energy::autodiff_energy_and_grad;

    #[test]
    fn gradient_matches_autodiff() {
        let device = Device::flex();
        let x = [0.5, -1.0, 2.0, 0.3, -0.7, 1.1];
        let y = [1.0, 0.0, 1.0];
        let e = LogisticRegression::new(&x, &y, 3, 1.5, &device).unwrap();
        let theta = Tensor::<2>::from_data(
            TensorData::new(vec![0.1f32, 2.0, -1.0, -3.0, 0.5, 8.0], [2, 3]),
            &device,
        );
        let (e1, g1) = e.energy_and_grad(theta.clone());
        let (e2, g2) = autodiff_energy_and_grad(&e, theta);
        let de = (e1 - e2).abs().max().into_scalar::<f32>();
        let dg = (g1 - g2).abs().max().into_scalar::<f32>();
        assert!(de < 1e-4 && dg < 1e-4, "{de} {dg}");
        assert!(LogisticRegression::new(&x, &[1.0, 2.0, 0.0], 3, 1.0, &device).is_err());
    }
}
