//! Haario's banana: a twisted Gaussian.

use burn::tensor::{Device, Tensor, TensorData, s};

use super::{HALF_LN_2PI, check_dim};
use crate::energy::Energy;
use crate::error::EnergyError;
use crate::host::HostEnergy;
use crate::rng::SeededRng;

/// The twisted Gaussian of Haario, Saksman and Tamminen (1999): with
/// `u_2 = x_2 + b x_1^2 - 100 b` and `u_j = x_j` otherwise,
///
/// ```text
/// E(x) = x_1^2 / 200 + 1/2 u_2^2 + 1/2 sum_{j>2} x_j^2,   log Z = d/2 log(2 pi) + 1/2 log 100
/// ```
///
/// The twist `x -> u` has unit Jacobian, so `Z` is that of `N(0, diag(100, 1, ..., 1))`.
/// Exact draws: `x_1 ~ N(0, 100)`, `x_2 = z - b x_1^2 + 100 b`, the rest standard normal.
#[derive(Debug, Clone)]
pub struct Banana {
    d: usize,
    b: f64,
    /// `[1/100, 1, ..., 1]`
    inv_var: Tensor<2>,
    /// One-hot on axis 1 (the twisted coordinate), `[1, d]`.
    e2: Tensor<2>,
    /// One-hot on axis 0, `[1, d]`.
    e1: Tensor<2>,
}

impl Banana {
    /// The banana in `d >= 2` dimensions with curvature `b` (Haario uses 0.03 and 0.1).
    pub fn new(d: usize, b: f64, device: &Device) -> Result<Self, EnergyError> {
        if d < 2 || !b.is_finite() {
            return Err(EnergyError::InvalidParameter {
                energy: "Banana".into(),
                parameter: if d < 2 { "d" } else { "b" }.into(),
                reason: format!("need d >= 2 and a finite b, got d = {d}, b = {b}"),
            });
        }
        let one_hot = |i: usize| {
            let mut v = vec![0.0f32; d];
            v[i] = 1.0;
            Tensor::from_data(TensorData::new(v, [1, d]), device)
        };
        let mut inv = vec![1.0f32; d];
        inv[0] = 0.01;
        Ok(Self {
            d,
            b,
            inv_var: Tensor::from_data(TensorData::new(inv, [1, d]), device),
            e2: one_hot(1),
            e1: one_hot(0),
        })
    }

    /// The dimension `d`.
    pub fn dim(&self) -> usize {
        self.d
    }

    /// The curvature `b`.
    pub fn curvature(&self) -> f64 {
        self.b
    }

    /// The untwisted coordinates `u` and `x_1`, `[N, d]` and `[N, 1]`.
    fn untwist(&self, x: Tensor<2>) -> (Tensor<2>, Tensor<2>) {
        let x1 = x.clone().slice(s![.., 0..1]);
        let twist = (x1.clone().powi_scalar(2) - 100.0) * self.b;
        (x + twist * self.e2.clone(), x1)
    }

    /// `n` exact draws, `[n, d]`.
    pub fn sample(&self, n: usize, rng: &mut SeededRng) -> Tensor<2> {
        let (d, b) = (self.d, self.b);
        let mut out = rng.normal_vec(n * d);
        for p in out.chunks_mut(d) {
            let x1 = 10.0 * p[0] as f64;
            p[0] = x1 as f32;
            p[1] = (p[1] as f64 - b * x1 * x1 + 100.0 * b) as f32;
        }
        Tensor::from_data(TensorData::new(out, [n, d]), &self.e1.device())
    }
}

impl Energy<2> for Banana {
    fn energy(&self, x: Tensor<2>) -> Tensor<1> {
        let [n, _] = x.dims();
        let (u, _) = self.untwist(x);
        (u.powi_scalar(2) * self.inv_var.clone())
            .sum_dim(1)
            .reshape([n])
            * 0.5
    }

    fn name(&self) -> String {
        format!("Banana (d = {}, b = {})", self.d, self.b)
    }

    fn check_input(&self, dims: [usize; 2]) -> Result<(), EnergyError> {
        check_dim(&self.name(), self.d, dims)
    }

    fn log_z(&self) -> Option<f64> {
        Some(self.d as f64 * HALF_LN_2PI + 0.5 * 100f64.ln())
    }

    /// `dE/dx = g_u + e_1 (2 b x_1 g_u2)`, `g_u = u / v` (chain rule through the twist).
    fn energy_and_grad(&self, x: Tensor<2>) -> (Tensor<1>, Tensor<2>) {
        let [n, _] = x.dims();
        let (u, x1) = self.untwist(x.inner());
        let gu = u.clone() * self.inv_var.clone();
        let e = (gu.clone() * u).sum_dim(1).reshape([n]) * 0.5;
        let gu2 = gu.clone().slice(s![.., 1..2]);
        let grad = gu + self.e1.clone() * (gu2 * x1 * (2.0 * self.b));
        (e, grad)
    }

    fn host(&self) -> Option<&dyn HostEnergy<2>> {
        Some(self)
    }
}
