//! The CNN energy's CPU fast paths as a [`HostEnergy`], and its snapshot for a sampler's inner
//! loop.

#[cfg(feature = "optim")]
use burn::optim::GradientsParams;
#[cfg(feature = "optim")]
use burn::tensor::TensorData;
use burn::tensor::{Device, Tensor};

use super::HostCnn;
use crate::energy::Energy;
use crate::error::EnergyError;
use crate::host::HostEnergy;
#[cfg(feature = "optim")]
use crate::host::ItemWeight;
use crate::neural::cnn::CnnEnergy;

impl HostEnergy<4> for CnnEnergy {
    /// [`HostCnn::energy_and_grad_host`], its parameters laid out for this one call.
    fn energy_and_grad_host(
        &self,
        x: &[f32],
        dims: [usize; 4],
    ) -> Result<(Vec<f32>, Vec<f32>), EnergyError> {
        self.check_input(dims)?;
        HostCnn::from_model(self)?.energy_and_grad_host(x, dims)
    }

    /// On the `flex` (CPU) device, [`HostCnn::param_grads_host`]; elsewhere `None` (autodiff).
    #[cfg(feature = "optim")]
    fn weighted_param_grads(
        &self,
        x: Tensor<4>,
        weight: &ItemWeight<'_>,
    ) -> Option<Result<(Tensor<1>, GradientsParams), EnergyError>> {
        (x.device() == Device::flex()).then(|| param_grads(self, x, weight))
    }

    /// On the `flex` (CPU) device, the parameters laid out for the host kernels ([`HostCnn`])
    /// once for a whole sampler run; input gradients come from them, everything else from `self`.
    /// `None` elsewhere, or where the parameters cannot be read.
    fn snapshot(&self) -> Option<Box<dyn Energy<4> + '_>> {
        if self.output.weight.device().inner() != Device::flex() {
            return None;
        }
        let snapshot = CnnSnapshot::new(self).ok()?;
        Some(Box::new(snapshot))
    }
}

/// The CNN's parameter gradient on the host, returned in burn's layouts on `x`'s device.
#[cfg(feature = "optim")]
fn param_grads(
    model: &CnnEnergy,
    x: Tensor<4>,
    weight: &ItemWeight<'_>,
) -> Result<(Tensor<1>, GradientsParams), EnergyError> {
    let dims = x.dims();
    model.check_input(dims)?;
    let device = x.device().inner();
    let host = HostCnn::from_model(model)?;
    let values = super::layout::read("CNN energy: training batch", x)?;
    let (energies, grads) = host.param_grads_host(&values, dims, weight)?;
    Ok((
        Tensor::from_data(TensorData::new(energies, [dims[0]]), &device),
        grads.into_gradients(model, &device),
    ))
}

/// A [`CnnEnergy`] with its parameters copied once into a [`HostCnn`], for a sampler's inner
/// loop on the CPU ([`HostEnergy::snapshot`]): input gradients come from the snapshot, energies
/// alone and parameter gradients from the model.
pub(crate) struct CnnSnapshot<'a> {
    model: &'a CnnEnergy,
    host: HostCnn,
}

impl<'a> CnnSnapshot<'a> {
    /// Lays out `model`'s parameters; fails where they cannot be read.
    pub(crate) fn new(model: &'a CnnEnergy) -> Result<Self, EnergyError> {
        Ok(Self {
            model,
            host: HostCnn::from_model(model)?,
        })
    }
}

impl Energy<4> for CnnSnapshot<'_> {
    fn energy(&self, x: Tensor<4>) -> Tensor<1> {
        self.model.energy(x)
    }

    fn name(&self) -> String {
        self.model.name()
    }

    fn check_input(&self, dims: [usize; 4]) -> Result<(), EnergyError> {
        self.model.check_input(dims)
    }

    /// On `flex`, the snapshot's host path; elsewhere, or for a batch it rejects, the model's.
    fn energy_and_grad(&self, x: Tensor<4>) -> (Tensor<1>, Tensor<4>) {
        if x.device() == Device::flex()
            && let Ok(eg) = self.host.energy_and_grad(x.clone())
        {
            return eg;
        }
        self.model.energy_and_grad(x)
    }

    fn host(&self) -> Option<&dyn HostEnergy<4>> {
        Some(self)
    }
}

impl HostEnergy<4> for CnnSnapshot<'_> {
    fn energy_and_grad_host(
        &self,
        x: &[f32],
        dims: [usize; 4],
    ) -> Result<(Vec<f32>, Vec<f32>), EnergyError> {
        self.host.energy_and_grad_host(x, dims)
    }

    #[cfg(feature = "optim")]
    fn weighted_param_grads(
        &self,
        x: Tensor<4>,
        weight: &ItemWeight<'_>,
    ) -> Option<Result<(Tensor<1>, GradientsParams), EnergyError>> {
        self.model.weighted_param_grads(x, weight)
    }
}
