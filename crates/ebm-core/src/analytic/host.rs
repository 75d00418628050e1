//! The CPU fast paths of the analytic energies: [`HostEnergy`] for the diagonal Gaussian, the
//! banana, the funnel and Bayesian logistic regression.
//!
//! A sampler that works chain by chain (NUTS on the CPU builds one tree per chain) calls the
//! energy once per leapfrog step with a single row. Through tensors each call is a dozen small
//! operations, each with a fixed dispatch cost far above the arithmetic of a 2-d banana; here it
//! is one loop over the row. The formulas are the closed forms of each energy's
//! `energy_and_grad` (see their docs), evaluated in `f64` and returned as `f32`.

use super::{Banana, DiagGaussian, Funnel, LogisticRegression, check_dim};
use crate::energy::Energy;
use crate::error::EnergyError;
use crate::host::HostEnergy;

/// Energies and gradients of the rows of `x` (`[n, d]`), `f(row, grad_row)` returning the row's
/// energy and filling its gradient; checks the shape first.
fn by_row(
    name: &str,
    d: usize,
    x: &[f32],
    dims: [usize; 2],
    f: impl Fn(&[f32], &mut [f32]) -> f64,
) -> Result<(Vec<f32>, Vec<f32>), EnergyError> {
    check_dim(name, d, dims)?;
    if x.len() != dims[0] * dims[1] {
        return Err(EnergyError::Shape {
            energy: name.into(),
            expected: format!("{} values for {dims:?}", dims[0] * dims[1]),
            got: vec![x.len()],
        });
    }
    let mut grad = vec![0.0f32; x.len()];
    let energies = x
        .chunks_exact(d)
        .zip(grad.chunks_exact_mut(d))
        .map(|(row, g)| f(row, g) as f32)
        .collect();
    Ok((energies, grad))
}

impl HostEnergy<2> for DiagGaussian {
    fn energy_and_grad_host(
        &self,
        x: &[f32],
        dims: [usize; 2],
    ) -> Result<(Vec<f32>, Vec<f32>), EnergyError> {
        let (mean, var) = (self.mean(), self.var());
        by_row(&self.name(), self.dim(), x, dims, |row, g| {
            // Eight running sums, so that the loop runs in SIMD lanes instead of waiting on one
            // sum's additions.
            let mut sums = [0.0f64; 8];
            for (j, (x, g)) in row.iter().zip(g.iter_mut()).enumerate() {
                let diff = f64::from(*x) - mean[j];
                let gj = diff / var[j];
                *g = gj as f32;
                sums[j % 8] += gj * diff;
            }
            0.5 * sums.iter().sum::<f64>()
        })
    }
}

impl HostEnergy<2> for Banana {
    fn energy_and_grad_host(
        &self,
        x: &[f32],
        dims: [usize; 2],
    ) -> Result<(Vec<f32>, Vec<f32>), EnergyError> {
        let b = self.curvature();
        by_row(&self.name(), self.dim(), x, dims, |row, g| {
            let x1 = row[0] as f64;
            let u2 = row[1] as f64 + b * (x1 * x1 - 100.0);
            g[0] = (x1 / 100.0 + 2.0 * b * x1 * u2) as f32;
            g[1] = u2 as f32;
            let mut rest = 0.0;
            for j in 2..row.len() {
                g[j] = row[j];
                rest += row[j] as f64 * row[j] as f64;
            }
            0.5 * (x1 * x1 / 100.0 + u2 * u2 + rest)
        })
    }
}

impl HostEnergy<2> for Funnel {
    fn energy_and_grad_host(
        &self,
        x: &[f32],
        dims: [usize; 2],
    ) -> Result<(Vec<f32>, Vec<f32>), EnergyError> {
        let half_dm1 = 0.5 * (self.dim() - 1) as f64;
        by_row(&self.name(), self.dim(), x, dims, |row, g| {
            let v = row[0] as f64;
            let prec = (-v).exp();
            let mut ss = 0.0;
            for j in 1..row.len() {
                let xj = row[j] as f64;
                ss += xj * xj;
                g[j] = (prec * xj) as f32;
            }
            let half_ss = 0.5 * prec * ss;
            g[0] = (v / 9.0 - half_ss + half_dm1) as f32;
            v * v / 18.0 + half_ss + v * half_dm1
        })
    }
}

