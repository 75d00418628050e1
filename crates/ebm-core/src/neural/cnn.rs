//! The convolutional image energy of the UvA deep-learning tutorial on energy-based models.

use burn::config::Config;
use burn::module::Module;
use burn::tensor::{Device, Tensor};

use burn::optim::GradientsParams;

use crate::energy::{Energy, ItemWeight, autodiff_energy_and_grad};
use crate::error::EnergyError;
use crate::module_energy::check_event_dims;
use crate::neural::backbone::{CnnBackbone, CnnBackboneConfig};
pub(crate) use crate::neural::backbone::LAYERS;
use crate::neural::cnn_host::{CnnSnapshot, HostCnn};

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
            EnergyError::InvalidParameter { parameter, reason, .. } => {
                EnergyError::InvalidParameter { energy: "CnnEnergy".into(), parameter, reason }
            }
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
    /// backward pass with the parameters frozen.
    fn energy_and_grad(&self, x: Tensor<4>) -> (Tensor<1>, Tensor<4>) {
        if x.device() == Device::flex() {
            HostCnn::from_model(self).energy_and_grad(x)
        } else {
            autodiff_energy_and_grad(&self.valid(), x)
        }
    }

    /// [`HostCnn::energy_and_grad_host`], its parameters laid out for this one call.
    fn energy_and_grad_host(&self, x: &[f32], dims: [usize; 4]) -> Option<(Vec<f32>, Vec<f32>)> {
        self.check_input(dims).ok()?;
        Some(HostCnn::from_model(self).energy_and_grad_host(x))
    }

    /// On the `flex` (CPU) device, the parameters laid out for the host kernels ([`HostCnn`])
    /// once for a whole sampler run; input gradients come from them, everything else from `self`.
    fn snapshot(&self) -> Option<Box<dyn Energy<4> + '_>> {
        (self.output.weight.device().inner() == Device::flex())
            .then(|| Box::new(CnnSnapshot::new(self)) as Box<dyn Energy<4> + '_>)
    }

    /// On the `flex` (CPU) device, [`HostCnn::param_grads_host`]; elsewhere `None` (autodiff).
    fn weighted_param_grads(
        &self,
        x: Tensor<4>,
        weight: &ItemWeight<'_>,
    ) -> Option<(Tensor<1>, GradientsParams)> {
        let dims = x.dims();
        if x.device() != Device::flex()
            || dims[1..] != [self.channels, self.image_size, self.image_size]
        {
            return None;
        }
        let n = dims[0];
        let device = x.device().inner();
        let host = HostCnn::from_model(self);
        let values = x.try_to_vec_as::<f32>().ok()?;
        let (energies, grads) = host.param_grads_host(&values, weight);
        Some((
            Tensor::from_data(burn::tensor::TensorData::new(energies, [n]), &device),
            grads.into_gradients(self, &device),
        ))
    }
}
