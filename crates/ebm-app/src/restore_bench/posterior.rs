//! The conditional energy of a restoration: the model's energy with the known pixels clamped,
//! plus the noise likelihood, as an [`Energy`] over the free pixels that MALA can sample exactly.
//!
//! With the corrupted image `y`, the known-pixel mask `m` (1 known) and the chain's position `x`,
//! the image is `z = m y + (1 - m) x`, and the energy, at annealing inverse temperature `beta`,
//!
//! ```text
//! U(x) = beta [ E(clamp(z)) / T + w sum_i relu(|z_i| - 1)^2 + sum_i (1 - m_i) (x_i - y_i)^2 / (2 s^2) ]
//! dU/dx = beta (1 - m) [ 1{|z| <= 1} dE/dz(clamp(z)) / T + 2 w relu(|z| - 1) sign(z) + (x - y) / s^2 ]
//! ```
//!
//! `T` is the temperature of the model's prior (the energy's scale is arbitrary: the model was
//! trained with a sampler whose noise corresponds to a tiny temperature). The model sees the
//! image clamped to its range `[-1, 1]`; outside it a quadratic wall `w` (not scaled by `T`, so
//! that it does not set MALA's step size: MNIST's background sits on the boundary) keeps the
//! chains near the range, and every estimate is clamped. The likelihood term is present only for
//! the noise cases (`s` = the noise's standard deviation). The gradient with respect to a known pixel
//! is exactly 0, so MALA's proposal there is pure noise that never enters `z`, and its
//! Metropolis-Hastings correction (`|z|^2` terms) cancels on those coordinates: the chain samples
//! `exp(-U)` over the free pixels.

use burn::tensor::Tensor;
use ebm_core::Energy;

/// The restoration posterior of a batch (`[B, c, h, w]`, one chain per row).
pub struct Posterior<'a> {
    /// The model's energy `E`.
    pub prior: &'a dyn Energy<4>,
    /// The corrupted images `y`.
    pub observed: Tensor<4>,
    /// `m`: 1 on the known pixels.
    pub known: Tensor<4>,
    /// `1 / (2 s^2)` on the free pixels, if there is a likelihood.
    pub half_precision: Option<f64>,
    /// The prior's temperature `T`.
    pub temperature: f64,
    /// The wall's stiffness `w`.
    pub wall: f64,
    /// The annealing inverse temperature `beta` (1 = the posterior itself).
    pub beta: f64,
}

impl Posterior<'_> {
    /// The image `z = m y + (1 - m) x` of positions `x`.
    pub fn compose(&self, x: Tensor<4>) -> Tensor<4> {
        let free = self.known.clone().neg() + 1.0;
        self.known.clone() * self.observed.clone() + free * x
    }

    /// `sum` over every axis but the first.
    fn per_image(x: Tensor<4>) -> Tensor<1> {
        let [n, c, h, w] = x.dims();
        x.reshape([n, c * h * w]).sum_dim(1).reshape([n])
    }

    /// The energy terms other than `E(z) / T`, with their gradient with respect to `x` before
    /// the `(1 - m)` and `beta` factors.
    fn extra_terms(&self, x: &Tensor<4>, z: &Tensor<4>) -> (Tensor<1>, Tensor<4>) {
        let over = z.clone().abs().sub_scalar(1.0).clamp_min(0.0);
        let wall_scale = self.wall;
        let mut e = Self::per_image(over.clone().powi_scalar(2)).mul_scalar(wall_scale);
        let mut g = (over * z.clone().sign()).mul_scalar(2.0 * wall_scale);
        if let Some(hp) = self.half_precision {
            let free = self.known.clone().neg() + 1.0;
            let r = (x.clone() - self.observed.clone()) * free;
            e = e + Self::per_image(r.clone().powi_scalar(2)).mul_scalar(hp);
            g = g + r.mul_scalar(2.0 * hp);
        }
        (e, g)
    }
}

impl Energy<4> for Posterior<'_> {
    fn energy(&self, x: Tensor<4>) -> Tensor<1> {
        let z = self.compose(x.clone());
        let prior = self
            .prior
            .energy(z.clone().clamp(-1.0, 1.0))
            .div_scalar(self.temperature);
        let (extra, _) = self.extra_terms(&x, &z);
        (prior + extra).mul_scalar(self.beta)
    }

    fn name(&self) -> String {
        format!("restoration posterior of {}", self.prior.name())
    }

    fn energy_and_grad(&self, x: Tensor<4>) -> (Tensor<1>, Tensor<4>) {
        let z = self.compose(x.clone());
        let (e, g) = self.prior.energy_and_grad(z.clone().clamp(-1.0, 1.0));
        let inside = z.clone().abs().lower_equal_elem(1.0).float();
        let (extra, g_extra) = self.extra_terms(&x, &z);
        let free = self.known.clone().neg() + 1.0;
        let grad = (g.div_scalar(self.temperature) * inside + g_extra) * free;
        (
            (e.div_scalar(self.temperature) + extra).mul_scalar(self.beta),
            grad.mul_scalar(self.beta),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, TensorData};
    use ebm_core::energy::autodiff_energy_and_grad;

    use super::super::test_energy::Quadratic;

    fn t(v: Vec<f32>, device: &Device) -> Tensor<4> {
        Tensor::from_data(TensorData::new(v, [2, 1, 1, 3]), device)
    }

    #[test]
    fn gradient_matches_autodiff_and_vanishes_on_known_pixels() {
        let device = Device::default();
        let prior = Quadratic;
        let post = Posterior {
            prior: &prior,
            observed: t(vec![0.5, -0.2, 0.9, 0.1, 0.3, -0.4], &device),
            known: t(vec![1.0, 0.0, 0.0, 0.0, 1.0, 0.0], &device),
            half_precision: Some(1.0 / (2.0 * 0.3 * 0.3)),
            temperature: 0.5,
            wall: 3.0,
            beta: 0.7,
        };
        let x = t(vec![2.0, 1.4, -0.3, -1.6, 0.0, 0.2], &device);
        let (e, g) = post.energy_and_grad(x.clone());
        let (e_ad, g_ad) = autodiff_energy_and_grad(&post, x);
        let (e, e_ad) = (
            e.try_to_vec_as::<f32>().unwrap(),
            e_ad.try_to_vec_as::<f32>().unwrap(),
        );
        let (g, g_ad) = (
            g.try_to_vec_as::<f32>().unwrap(),
            g_ad.try_to_vec_as::<f32>().unwrap(),
        );
        for (a, b) in e.iter().zip(&e_ad).chain(g.iter().zip(&g_ad)) {
            assert!((a - b).abs() < 1e-4 * (1.0 + b.abs()), "{a} vs {b}");
        }
        assert_eq!((g[0], g[4]), (0.0, 0.0));
        // By hand, pixel 1 of image 0: z = 1.4 is outside [-1, 1], so the model's gradient is
        // cut: beta (2 w 0.4 + (1.4 + 0.2) / s^2).
        let want = 0.7 * (2.0 * 3.0 * 0.4 + 1.6 / 0.09);
        // Pixel 2 of image 0, inside: beta (z / T + (z - y) / s^2) with z = -0.3, y = 0.9.
        let inside = 0.7 * (-0.3 / 0.5 - 1.2 / 0.09);
        assert!(
            (f64::from(g[2]) - inside).abs() < 1e-3,
            "{} vs {inside}",
            g[2]
        );
        assert!((f64::from(g[1]) - want).abs() < 1e-3, "{} vs {want}", g[1]);
    }
}
