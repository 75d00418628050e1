//! [`Rbm`]: parameters, free energy and conditionals of a Bernoulli-Bernoulli RBM.

use burn::module::{Module, Param};
use burn::tensor::activation::{sigmoid, softplus};
use burn::tensor::{Device, Tensor, TensorData};

use crate::energy::Energy;
use crate::error::EnergyError;
use crate::module_energy::check_event_dims;
use crate::neural::init::with_id;
use crate::rng::SeededRng;

/// A Bernoulli-Bernoulli RBM with `n_v` visible and `n_h` hidden units.
///
/// `E(v, h) = -v^T b - h^T c - v^T W h`; as an [`Energy`] on `[N, n_v]` batches it is the free
/// energy `F(v) = -v^T b - sum_j softplus(c_j + (v^T W)_j)`, so `p(v) = exp(-F(v)) / Z`. The free
/// energy is smooth in `v`, so it also takes (and differentiates at) non-binary inputs.
#[derive(Module, Debug)]
pub struct Rbm {
    /// `W`, shape `[n_v, n_h]`.
    pub weights: Param<Tensor<2>>,
    /// `b`, shape `[n_v]`.
    pub visible_bias: Param<Tensor<1>>,
    /// `c`, shape `[n_h]`.
    pub hidden_bias: Param<Tensor<1>>,
}

/// A host copy of an RBM's parameters in `f64` (`weights` row-major `[n_v, n_h]`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RbmParams {
    /// Visible units `n_v`.
    pub n_visible: usize,
    /// Hidden units `n_h`.
    pub n_hidden: usize,
    /// `W`, row-major `[n_v, n_h]`.
    pub weights: Vec<f64>,
    /// `b`, `n_v` values.
    pub visible_bias: Vec<f64>,
    /// `c`, `n_h` values.
    pub hidden_bias: Vec<f64>,
}

fn invalid(parameter: &str, reason: String) -> EnergyError {
    EnergyError::InvalidParameter {
        energy: "Rbm".into(),
        parameter: parameter.into(),
        reason,
    }
}

fn tensor1(values: &[f64], device: &Device) -> Tensor<1> {
    let v: Vec<f32> = values.iter().map(|&x| x as f32).collect();
    Tensor::from_data(TensorData::new(v, [values.len()]), device)
}

fn host(t: Tensor<1>) -> Vec<f64> {
    t.into_data()
        .try_to_vec::<f32>()
        .map(|v| v.into_iter().map(f64::from).collect())
        .unwrap_or_default()
}

impl Rbm {
    /// A fresh RBM: `W_ij ~ N(0, init_sd^2)` drawn from `seed`, zero biases (Hinton's practical
    /// guide uses `init_sd = 0.01`). Fails on zero units or a non-finite or negative `init_sd`.
    pub fn new(
        n_visible: usize,
        n_hidden: usize,
        init_sd: f64,
        seed: u64,
        device: &Device,
    ) -> Result<Self, EnergyError> {
        if n_visible == 0 || n_hidden == 0 {
            return Err(invalid(
                "units",
                format!("need >= 1 visible and hidden units, got {n_visible} and {n_hidden}"),
            ));
        }
        if !(init_sd.is_finite() && init_sd >= 0.0) {
            return Err(invalid(
                "init_sd",
                format!("must be finite and >= 0, got {init_sd}"),
            ));
        }
        let w = SeededRng::new(seed).normal([n_visible, n_hidden], device) * init_sd;
        Ok(Self {
            weights: with_param_id((seed, 0), w),
            visible_bias: with_param_id((seed, 1), Tensor::zeros([n_visible], device)),
            hidden_bias: with_param_id((seed, 2), Tensor::zeros([n_hidden], device)),
        })
    }

