//! The convolutional image energy of the UvA deep-learning tutorial on energy-based models.

use burn::config::Config;
use burn::module::Module;
use burn::tensor::{Device, Tensor};

use crate::energy::{Energy, autodiff_energy_and_grad};
use crate::error::EnergyError;
use crate::host::HostEnergy;
use crate::module_energy::check_event_dims;
use crate::neural::backbone::{CnnBackbone, CnnBackboneConfig};
use crate::neural::host::HostCnn;

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

/// A CNN energy `E(x)` on images `[N, C, H, W]` with Swish activations: the one-output case of
/// [`CnnBackbone`]. Its fields are the backbone's (through `Deref`), and its record is the
/// backbone's, path for path (`convs.0.weight`, ..., `output.bias`).
#[derive(Debug)]
pub struct CnnEnergy {
    /// The network, with one output.
    pub backbone: CnnBackbone,
}

impl CnnEnergyConfig {
    /// The backbone with one output.
    pub fn backbone(&self) -> CnnBackboneConfig {
        CnnBackboneConfig::new()
            .with_channels(self.channels)
            .with_hidden(self.hidden)
            .with_image_size(self.image_size)
            .with_outputs(1)
    }

    /// The side of the last feature map: each layer maps `s -> (s + 2p - k) / stride + 1`.
    pub fn feature_side(&self) -> usize {
        self.backbone().feature_side()
    }

    /// Builds the network on `device` with parameters drawn from `seed` (PyTorch's default
    /// uniform fan-in initialisation). Fails when `hidden < 2`, `channels == 0` or
    /// `image_size == 0`.
    pub fn init(&self, device: &Device, seed: u64) -> Result<CnnEnergy, EnergyError> {
        let backbone = self.backbone().init(device, seed).map_err(|e| match e {
            EnergyError::InvalidParameter {
                parameter, reason, ..
            } => EnergyError::InvalidParameter {
                energy: "CnnEnergy".into(),
                parameter,
                reason,
            },
            other => other,
        })?;
        Ok(CnnEnergy { backbone })
    }
}

impl CnnEnergy {
    /// The forward pass, `[N, C, H, W] -> [N]`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<1> {
        let n = x.dims()[0];
        self.backbone.forward(x).reshape([n])
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
