//! Seeded parameter initialisation shared by the neural energies, public so that a model built
//! outside this crate (the tagger's network, a user's own) gets the same weights *and* the same
//! parameter ids from a seed, and so byte-identical checkpoints.

use burn::module::{Param, ParamId};
use burn::nn::{Initializer, Linear, LinearConfig};
use burn::tensor::{Device, Tensor};

use crate::rng::SeededRng;

/// PyTorch's default layer initialisation, drawn from a [`SeededRng`]: weights and bias uniform on
/// `[-1/sqrt(fan_in), 1/sqrt(fan_in)]`.
pub fn uniform_fan_in<const D: usize>(
    shape: [usize; D],
    fan_in: usize,
    rng: &mut SeededRng,
    device: &Device,
) -> Param<Tensor<D>> {
    let bound = 1.0 / (fan_in as f32).sqrt();
    let id = seeded_id(rng);
    with_id(
        Param::from_tensor(rng.uniform(shape, -bound, bound, device)),
        id,
    )
}

/// `param` with its id replaced (a tracked parameter, as `Param::from_tensor` makes it).
pub fn with_id<const D: usize>(mut param: Param<Tensor<D>>, id: ParamId) -> Param<Tensor<D>> {
    param.id = id;
    param
}

/// A parameter id derived from the stream's state without advancing it, so a seed gives the same
/// ids (and byte-identical checkpoints) every time while the drawn weights stay as they were.
pub fn seeded_id(rng: &SeededRng) -> ParamId {
    let mut probe = rng.clone();
    ParamId::from(probe.next_u64() ^ 0x5eed_1d5e_ed1d_5eed)
}

/// A `Linear` layer `d_input -> d_output` with seeded weights.
pub fn linear(d_input: usize, d_output: usize, rng: &mut SeededRng, device: &Device) -> Linear {
    let mut layer = LinearConfig::new(d_input, d_output)
        .with_initializer(Initializer::Zeros)
        .init(device);
    layer.weight = uniform_fan_in([d_input, d_output], d_input, rng, device);
    layer.bias = Some(uniform_fan_in([d_output], d_input, rng, device));
    layer
}