    /// An RBM from host parameters; fails if the lengths do not match the unit counts or a value
    /// is not finite.
    pub fn from_params(params: &RbmParams, device: &Device) -> Result<Self, EnergyError> {
        let (nv, nh) = (params.n_visible, params.n_hidden);
        if nv == 0 || nh == 0 {
            return Err(invalid(
                "units",
                format!("need >= 1 visible and hidden units, got {nv} and {nh}"),
            ));
        }
        for (name, values, len) in [
            ("weights", &params.weights, nv * nh),
            ("visible_bias", &params.visible_bias, nv),
            ("hidden_bias", &params.hidden_bias, nh),
        ] {
            if values.len() != len {
                return Err(invalid(
                    name,
                    format!("expected {len} values, got {}", values.len()),
                ));
            }
            if let Some(i) = values.iter().position(|v| !v.is_finite()) {
                return Err(invalid(name, format!("entry {i} is not finite")));
            }
        }
        let w: Vec<f32> = params.weights.iter().map(|&x| x as f32).collect();
        Ok(Self {
            weights: with_param_id(
                (0, 0),
                Tensor::from_data(TensorData::new(w, [nv, nh]), device),
            ),
            visible_bias: with_param_id((0, 1), tensor1(&params.visible_bias, device)),
            hidden_bias: with_param_id((0, 2), tensor1(&params.hidden_bias, device)),
        })
    }

    /// Replaces the visible bias by `b_i = log(p_i / (1 - p_i))` of the data's pixel means `p`
    /// (clamped to `[eps, 1 - eps]`), the usual start of training (Hinton's practical guide).
    pub fn with_visible_bias_from_means(
        mut self,
        means: &[f64],
        eps: f64,
    ) -> Result<Self, EnergyError> {
        if means.len() != self.n_visible() {
            return Err(invalid(
                "visible_bias",
                format!(
                    "{} means for {} visible units",
                    means.len(),
                    self.n_visible()
                ),
            ));
        }
        let b = crate::rbm::base_rate::logits(means, eps);
        let device = self.weights.val().device();
        self.visible_bias = with_id(
            Param::from_tensor(tensor1(&b, &device)),
            self.visible_bias.id,
        );
        Ok(self)
    }

    /// Visible units `n_v`.
    pub fn n_visible(&self) -> usize {
        self.weights.dims()[0]
    }

    /// Hidden units `n_h`.
    pub fn n_hidden(&self) -> usize {
        self.weights.dims()[1]
    }

    /// The device the parameters live on.
    pub fn device(&self) -> Device {
        self.weights.val().device()
    }

    /// The hidden pre-activations `c + v W`, `[N, n_h]`.
    pub fn hidden_input(&self, v: Tensor<2>) -> Tensor<2> {
        v.matmul(self.weights.val()) + self.hidden_bias.val().unsqueeze::<2>()
    }

    /// `p(h = 1 | v) = sigmoid(c + v W)`, `[N, n_h]`.
    pub fn hidden_probs(&self, v: Tensor<2>) -> Tensor<2> {
        sigmoid(self.hidden_input(v))
    }

    /// The visible pre-activations `b + h W^T`, `[N, n_v]`.
    pub fn visible_input(&self, h: Tensor<2>) -> Tensor<2> {
        h.matmul(self.weights.val().transpose()) + self.visible_bias.val().unsqueeze::<2>()
    }

    /// `p(v = 1 | h) = sigmoid(b + h W^T)`, `[N, n_v]`.
    pub fn visible_probs(&self, h: Tensor<2>) -> Tensor<2> {
        sigmoid(self.visible_input(h))
    }

    /// `F(v)` from `v` and its hidden pre-activations `a = c + v W` (computed once and shared with
    /// hidden sampling): `-v^T b - sum_j softplus(a_j)`, `[N]`.
    pub fn free_energy_from_input(&self, v: Tensor<2>, hidden_input: Tensor<2>) -> Tensor<1> {
        let [n, _] = v.dims();
        let vb = v
            .matmul(self.visible_bias.val().unsqueeze_dim::<2>(1))
            .reshape([n]);
        let sp = softplus(hidden_input, 1.0).sum_dim(1).reshape([n]);
        -(vb + sp)
    }

