//! The convolutional network of the UvA deep-learning tutorial on energy-based models, with a
//! head of `k` outputs: one output is the image energy ([`CnnEnergy`](super::CnnEnergy)), `k`
//! outputs are the logits of a conditional energy ([`ConditionalNet`](super::ConditionalNet)).

use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{Initializer, Linear, PaddingConfig2d};
use burn::tensor::Device;
use burn::tensor::Tensor;
use burn::tensor::activation::silu;

use crate::error::EnergyError;
use crate::module_energy::check_event_dims;
use crate::neural::init::{linear, uniform_fan_in};
use crate::rng::SeededRng;

/// Kernel, stride and padding of the four convolutions.
pub(crate) const LAYERS: [(usize, usize, usize); 4] = [(5, 2, 4), (3, 2, 1), (3, 2, 1), (3, 2, 1)];

/// Configuration of a [`CnnBackbone`], built with [`CnnBackboneConfig::init`].
///
/// ```text
/// Conv(C -> h/2, k5, s2, p4) -> Swish -> Conv(h/2 -> h, k3, s2, p1) -> Swish
/// -> Conv(h -> 2h, k3, s2, p1) -> Swish -> Conv(2h -> 2h, k3, s2, p1) -> Swish
/// -> Flatten -> Linear(-> 2h) -> Swish -> Linear(2h -> outputs)
/// ```
#[derive(Config, Debug)]
pub struct CnnBackboneConfig {
    /// Image channels (1 for grey, 3 for RGB).
    #[config(default = 1)]
    pub channels: usize,
    /// The width `h`: the convolutions have `h/2, h, 2h, 2h` filters, the hidden linear `2h`.
    #[config(default = 32)]
    pub hidden: usize,
    /// Height and width of the (square) input images.
    #[config(default = 28)]
    pub image_size: usize,
    /// Units of the last linear layer (1 for an energy, `K` for one output per class).
    #[config(default = 1)]
    pub outputs: usize,
}

impl CnnBackboneConfig {
    /// The filter counts of the four convolutions.
    fn widths(&self) -> [usize; 4] {
        let h = self.hidden;
        [h / 2, h, 2 * h, 2 * h]
    }

    /// The side of the last feature map: each layer maps `s -> (s + 2p - k) / stride + 1`.
    pub fn feature_side(&self) -> usize {
        LAYERS.iter().fold(self.image_size, |s, &(k, st, p)| {
            (s + 2 * p).saturating_sub(k) / st + 1
        })
    }

    /// Builds the network on `device` with parameters drawn from `seed` in order (each
    /// convolution's weight and bias, then the hidden and the output linear's; PyTorch's default
    /// uniform fan-in initialisation). Fails when `hidden < 2`, `channels == 0`,
    /// `image_size == 0` or `outputs == 0`.
    pub fn init(&self, device: &Device, seed: u64) -> Result<CnnBackbone, EnergyError> {
        if self.hidden < 2 || self.channels == 0 || self.image_size == 0 || self.outputs == 0 {
            return Err(EnergyError::InvalidParameter {
                energy: "CnnBackbone".into(),
                parameter: "hidden / channels / image_size / outputs".into(),
                reason: format!(
                    "need hidden >= 2, channels >= 1, image_size >= 1 and outputs >= 1, got {}, {}, {}, {}",
                    self.hidden, self.channels, self.image_size, self.outputs
                ),
            });
        }
        let rng = &mut SeededRng::new(seed);
        let mut c_in = self.channels;
        let mut convs = Vec::with_capacity(4);
        for (&(k, s, p), c_out) in LAYERS.iter().zip(self.widths()) {
            let mut conv = Conv2dConfig::new([c_in, c_out], [k, k])
                .with_stride([s, s])
                .with_padding(PaddingConfig2d::Explicit(p, p, p, p))
                .with_initializer(Initializer::Zeros)
                .init(device);
            let fan_in = c_in * k * k;
            conv.weight = uniform_fan_in([c_out, c_in, k, k], fan_in, rng, device);
            conv.bias = Some(uniform_fan_in([c_out], fan_in, rng, device));
            convs.push(conv);
            c_in = c_out;
        }
        let side = self.feature_side();
        let width = 2 * self.hidden;
        Ok(CnnBackbone {
            convs,
            hidden: linear(width * side * side, width, rng, device),
            output: linear(width, self.outputs, rng, device),
            channels: self.channels,
            image_size: self.image_size,
        })
    }
}

/// The CNN with Swish activations, `[N, C, H, W] -> [N, outputs]`.
#[derive(Module, Debug)]
pub struct CnnBackbone {
    /// The four convolutions, each followed by Swish.
    pub convs: Vec<Conv2d>,
    /// Flattened features to `2h`, followed by Swish.
    pub hidden: Linear,
    /// `2h` to the outputs.
    pub output: Linear,
    /// Image channels the network was built for.
    pub channels: usize,
    /// Image side the network was built for.
    pub image_size: usize,
}

impl CnnBackbone {
    /// The outputs, `[N, C, H, W] -> [N, outputs]`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        self.output.forward(self.features(x))
    }

    /// The features the last layer reads: the hidden layer's activations, `[N, C, H, W] ->
    /// [N, 2h]`. A classifier's features are what the Fréchet distance of samples is measured in.
    pub fn features(&self, x: Tensor<4>) -> Tensor<2> {
        let h = self.convs.iter().fold(x, |h, conv| silu(conv.forward(h)));
        let [n, c, hh, ww] = h.dims();
        silu(self.hidden.forward(h.reshape([n, c * hh * ww])))
    }

    /// The number of outputs (units of the last layer).
    pub fn outputs(&self) -> usize {
        self.output.weight.dims()[1]
    }

    /// Checks that a batch of shape `dims` is `[N, C, S, S]` for this network; the error names
    /// `energy`.
    pub fn check_input(&self, energy: &str, dims: [usize; 4]) -> Result<(), EnergyError> {
        let (c, s) = (self.channels, self.image_size);
        check_event_dims(energy, Some(&[c, s, s]), &dims)
    }
}
