//! A mixture of diagonal Gaussians.

use burn::tensor::activation::softmax;
use burn::tensor::{Device, Tensor, TensorData};

use super::{HALF_LN_2PI, check_dim, check_values};
use crate::energy::Energy;
use crate::error::EnergyError;
use crate::rng::SeededRng;

/// `E(x) = -log sum_k w_k N(x; m_k, diag(v_k))`: a normalised density, so `log Z = 0`.
///
/// The gradient is `dE/dx = sum_k r_k(x) (x - m_k) / v_k` with responsibilities
/// `r_k(x) = w_k N(x; m_k, v_k) / sum_l w_l N(x; m_l, v_l)`.
#[derive(Debug, Clone)]
pub struct GaussianMixture {
    /// `[1, K, d]`
    means: Tensor<3>,
    /// `[1, K, d]`
    inv_var: Tensor<3>,
    /// `log w_k - sum_j 1/2 log(2 pi v_kj)`, `[1, K]`
    log_const: Tensor<2>,
    weights: Vec<f64>,
    means_host: Vec<Vec<f64>>,
    vars_host: Vec<Vec<f64>>,
}

impl GaussianMixture {
    /// A mixture with weights `weights` (positive, normalised here), component means `means`
    /// and per-component diagonal variances `vars` (one `d`-vector per component).
    pub fn new(
        weights: &[f64],
        means: &[Vec<f64>],
        vars: &[Vec<f64>],
        device: &Device,
    ) -> Result<Self, EnergyError> {
        let bad = |parameter: &str, reason: String| EnergyError::InvalidParameter {
            energy: "GaussianMixture".into(),
            parameter: parameter.into(),
            reason,
        };
        check_values("GaussianMixture", "weights", weights, true)?;
        let k = weights.len();
        if means.len() != k || vars.len() != k {
            return Err(bad(
                "means",
                format!(
                    "{k} weights but {} means and {} variance vectors",
                    means.len(),
                    vars.len()
                ),
            ));
        }
        let d = means[0].len();
        for (i, (m, v)) in means.iter().zip(vars).enumerate() {
            check_values("GaussianMixture", &format!("means[{i}]"), m, false)?;
            check_values("GaussianMixture", &format!("vars[{i}]"), v, true)?;
            if m.len() != d || v.len() != d {
                return Err(bad(
                    "means",
                    format!(
                        "component {i} has dimension {} / {}, expected {d}",
                        m.len(),
                        v.len()
                    ),
                ));
            }
        }
        let total: f64 = weights.iter().sum();
        let weights: Vec<f64> = weights.iter().map(|w| w / total).collect();
        let flat = |rows: &[Vec<f64>], f: fn(f64) -> f64| -> Tensor<3> {
            let v: Vec<f32> = rows.iter().flatten().map(|&x| f(x) as f32).collect();
            Tensor::from_data(TensorData::new(v, [1, k, d]), device)
        };
        let log_const: Vec<f32> = weights
            .iter()
            .zip(vars)
            .map(|(w, v)| {
                (w.ln() - v.iter().map(|x| HALF_LN_2PI + 0.5 * x.ln()).sum::<f64>()) as f32
            })
            .collect();
        Ok(Self {
            means: flat(means, |x| x),
            inv_var: flat(vars, |x| 1.0 / x),
            log_const: Tensor::from_data(TensorData::new(log_const, [1, k]), device),
            weights,
            means_host: means.to_vec(),
            vars_host: vars.to_vec(),
        })
    }

    /// The benchmark's two-mode mixture in `d` dimensions: equal weights, unit variances, means
    /// at `-offset` and `+offset` along the first axis.
    pub fn two_modes(d: usize, offset: f64, device: &Device) -> Result<Self, EnergyError> {
        let mut a = vec![0.0; d];
        let mut b = vec![0.0; d];
        a[0] = -offset;
        b[0] = offset;
        Self::new(&[0.5, 0.5], &[a, b], &[vec![1.0; d], vec![1.0; d]], device)
    }

    /// The dimension `d`.
    pub fn dim(&self) -> usize {
        self.means_host[0].len()
    }

    /// The normalised weights.
    pub fn weights(&self) -> &[f64] {
        &self.weights
    }

    /// The component means.
    pub fn means(&self) -> &[Vec<f64>] {
        &self.means_host
    }

    /// The component variances.
    pub fn vars(&self) -> &[Vec<f64>] {
        &self.vars_host
    }

    /// `n` exact draws, `[n, d]`: a component by its weight, then a Gaussian draw.
    pub fn sample(&self, n: usize, rng: &mut SeededRng) -> Tensor<2> {
        let d = self.dim();
        let mut out = Vec::with_capacity(n * d);
        for _ in 0..n {
            let u = rng.uniform_f64();
            let mut acc = 0.0;
            let k = self
                .weights
                .iter()
                .position(|w| {
                    acc += w;
                    u < acc
                })
                .unwrap_or(self.weights.len() - 1);
            for j in 0..d {
                let z = rng.normal_f64();
                out.push((self.means_host[k][j] + z * self.vars_host[k][j].sqrt()) as f32);
            }
        }
        Tensor::from_data(TensorData::new(out, [n, d]), &self.means.device())
    }

    /// Per-component log joint `log w_k + log N(x; m_k, v_k)`, `[N, K]`, and `(x - m_k) / v_k`.
    fn components(&self, x: Tensor<2>) -> (Tensor<2>, Tensor<3>) {
        let [n, d] = x.dims();
        let diff = x.reshape([n, 1, d]) - self.means.clone();
        let scaled = diff.clone() * self.inv_var.clone();
        let k = self.weights.len();
        let quad = (scaled.clone() * diff).sum_dim(2).reshape([n, k]);
        (self.log_const.clone() - quad * 0.5, scaled)
    }
}

/// `log sum_k exp(a_k)` along axis 1 of `[N, K]`, stable.
pub(crate) fn log_sum_exp_rows(a: Tensor<2>) -> Tensor<1> {
    let [n, _] = a.dims();
    let m = a.clone().max_dim(1);
    ((a - m.clone()).exp().sum_dim(1).log() + m).reshape([n])
}

impl Energy<2> for GaussianMixture {
    fn energy(&self, x: Tensor<2>) -> Tensor<1> {
        log_sum_exp_rows(self.components(x).0).neg()
    }

    fn name(&self) -> String {
        format!(
            "GaussianMixture (K = {}, d = {})",
            self.weights.len(),
            self.dim()
        )
    }

    fn check_input(&self, dims: [usize; 2]) -> Result<(), EnergyError> {
        check_dim(&self.name(), self.dim(), dims)
    }

    fn log_z(&self) -> Option<f64> {
        Some(0.0)
    }

    fn energy_and_grad(&self, x: Tensor<2>) -> (Tensor<1>, Tensor<2>) {
        let [n, d] = x.dims();
        let (log_joint, scaled) = self.components(x.inner());
        let k = self.weights.len();
        let r = softmax(log_joint.clone(), 1).reshape([n, k, 1]);
        let grad = (scaled * r).sum_dim(1).reshape([n, d]);
        (log_sum_exp_rows(log_joint).neg(), grad)
    }
}
