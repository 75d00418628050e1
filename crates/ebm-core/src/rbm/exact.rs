//! Exact `log Z` of an RBM by enumeration.
//!
//! Summing one layer out in closed form leaves a sum over the other layer's `2^m` states. Over the
//! hidden layer (when `n_h <= n_v`):
//!
//! ```text
//! Z = sum_h exp(h^T c) prod_i (1 + exp(b_i + (W h)_i))
//! log Z = logsumexp_h [ h^T c + sum_i softplus(b_i + (W h)_i) ]
//! ```
//!
//! and over the visible layer (when `n_v < n_h`): `log Z = logsumexp_v [-F(v)]`. The per-state
//! terms are computed on the device in `f32` in chunks; the log-sum-exp over `2^m` terms is done
//! on the host in `f64`. `2^20` states of 784 visibles cost about 0.8 billion softplus
//! evaluations, seconds on a CPU.

use burn::tensor::activation::softplus;
use burn::tensor::{Tensor, TensorData};

use super::model::{Rbm, RbmParams};
use crate::analytic::special::log_sum_exp;
use crate::error::EnergyError;

/// The largest layer [`log_z_exact`] enumerates: `2^20` states.
pub const MAX_ENUMERATED_UNITS: usize = 20;

/// States evaluated per device batch (bounds memory to `CHUNK * max(n_v, n_h)` floats).
const CHUNK: usize = 8192;

/// The `count` binary states `start..start + count` of `m` units as a `[count, m]` tensor (state
/// `s` has unit `j` on when bit `j` of `s` is set).
fn states(start: usize, count: usize, m: usize, device: &burn::tensor::Device) -> Tensor<2> {
    let mut bits = Vec::with_capacity(count * m);
    for s in start..start + count {
        for j in 0..m {
            bits.push(((s >> j) & 1) as f32);
        }
    }
    Tensor::from_data(TensorData::new(bits, [count, m]), device)
}

/// Exact `log Z` by enumerating the smaller layer (ties: the hidden layer).
///
/// Fails with [`EnergyError::InvalidParameter`] when the smaller layer has more than
/// [`MAX_ENUMERATED_UNITS`] units (use AIS then).
pub fn log_z_exact(rbm: &Rbm) -> Result<f64, EnergyError> {
    let (nv, nh) = (rbm.n_visible(), rbm.n_hidden());
    let m = nv.min(nh);
    if m > MAX_ENUMERATED_UNITS {
        return Err(EnergyError::InvalidParameter {
            energy: "Rbm".into(),
            parameter: "units".into(),
            reason: format!(
                "exact log Z enumerates the smaller layer, which has {m} units here; at most {MAX_ENUMERATED_UNITS} are allowed (estimate log Z with AIS instead)"
            ),
        });
    }
    let total = 1usize << m;
    let mut terms = Vec::with_capacity(total);
    let w = rbm.weights.val().inner();
    let b = rbm.visible_bias.val().inner().unsqueeze::<2>();
    let c = rbm.hidden_bias.val().inner().unsqueeze::<2>();
    let device = w.device();
    let mut start = 0;
    while start < total {
        let count = CHUNK.min(total - start);
        let s = states(start, count, m, &device);
        let t = if nh <= nv {
            // h^T c + sum_i softplus(b_i + (W h)_i)
            let hc = (s.clone() * c.clone()).sum_dim(1).reshape([count]);
            let sp = softplus(s.matmul(w.clone().transpose()) + b.clone(), 1.0)
                .sum_dim(1)
                .reshape([count]);
            hc + sp
        } else {
            // -F(v) = v^T b + sum_j softplus(c_j + (v W)_j)
            let vb = (s.clone() * b.clone()).sum_dim(1).reshape([count]);
            let sp = softplus(s.matmul(w.clone()) + c.clone(), 1.0)
                .sum_dim(1)
                .reshape([count]);
            vb + sp
        };
        let values = t.into_data().try_to_vec::<f32>().map_err(|e| {
            EnergyError::Quadrature(format!("reading enumeration terms back: {e:?}"))
        })?;
        terms.extend(values.into_iter().map(f64::from));
        start += count;
    }
    if let Some(i) = terms.iter().position(|t| !t.is_finite()) {
        return Err(EnergyError::NonFinite {
            what: "RBM log Z enumeration".into(),
            index: i,
            value: terms[i],
        });
    }
    Ok(log_sum_exp(&terms))
}

/// `log Z = log sum_{v, h} exp(-E(v, h))` by brute force over both layers, in `f64` on the host:
/// the independent check of [`log_z_exact`] on tiny machines (`n_v + n_h <= 24`).
pub fn log_z_brute_force(params: &RbmParams) -> Result<f64, EnergyError> {
    let (nv, nh) = (params.n_visible, params.n_hidden);
    if nv + nh > 24 {
        return Err(EnergyError::InvalidParameter {
            energy: "Rbm".into(),
            parameter: "units".into(),
            reason: format!(
                "brute force enumerates 2^(n_v + n_h) states; n_v + n_h = {} > 24",
                nv + nh
            ),
        });
    }
    let bits = |s: usize, m: usize| -> Vec<f64> { (0..m).map(|j| ((s >> j) & 1) as f64).collect() };
    let mut terms = Vec::with_capacity(1 << (nv + nh));
    for sv in 0..1usize << nv {
        let v = bits(sv, nv);
        for sh in 0..1usize << nh {
            terms.push(-params.joint_energy(&v, &bits(sh, nh)));
        }
    }
    Ok(log_sum_exp(&terms))
}
