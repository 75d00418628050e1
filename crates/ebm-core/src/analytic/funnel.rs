//! Neal's funnel.

use burn::tensor::{Device, Tensor, TensorData, s};

use super::{HALF_LN_2PI, check_dim};
use crate::energy::Energy;
use crate::error::EnergyError;
use crate::host::HostEnergy;
use crate::rng::SeededRng;

/// Neal's (2003) funnel in `d` dimensions: `v = x_0 ~ N(0, 3^2)`, `x_i | v ~ N(0, e^v)`:
///
/// ```text
/// E(x) = v^2 / 18 + 1/2 e^{-v} sum_{i>=1} x_i^2 + (d - 1) v / 2
/// log Z = 1/2 log(2 pi 9) + (d - 1)/2 log(2 pi)
/// ```
///
/// The `(d - 1) v / 2` term is the conditional normalisers' `log det`, so the joint is exactly
/// normalised up to the constants in `log Z`.
#[derive(Debug, Clone)]
pub struct Funnel {
    d: usize,
    device: Device,
}

impl Funnel {
    /// The funnel in `d >= 2` dimensions (`funnel:d=10` in the benchmarks).
    pub fn new(d: usize, device: &Device) -> Result<Self, EnergyError> {
        if d < 2 {
            return Err(EnergyError::InvalidParameter {
                energy: "Funnel".into(),
                parameter: "d".into(),
                reason: format!("need d >= 2, got {d}"),
            });
        }
        Ok(Self {
            d,
            device: device.clone(),
        })
    }

    /// The dimension `d`.
    pub fn dim(&self) -> usize {
        self.d
    }

    /// `n` exact draws, `[n, d]`.
    pub fn sample(&self, n: usize, rng: &mut SeededRng) -> Tensor<2> {
        let d = self.d;
        let mut out = rng.normal_vec(n * d);
        for p in out.chunks_mut(d) {
            let v = 3.0 * p[0];
            p[0] = v;
            let sd = (v / 2.0).exp();
            p[1..].iter_mut().for_each(|z| *z *= sd);
        }
        Tensor::from_data(TensorData::new(out, [n, d]), &self.device)
    }

    fn parts(&self, x: Tensor<2>) -> (Tensor<2>, Tensor<2>, Tensor<2>) {
        let v = x.clone().slice(s![.., 0..1]);
        let rest = x.slice(s![.., 1..]);
        let prec = v.clone().neg().exp();
        (v, rest, prec)
    }
}

impl Energy<2> for Funnel {
    fn energy(&self, x: Tensor<2>) -> Tensor<1> {
        let [n, _] = x.dims();
        let (v, rest, prec) = self.parts(x);
        let ss = rest.powi_scalar(2).sum_dim(1);
        let half_dm1 = 0.5 * (self.d - 1) as f64;
        (v.clone().powi_scalar(2) / 18.0 + prec * ss * 0.5 + v * half_dm1).reshape([n])
    }

    fn name(&self) -> String {
        format!("Funnel (d = {})", self.d)
    }

    fn check_input(&self, dims: [usize; 2]) -> Result<(), EnergyError> {
        check_dim(&self.name(), self.d, dims)
    }

    fn log_z(&self) -> Option<f64> {
        Some(HALF_LN_2PI + 0.5 * 9f64.ln() + (self.d - 1) as f64 * HALF_LN_2PI)
    }

    /// `dE/dv = v/9 - 1/2 e^{-v} sum x_i^2 + (d-1)/2`, `dE/dx_i = e^{-v} x_i`.
    fn energy_and_grad(&self, x: Tensor<2>) -> (Tensor<1>, Tensor<2>) {
        let [n, _] = x.dims();
        let (v, rest, prec) = self.parts(x.inner());
        let half_ss = rest.clone().powi_scalar(2).sum_dim(1) * prec.clone() * 0.5;
        let half_dm1 = 0.5 * (self.d - 1) as f64;
        let e =
            (v.clone().powi_scalar(2) / 18.0 + half_ss.clone() + v.clone() * half_dm1).reshape([n]);
        let gv = v / 9.0 - half_ss + half_dm1;
        let grad = Tensor::cat(vec![gv, rest * prec], 1);
        (e, grad)
    }

    fn host(&self) -> Option<&dyn HostEnergy<2>> {
        Some(self)
    }
}
