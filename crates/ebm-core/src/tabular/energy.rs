//! [`TabularEnergy`]: the energy of a table row, a product of two experts on robustly
//! standardised columns.

use burn::tensor::{Tensor, TensorData};
use rayon::prelude::*;

use super::marginal_kde::MarginalKde;
use super::robust_scale::RobustScaler;
use crate::energy::Energy;
use crate::error::EnergyError;
use crate::module_energy::check_event_dims;
use crate::neural::{HostMlp, MlpEnergy};

/// `E(x) = M(z) + w f(z)`, `z = (x - median) / scale` ([`RobustScaler`]): the marginal expert
/// `M(z) = -sum_j log p_j(z_j)` ([`MarginalKde`], columns as if independent) plus `w` times the
/// dependency expert `f`, an [`MlpEnergy`] that corrects `M` for how columns go together.
///
/// With `w = 1` and `f` trained by noise-contrastive estimation against draws from the
/// marginals (`ebm_train::NceTrainer`), `exp(-E)` estimates the data density itself:
/// `-f = log p_data - log prod_j p_j`. A weight `w < 1` tempers the dependency expert (a
/// product of experts `prod_j p_j * (p_data / prod_j p_j)^w`), which detects anomalies better on
/// contaminated training data (see the anomaly benchmark in BENCHMARKS.md).
#[derive(Debug, Clone)]
pub struct TabularEnergy {
    /// The standardisation of the raw columns.
    pub scaler: RobustScaler,
    /// The marginal expert, on standardised columns.
    pub marginal: MarginalKde,
    /// The dependency expert, on standardised columns.
    pub net: MlpEnergy,
    /// The weight `w` of the dependency expert.
    pub weight: f64,
    /// The network's parameters on the host, for [`TabularEnergy::score_rows`].
    host: HostMlp,
}

impl TabularEnergy {
    /// The energy of these parts; fails if the network does not take `scaler.cols()` inputs
    /// or its parameters cannot be read.
    pub fn new(
        scaler: RobustScaler,
        marginal: MarginalKde,
        net: MlpEnergy,
        weight: f64,
    ) -> Result<Self, EnergyError> {
        if net.d_input() != scaler.cols() || marginal.cols() != scaler.cols() {
            return Err(EnergyError::InvalidParameter {
                energy: "tabular energy".into(),
                parameter: "net / marginal".into(),
                reason: format!(
                    "the scaler has {} columns, the marginal expert {}, the network {} inputs",
                    scaler.cols(),
                    marginal.cols(),
                    net.d_input()
                ),
            });
        }
        Ok(Self {
            host: HostMlp::from_model(&net)?,
            scaler,
            marginal,
            net,
            weight,
        })
    }

    /// The number of columns.
    pub fn cols(&self) -> usize {
        self.scaler.cols()
    }

    /// The energies of `values.len() / cols` raw rows (row-major), on the host: the network by
    /// [`HostMlp`], the marginal expert row by row, both spread over threads.
    pub fn score_rows(&self, values: &[f64]) -> Result<Vec<f64>, EnergyError> {
        let cols = self.cols();
        if !values.len().is_multiple_of(cols) {
            return Err(EnergyError::Shape {
                energy: self.name(),
                expected: format!("whole rows of {cols} values"),
                got: vec![values.len()],
            });
        }
        let z = self.scaler.transform(values);
        let z32: Vec<f32> = z.iter().map(|&v| v as f32).collect();
        let net = self.host.forward(&z32);
        Ok(z.par_chunks(cols)
            .zip(net.par_iter())
            .map(|(row, &f)| self.marginal.energy(row) + self.weight * f64::from(f))
            .collect())
    }

    /// The marginal expert's energies and input gradients at standardised rows `z` (row-major):
    /// `dM/dx_j = dM/dz_j / scale_j`, by the slope of each column's interpolated log density.
    fn marginal_parts(&self, z: &[f64]) -> (Vec<f32>, Vec<f32>) {
        let cols = self.cols();
        let energies = z
            .chunks(cols)
            .map(|row| self.marginal.energy(row) as f32)
            .collect();
        let grads = z
            .iter()
            .enumerate()
            .map(|(k, &v)| {
                let j = k % cols;
                (self.marginal.column_slope(j, v) / self.scaler.scale[j]) as f32
            })
            .collect();
        (energies, grads)
    }
}

impl Energy<2> for TabularEnergy {
    fn energy(&self, x: Tensor<2>) -> Tensor<1> {
        let device = x.device();
        let values = host_rows(x);
        let e: Vec<f32> = match self.score_rows(&values) {
            Ok(e) => e.into_iter().map(|v| v as f32).collect(),
            Err(_) => vec![f32::NAN; values.len() / self.cols().max(1)],
        };
        let n = e.len();
        Tensor::from_data(TensorData::new(e, [n]), &device)
    }

