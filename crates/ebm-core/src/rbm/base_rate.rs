//! The base-rate RBM: independent visible units that match the data's pixel means.
//!
//! With `W = 0` the visibles are independent Bernoulli variables, `p_A(v) = prod_i p_i^{v_i}
//! (1 - p_i)^{1 - v_i}`, with `b_i = log(p_i / (1 - p_i))`. Its free energy (without hidden
//! units) and `log Z` are
//!
//! ```text
//! F_A(v) = -v^T b,      log Z_A = sum_i softplus(b_i) = -sum_i log(1 - p_i)
//! ```
//!
//! and it is sampled exactly. Salakhutdinov and Murray (2008) start AIS for an RBM here: it is
//! much closer to a trained RBM than the uniform distribution (`b = 0`), so fewer intermediate
//! distributions are needed.

use burn::tensor::{Device, Tensor, TensorData};

use super::model::softplus_f64;
use crate::energy::Energy;
use crate::error::EnergyError;
use crate::module_energy::check_event_dims;
use crate::rng::SeededRng;

/// `log(p / (1 - p))` of every mean, clamped to `[eps, 1 - eps]` first.
pub(crate) fn logits(means: &[f64], eps: f64) -> Vec<f64> {
    let eps = eps.clamp(1e-12, 0.5);
    means
        .iter()
        .map(|&p| {
            let p = if p.is_finite() {
                p.clamp(eps, 1.0 - eps)
            } else {
                0.5
            };
            (p / (1.0 - p)).ln()
        })
        .collect()
}

/// Independent Bernoulli visibles with biases `b` (an RBM with no weights): exact `log Z` and
/// exact samples.
#[derive(Debug, Clone)]
pub struct BaseRateRbm {
    bias_host: Vec<f64>,
    bias: Tensor<1>,
}

impl BaseRateRbm {
    /// The base-rate RBM of binary data `[N, n_v]` (row-major `f32` in `{0, 1}`):
    /// `p_i = (sum_n v_ni + smoothing) / (N + 2 smoothing)`, a smoothed mean that keeps every
    /// unit away from probability 0 or 1 (Salakhutdinov and Murray smooth the same way).
    pub fn from_data(
        data: &[f32],
        n_visible: usize,
        smoothing: f64,
        device: &Device,
    ) -> Result<Self, EnergyError> {
        if n_visible == 0 || data.is_empty() || !data.len().is_multiple_of(n_visible) {
            return Err(EnergyError::InvalidParameter {
                energy: "BaseRateRbm".into(),
                parameter: "data".into(),
                reason: format!(
                    "{} values are not a non-empty [N, {n_visible}] batch",
                    data.len()
                ),
            });
        }
        if !(smoothing.is_finite() && smoothing > 0.0) {
            return Err(EnergyError::InvalidParameter {
                energy: "BaseRateRbm".into(),
                parameter: "smoothing".into(),
                reason: format!("must be finite and > 0, got {smoothing}"),
            });
        }
        let n = (data.len() / n_visible) as f64;
        let mut sums = vec![0.0f64; n_visible];
        for row in data.chunks_exact(n_visible) {
            for (s, &x) in sums.iter_mut().zip(row) {
                *s += f64::from(x);
            }
        }
        let means: Vec<f64> = sums
            .iter()
            .map(|s| (s + smoothing) / (n + 2.0 * smoothing))
            .collect();
        Self::from_means(&means, device)
    }

    /// The base-rate RBM with marginals `p` (each in `(0, 1)`; clamped to `[1e-6, 1 - 1e-6]`).
    pub fn from_means(means: &[f64], device: &Device) -> Result<Self, EnergyError> {
        if means.is_empty() {
            return Err(EnergyError::InvalidParameter {
                energy: "BaseRateRbm".into(),
                parameter: "means".into(),
                reason: "no visible units".into(),
            });
        }
        Ok(Self::from_bias(logits(means, 1e-6), device))
    }

    /// The base-rate RBM with visible biases `b` directly.
    pub fn from_bias(bias: Vec<f64>, device: &Device) -> Self {
        let t: Vec<f32> = bias.iter().map(|&x| x as f32).collect();
        Self {
            bias: Tensor::from_data(TensorData::new(t, [bias.len()]), device),
            bias_host: bias,
        }
    }

    /// Visible units `n_v`.
    pub fn n_visible(&self) -> usize {
        self.bias_host.len()
    }

    /// The visible biases `b` on the host.
    pub fn bias(&self) -> &[f64] {
        &self.bias_host
    }

    /// The visible biases `b` as a `[n_v]` tensor.
    pub fn bias_tensor(&self) -> Tensor<1> {
        self.bias.clone()
    }

    /// `log Z_A = sum_i softplus(b_i)`.
    pub fn log_z(&self) -> f64 {
        self.bias_host.iter().map(|&b| softplus_f64(b)).sum()
    }

    /// `n` exact draws `v_i ~ Bernoulli(sigmoid(b_i))`, `[n, n_v]` in `{0, 1}`.
    pub fn sample(&self, n: usize, rng: &mut SeededRng) -> Tensor<2> {
        let device = self.bias.device();
        let p = burn::tensor::activation::sigmoid(self.bias.clone().unsqueeze::<2>());
        let u = rng.uniform([n, self.n_visible()], 0.0, 1.0, &device);
        u.lower(p.expand([n, self.n_visible()])).float()
    }
}

impl Energy<2> for BaseRateRbm {
    /// `F_A(v) = -v^T b`.
    fn energy(&self, x: Tensor<2>) -> Tensor<1> {
        let [n, _] = x.dims();
        -(x * self.bias.clone().unsqueeze::<2>())
            .sum_dim(1)
            .reshape([n])
    }

    fn name(&self) -> String {
        format!("base-rate RBM ({} visible)", self.n_visible())
    }

    fn check_input(&self, dims: [usize; 2]) -> Result<(), EnergyError> {
        check_event_dims(&self.name(), Some(&[self.n_visible()]), &dims)
    }

    fn log_z(&self) -> Option<f64> {
        Some(BaseRateRbm::log_z(self))
    }

    /// `dF_A/dv = -b`.
    fn energy_and_grad(&self, x: Tensor<2>) -> (Tensor<1>, Tensor<2>) {
        let x = x.inner();
        let dims = x.dims();
        let g = -self.bias.clone().unsqueeze::<2>().expand(dims);
        (self.energy(x), g)
    }
}