    /// The free energy `F(v) = -v^T b - sum_j softplus(c_j + (v W)_j)`, `[N]`.
    pub fn free_energy(&self, v: Tensor<2>) -> Tensor<1> {
        let a = self.hidden_input(v.clone());
        self.free_energy_from_input(v, a)
    }

    /// A host copy of the parameters in `f64`.
    pub fn params(&self) -> RbmParams {
        let (nv, nh) = (self.n_visible(), self.n_hidden());
        RbmParams {
            n_visible: nv,
            n_hidden: nh,
            weights: host(self.weights.val().reshape([nv * nh])),
            visible_bias: host(self.visible_bias.val()),
            hidden_bias: host(self.hidden_bias.val()),
        }
    }
}

impl RbmParams {
    /// `F(v)` of one binary (or real) visible vector, in `f64` on the host.
    pub fn free_energy(&self, v: &[f64]) -> f64 {
        let (nv, nh) = (self.n_visible, self.n_hidden);
        let vb: f64 = (0..nv).map(|i| v[i] * self.visible_bias[i]).sum();
        let sp: f64 = (0..nh)
            .map(|j| {
                let a = self.hidden_bias[j]
                    + (0..nv)
                        .map(|i| v[i] * self.weights[i * nh + j])
                        .sum::<f64>();
                softplus_f64(a)
            })
            .sum();
        -vb - sp
    }

    /// The joint energy `E(v, h) = -v^T b - h^T c - v^T W h`, in `f64`.
    pub fn joint_energy(&self, v: &[f64], h: &[f64]) -> f64 {
        let nh = self.n_hidden;
        let vb: f64 = v.iter().zip(&self.visible_bias).map(|(x, b)| x * b).sum();
        let hc: f64 = h.iter().zip(&self.hidden_bias).map(|(x, c)| x * c).sum();
        let vwh: f64 = v
            .iter()
            .enumerate()
            .map(|(i, vi)| {
                let row = &self.weights[i * nh..(i + 1) * nh];
                vi * row.iter().zip(h).map(|(w, hj)| w * hj).sum::<f64>()
            })
            .sum();
        -vb - hc - vwh
    }
}

/// `log(1 + e^x)`, stable for any `x`.
pub(crate) fn softplus_f64(x: f64) -> f64 {
    if x > 0.0 {
        x + (-x).exp().ln_1p()
    } else {
        x.exp().ln_1p()
    }
}

impl Energy<2> for Rbm {
    fn energy(&self, x: Tensor<2>) -> Tensor<1> {
        self.free_energy(x)
    }

    fn name(&self) -> String {
        format!(
            "RBM ({} visible, {} hidden)",
            self.n_visible(),
            self.n_hidden()
        )
    }

    fn check_input(&self, dims: [usize; 2]) -> Result<(), EnergyError> {
        check_event_dims(&self.name(), Some(&[self.n_visible()]), &dims)
    }

    /// `dF/dv = -b - sigmoid(c + v W) W^T`, in closed form with the parameters frozen.
    fn energy_and_grad(&self, x: Tensor<2>) -> (Tensor<1>, Tensor<2>) {
        let frozen = self.valid();
        let x = x.inner();
        let a = frozen.hidden_input(x.clone());
        let grad = -(sigmoid(a.clone()).matmul(frozen.weights.val().transpose())
            + frozen.visible_bias.val().unsqueeze::<2>());
        (frozen.free_energy_from_input(x, a), grad)
    }
}

/// The id of parameter `k` of an RBM initialised from `seed`: the same every time, so a seed
/// gives byte-identical checkpoints.
fn param_id(seed: u64, k: u64) -> burn::module::ParamId {
    burn::module::ParamId::from(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ (0x5eed_0000 + k))
}

/// A tracked parameter holding `tensor`, with the id of [`param_id`]`(seed, k)`.
fn with_param_id<const D: usize>((seed, k): (u64, u64), tensor: Tensor<D>) -> Param<Tensor<D>> {
    with_id(Param::from_tensor(tensor), param_id(seed, k))
}
