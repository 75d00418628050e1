//! The convolutional image energy of the UvA deep-learning tutorial on energy-based models.

use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{Initializer, Linear, PaddingConfig2d};
use burn::tensor::activation::silu;
use burn::tensor::{Device, Tensor};

use crate::energy::{Energy, autodiff_energy_and_grad};
use crate::error::EnergyError;
use crate::host::HostEnergy;
use crate::module_energy::check_event_dims;
use crate::neural::host::HostCnn;
use crate::neural::init::{linear, uniform_fan_in};
use crate::rng::SeededRng;

/// Configuration of a [`CnnEnergy`], built with [`CnnEnergyConfig::init`].
///
/// With the defaults (`hidden = 32`, one channel, 28x28 images) this is the tutorial's network:
///
/// ```text
/// Conv(C -> 16, k5, s2, p4) -> Swish -> Conv(16 -> 32, k3, s2, p1) -> Swish
/// -> Conv(32 -> 64, k3, s2, p1) -> Swish -> Conv(64 -> 64, k3, s2, p1) -> Swish
/// -> Flatten (64 * 2 * 2 = 256) -> Linear(256 -> 64) -> Swish -> Linear(64 -> 1)
/// ```
#[derive(Config, Debug)]
pub struct CnnEnergyConfig {
    /// Image channels (1 for grey, 3 for RGB).
    #[config(default = 1)]
    pub channels: usize,
    /// The width `h`: the convolutions have `h/2, h, 2h, 2h` filters, the hidden linear `2h`.
    #[config(default = 32)]
    pub hidden: usize,
    /// Height and width of the (square) input images.
    #[config(default = 28)]
    pub image_size: usize,
}

/// A CNN energy `E(x)` on images `[N, C, H, W]` with Swish activations.
#[derive(Module, Debug)]
pub struct CnnEnergy {
    /// The four convolutions, each followed by Swish.
    pub convs: Vec<Conv2d>,
    /// Flattened features to `2h`, followed by Swish.
    pub hidden: Linear,
    /// `2h` to the energy.
    pub output: Linear,
    /// Image channels the network was built for.
    pub channels: usize,
    /// Image side the network was built for.
    pub image_size: usize,
}

/// Kernel, stride and padding of the four convolutions.
pub(crate) const LAYERS: [(usize, usize, usize); 4] = [(5, 2, 4), (3, 2, 1), (3, 2, 1), (3, 2, 1)];

impl CnnEnergyConfig {
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

    /// Builds the network on `device` with parameters drawn from `seed` (PyTorch's default
    /// uniform fan-in initialisation). Fails when `hidden < 2`, `channels == 0` or
    /// `image_size == 0`.
    pub fn init(&self, device: &Device, seed: u64) -> Result<CnnEnergy, EnergyError> {
        if self.hidden < 2 || self.channels == 0 || self.image_size == 0 {
            return Err(EnergyError::InvalidParameter {
                energy: "CnnEnergy".into(),
                parameter: "hidden / channels / image_size".into(),
                reason: format!(
                    "need hidden >= 2, channels >= 1 and image_size >= 1, got {}, {}, {}",
                    self.hidden, self.channels, self.image_size
                ),
            });
        }
        let (convs, hidden, output) = self.init_layers(1, device, &mut SeededRng::new(seed));
        Ok(CnnEnergy {
            convs,
            hidden,
            output,
            channels: self.channels,
            image_size: self.image_size,
        })
    }

    /// The network's layers with `outputs` units in the last linear (1 for an energy, `K` for a
    /// network with one output per class), drawn from `rng` in order: each convolution's weight
    /// and bias, then the hidden and the output linear's. Does not check the configuration
    /// ([`Self::init`] does).
    pub fn init_layers(
        &self,
        outputs: usize,
        device: &Device,
        rng: &mut SeededRng,
    ) -> (Vec<Conv2d>, Linear, Linear) {
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
        let hidden = linear(width * side * side, width, rng, device);
        let output = linear(width, outputs, rng, device);
        (convs, hidden, output)
    }
}

impl CnnEnergy {
    /// The forward pass, `[N, C, H, W] -> [N]`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<1> {
        let h = self.convs.iter().fold(x, |h, conv| silu(conv.forward(h)));
        let [n, c, hh, ww] = h.dims();
        let h = silu(self.hidden.forward(h.reshape([n, c * hh * ww])));
        self.output.forward(h).reshape([n])
    }
}

impl Energy<4> for CnnEnergy {
    fn energy(&self, x: Tensor<4>) -> Tensor<1> {
        self.forward(x)
    }

    fn name(&self) -> String {
        "CNN energy".to_string()
    }

    fn check_input(&self, dims: [usize; 4]) -> Result<(), EnergyError> {
        let (c, s) = (self.channels, self.image_size);
        check_event_dims(&self.name(), Some(&[c, s, s]), &dims)
    }

    /// On the `flex` (CPU) device, the hand-derived path of [`HostCnn`]; elsewhere one autodiff
    /// backward pass with the parameters frozen. A batch the host path rejects (images of
    /// another shape, which [`Energy::check_input`] reports) also goes to autodiff, which is
    /// what [`Energy::energy`] does with it.
    fn energy_and_grad(&self, x: Tensor<4>) -> (Tensor<1>, Tensor<4>) {
        if x.device() == Device::flex()
            && let Ok(eg) =
                HostCnn::from_model(self).and_then(|host| host.energy_and_grad(x.clone()))
        {
            return eg;
        }
        autodiff_energy_and_grad(&self.valid(), x)
    }

    /// The CPU fast paths of [`HostCnn`] (see the [`HostEnergy`] implementation).
    fn host(&self) -> Option<&dyn HostEnergy<4>> {
        Some(self)
    }
}
