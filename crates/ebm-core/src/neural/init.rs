//! Seeded parameter initialisation shared by the neural energies.

use burn::module::Param;
use burn::nn::{Initializer, Linear, LinearConfig};
use burn::tensor::{Device, Tensor};

use crate::rng::SeededRng;

/// PyTorch's default layer initialisation, drawn from a [`SeededRng`]: weights and bias uniform on
/// `[-1/sqrt(fan_in), 1/sqrt(fan_in)]`.
pub(crate) fn uniform_fan_in<const D: usize>(
    shape: [usize; D],
    fan_in: usize,
    rng: &mut SeededRng,
    device: &Device,
) -> Param<Tensor<D>> {
    let bound = 1.0 / (fan_in as f32).sqrt();
    Param::from_tensor(rng.uniform(shape, -bound, bound, device))
}

/// A `Linear` layer `d_input -> d_output` with seeded weights.
pub(crate) fn linear(
    d_input: usize,
    d_output: usize,
    rng: &mut SeededRng,
    device: &Device,
) -> Linear {
    let mut layer = LinearConfig::new(d_input, d_output)
        .with_initializer(Initializer::Zeros)
        .init(device);
    layer.weight = uniform_fan_in([d_input, d_output], d_input, rng, device);
    layer.bias = Some(uniform_fan_in([d_output], d_input, rng, device));
    layer
}
