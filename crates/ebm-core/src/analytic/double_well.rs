//! The double well: two modes along the first axis.

use burn::tensor::{Device, Tensor, TensorData, s};

use super::special::{ln_bessel_i, log_sum_exp};
use super::{HALF_LN_2PI, check_dim};
use crate::energy::Energy;
use crate::error::EnergyError;

/// `E(x) = a (x_1^2 - 1)^2 + 1/2 sum_{j>1} x_j^2`, wells at `x_1 = +-1` separated by a barrier
/// of height `a`.
///
/// Its normaliser is closed form through modified Bessel functions:
///
/// ```text
/// \int exp(-a (t^2 - 1)^2) dt = (pi / 2) e^{-a/2} [I_{-1/4}(a/2) + I_{1/4}(a/2)]
/// log Z = log of that + (d - 1)/2 log(2 pi)
/// ```
#[derive(Debug, Clone)]
pub struct DoubleWell {
    d: usize,
    a: f64,
    /// One-hot on axis 0, `[1, d]`.
    e1: Tensor<2>,
}

impl DoubleWell {
    /// The double well in `d >= 1` dimensions with barrier height `a > 0`.
    pub fn new(d: usize, a: f64, device: &Device) -> Result<Self, EnergyError> {
        if d < 1 || !(a > 0.0 && a.is_finite()) {
            return Err(EnergyError::InvalidParameter {
                energy: "DoubleWell".into(),
                parameter: if d < 1 { "d" } else { "a" }.into(),
                reason: format!("need d >= 1 and a finite a > 0, got d = {d}, a = {a}"),
            });
        }
        let mut v = vec![0.0f32; d];
        v[0] = 1.0;
        Ok(Self {
            d,
            a,
            e1: Tensor::from_data(TensorData::new(v, [1, d]), device),
        })
    }

    /// The dimension `d`.
    pub fn dim(&self) -> usize {
        self.d
    }

    /// The barrier height `a`.
    pub fn barrier(&self) -> f64 {
        self.a
    }

    /// `x` with the first coordinate zeroed (the Gaussian part), and `x_1^2 - 1`.
    fn parts(&self, x: Tensor<2>) -> (Tensor<2>, Tensor<2>, Tensor<2>) {
        let x1 = x.clone().slice(s![.., 0..1]);
        let rest = x - x1.clone() * self.e1.clone();
        let w = x1.clone().powi_scalar(2) - 1.0;
        (rest, x1, w)
    }
}

impl Energy<2> for DoubleWell {
    fn energy(&self, x: Tensor<2>) -> Tensor<1> {
        let [n, _] = x.dims();
        let (rest, _, w) = self.parts(x);
        (w.powi_scalar(2) * self.a + rest.powi_scalar(2).sum_dim(1) * 0.5).reshape([n])
    }

    fn name(&self) -> String {
        format!("DoubleWell (d = {}, a = {})", self.d, self.a)
    }

    fn check_input(&self, dims: [usize; 2]) -> Result<(), EnergyError> {
        check_dim(&self.name(), self.d, dims)
    }

    fn log_z(&self) -> Option<f64> {
        let z = self.a / 2.0;
        let bessel = log_sum_exp(&[ln_bessel_i(-0.25, z), ln_bessel_i(0.25, z)]);
        let one_d = (std::f64::consts::PI / 2.0).ln() - z + bessel;
        Some(one_d + (self.d - 1) as f64 * HALF_LN_2PI)
    }

    /// `dE/dx_1 = 4 a x_1 (x_1^2 - 1)`, `dE/dx_j = x_j`.
    fn energy_and_grad(&self, x: Tensor<2>) -> (Tensor<1>, Tensor<2>) {
        let [n, _] = x.dims();
        let (rest, x1, w) = self.parts(x.inner());
        let e = (w.clone().powi_scalar(2) * self.a + rest.clone().powi_scalar(2).sum_dim(1) * 0.5)
            .reshape([n]);
        let grad = rest + self.e1.clone() * (x1 * w * (4.0 * self.a));
        (e, grad)
    }
}
