//! A quadratic energy with a known posterior, for the sampler and posterior tests.

use burn::tensor::Tensor;
use ebm_core::Energy;

/// `E(z) = sum z^2 / 2` over each image.
pub struct Quadratic;

impl Energy<4> for Quadratic {
    fn energy(&self, x: Tensor<4>) -> Tensor<1> {
        let [n, c, h, w] = x.dims();
        x.powi_scalar(2)
            .reshape([n, c * h * w])
            .sum_dim(1)
            .reshape([n])
            .mul_scalar(0.5)
    }
}