    fn name(&self) -> String {
        format!("tabular energy (d = {})", self.cols())
    }

    fn check_input(&self, dims: [usize; 2]) -> Result<(), EnergyError> {
        check_event_dims(&self.name(), Some(&[self.cols()]), &dims)
    }

    /// One read of the batch to the host: the marginal expert there, the network by autodiff on
    /// the standardised batch, `dE/dx = dM/dx + w df/dz / scale`.
    fn energy_and_grad(&self, x: Tensor<2>) -> (Tensor<1>, Tensor<2>) {
        let dims = x.dims();
        let device = x.device();
        let z = self.scaler.transform(&host_rows(x));
        let z32: Vec<f32> = z.iter().map(|&v| v as f32).collect();
        let (net_e, net_grad) = self
            .net
            .energy_and_grad(Tensor::from_data(TensorData::new(z32, dims), &device));
        let (m_e, m_grad) = self.marginal_parts(&z);
        let w_over_scale: Vec<f32> = self
            .scaler
            .scale
            .iter()
            .map(|&s| (self.weight / s) as f32)
            .collect();
        let w_over_scale =
            Tensor::<1>::from_floats(w_over_scale.as_slice(), &device).reshape([1, dims[1]]);
        let energy =
            Tensor::<1>::from_data(TensorData::new(m_e, [dims[0]]), &device) + net_e * self.weight;
        let grad = Tensor::<2>::from_data(TensorData::new(m_grad, dims), &device)
            + net_grad * w_over_scale;
        (energy, grad)
    }
}

/// A batch's values on the host as `f64` (NaN where the read fails, so the energy is NaN and
/// the callers' finiteness checks catch it).
fn host_rows(x: Tensor<2>) -> Vec<f64> {
    let n = x.dims().iter().product();
    x.into_data()
        .convert::<f64>()
        .try_into_vec::<f64>()
        .unwrap_or_else(|_| vec![f64::NAN; n])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::neural::MlpEnergyConfig;
    use burn::tensor::Device;

    fn energy() -> TabularEnergy {
        let device = Device::flex();
        let values: Vec<f64> = (0..300)
            .flat_map(|i| {
                let a = f64::from(i) / 100.0;
                [a, 10.0 + (a * 3.0).sin()]
            })
            .collect();
        let scaler = RobustScaler::fit(&values, 300, 2);
        let marginal = MarginalKde::fit(&scaler.transform(&values), 300, 2, 1.0, 512);
        let net = MlpEnergyConfig::new(2).init(&device, 1).unwrap();
        TabularEnergy::new(scaler, marginal, net, 0.3).unwrap()
    }

    #[test]
    fn tensor_energy_matches_host_scores() {
        let e = energy();
        let rows = [0.5, 10.2, 2.9, 9.5, -3.0, 14.0];
        let host = e.score_rows(&rows).unwrap();
        let x = Tensor::<2>::from_data(TensorData::new(rows.to_vec(), [3, 2]), &Device::flex());
        let t: Vec<f32> = e.energy(x).into_data().try_to_vec().unwrap();
        for (h, t) in host.iter().zip(t) {
            assert!(
                (h - f64::from(t)).abs() < 1e-3 * (1.0 + h.abs()),
                "{h} vs {t}"
            );
        }
        assert!(e.score_rows(&[1.0, 2.0, 3.0]).is_err(), "not whole rows");
    }

    /// The gradient against central differences of the energy (step 1e-3 on the raw scale,
    /// well inside one grid cell of the marginals, where they are linear).
    #[test]
    fn gradient_matches_finite_differences() {
        let e = energy();
        let row = [1.3, 10.4];
        let x = Tensor::<2>::from_data(TensorData::new(row.to_vec(), [1, 2]), &Device::flex());
        let (_, g) = e.energy_and_grad(x);
        let g: Vec<f32> = g.into_data().try_to_vec().unwrap();
        for j in 0..2 {
            let h = 1e-3;
            let (mut up, mut down) = (row, row);
            up[j] += h;
            down[j] -= h;
            let fd = (e.score_rows(&up).unwrap()[0] - e.score_rows(&down).unwrap()[0]) / (2.0 * h);
            assert!(
                (fd - f64::from(g[j])).abs() < 2e-2 * (1.0 + fd.abs()),
                "{j}: {fd} vs {}",
                g[j]
            );
        }
    }
}