impl HostEnergy<2> for LogisticRegression {
    /// The likelihood vectorised over the data rows (`logistic_host.rs`), plus the prior.
    fn energy_and_grad_host(
        &self,
        x: &[f32],
        dims: [usize; 2],
    ) -> Result<(Vec<f32>, Vec<f32>), EnergyError> {
        let inv_s2 = 1.0 / (self.prior_sd() * self.prior_sd());
        by_row(&self.name(), self.dim(), x, dims, |theta, g| {
            let mut acc = vec![0.0f64; theta.len()];
            let nll = self.columns().nll_and_grad(theta, &mut acc);
            let mut prior = 0.0;
            for ((gj, a), &t) in g.iter_mut().zip(&acc).zip(theta) {
                let t = t as f64;
                *gj = (a + t * inv_s2) as f32;
                prior += t * t;
            }
            nll + 0.5 * prior * inv_s2
        })
    }
}

#[cfg(test)]
mod tests {
    use burn::tensor::{Device, Tensor, TensorData};

    use super::*;
    use crate::rng::SeededRng;

    /// The host path against the tensor path on `n` random rows (scaled by `scale`).
    fn agrees<E: Energy<2> + HostEnergy<2>>(energy: &E, d: usize, scale: f32) {
        let n = 7;
        let x: Vec<f32> = SeededRng::new(1)
            .normal_vec(n * d)
            .into_iter()
            .map(|v| v * scale)
            .collect();
        let t = Tensor::<2>::from_data(TensorData::new(x.clone(), [n, d]), &Device::flex());
        let (e, g) = energy.energy_and_grad(t);
        let (e, g): (Vec<f32>, Vec<f32>) = (
            e.to_data().try_to_vec::<f32>().unwrap(),
            g.to_data().try_to_vec::<f32>().unwrap(),
        );
        let (he, hg) = energy.energy_and_grad_host(&x, [n, d]).unwrap();
        let close = |a: &[f32], b: &[f32]| {
            a.iter()
                .zip(b)
                .all(|(a, b)| (a - b).abs() <= 1e-4 * (1.0 + a.abs().max(b.abs())))
        };
        assert!(
            close(&e, &he),
            "{}: energies {e:?} vs {he:?}",
            energy.name()
        );
        assert!(
            close(&g, &hg),
            "{}: gradients {g:?} vs {hg:?}",
            energy.name()
        );
        assert!(energy.energy_and_grad_host(&x, [n, d + 1]).is_err());
        assert!(energy.energy_and_grad_host(&x[1..], [n, d]).is_err());
    }

    #[test]
    fn host_paths_match_the_tensor_paths() {
        let device = Device::flex();
        agrees(
            &DiagGaussian::log_spaced(5, 0.1, 10.0, &device).unwrap(),
            5,
            2.0,
        );
        agrees(&Banana::new(3, 0.1, &device).unwrap(), 3, 5.0);
        agrees(&Funnel::new(4, &device).unwrap(), 4, 1.5);
        let features: Vec<f64> = SeededRng::new(2)
            .normal_vec(40 * 3)
            .into_iter()
            .map(f64::from)
            .collect();
        let labels: Vec<f64> = (0..40).map(|i| (i % 3 == 0) as u8 as f64).collect();
        let logreg = LogisticRegression::new(&features, &labels, 40, 2.5, &device).unwrap();
        agrees(&logreg, 4, 1.0);
        assert!(logreg.host().is_some() && Funnel::new(2, &device).unwrap().host().is_some());
    }
}
