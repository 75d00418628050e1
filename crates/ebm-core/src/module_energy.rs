//! The adapter that turns any burn `Module` with a batch forward into an [`Energy`].

use burn::module::Module;
use burn::tensor::Tensor;

use crate::energy::{Energy, autodiff_energy_and_grad};
use crate::error::EnergyError;

/// The output of a forward pass that can be read as one energy per item: `[N]` or `[N, 1]`.
pub trait EnergyOutput {
    /// The energies as `[N]`.
    fn into_energies(self) -> Tensor<1>;
}

impl EnergyOutput for Tensor<1> {
    fn into_energies(self) -> Tensor<1> {
        self
    }
}

impl EnergyOutput for Tensor<2> {
    /// `[N, 1]` is squeezed to `[N]`.
    ///
    /// # Panics
    /// If the second axis is not 1 (a forward that returns `[N, k]`, `k > 1`, is not an energy).
    fn into_energies(self) -> Tensor<1> {
        let [n, k] = self.dims();
        assert_eq!(
            k, 1,
            "an energy network must output [N] or [N, 1], got [{n}, {k}]"
        );
        self.reshape([n])
    }
}

/// Any burn module plus the function that runs its forward pass on a batch, as an [`Energy`].
///
/// ```
/// use ebm_core::burn::nn::{Linear, LinearConfig};
/// use ebm_core::burn::tensor::{Device, Tensor};
/// use ebm_core::{Energy, ModuleEnergy};
///
/// let device = Device::flex();
/// let net = LinearConfig::new(3, 1).init(&device);
/// let energy = ModuleEnergy::new(net, |m: &Linear, x: Tensor<2>| m.forward(x));
/// let (e, grad) = energy.energy_and_grad(Tensor::zeros([4, 3], &device));
/// assert_eq!((e.dims(), grad.dims()), ([4], [4, 3]));
/// ```
///
/// The input gradient freezes the parameters (`Module::valid`) so sampling never builds
/// parameter gradients; training calls [`Energy::energy`] on the live module instead.
#[derive(Debug, Clone)]
pub struct ModuleEnergy<M, F> {
    /// The wrapped module.
    pub module: M,
    forward: F,
    name: String,
    event_dims: Option<Vec<usize>>,
}

impl<M, F> ModuleEnergy<M, F> {
    /// Wraps `module`, whose forward on a batch is `forward(&module, x)`.
    pub fn new(module: M, forward: F) -> Self {
        Self {
            module,
            forward,
            name: "module energy".into(),
            event_dims: None,
        }
    }

    /// Sets the name used in error messages.
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Declares the shape of one item (all axes but the batch) so inputs are checked.
    pub fn with_event_dims(mut self, dims: &[usize]) -> Self {
        self.event_dims = Some(dims.to_vec());
        self
    }
}

impl<const D: usize, M, F, O> Energy<D> for ModuleEnergy<M, F>
where
    M: Module,
    F: Fn(&M, Tensor<D>) -> O,
    O: EnergyOutput,
{
    fn energy(&self, x: Tensor<D>) -> Tensor<1> {
        (self.forward)(&self.module, x).into_energies()
    }

    fn name(&self) -> String {
        self.name.clone()
    }

    fn check_input(&self, dims: [usize; D]) -> Result<(), EnergyError> {
        check_event_dims(&self.name, self.event_dims.as_deref(), &dims)
    }

    fn energy_and_grad(&self, x: Tensor<D>) -> (Tensor<1>, Tensor<D>) {
        let frozen = ModuleEnergy {
            module: self.module.valid(),
            forward: &self.forward,
            name: String::new(),
            event_dims: None,
        };
        autodiff_energy_and_grad(&frozen, x)
    }
}

/// Checks `dims[1..]` against an expected event shape (when there is one).
pub(crate) fn check_event_dims(
    energy: &str,
    expected: Option<&[usize]>,
    dims: &[usize],
) -> Result<(), EnergyError> {
    match expected {
        Some(event) if dims.len() != event.len() + 1 || dims[1..] != *event => {
            Err(EnergyError::Shape {
                energy: energy.to_string(),
                expected: format!("[N, {}]", join(event)),
                got: dims.to_vec(),
            })
        }
        _ => Ok(()),
    }
}

fn join(dims: &[usize]) -> String {
    dims.iter()
        .map(|d| d.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::{Linear, LinearConfig};
    use burn::tensor::{Device, TensorData};

    #[test]
    fn linear_module_is_an_energy_with_its_weights_as_gradient() {
        let device = Device::flex();
        let net = LinearConfig::new(3, 1).init(&device);
        let w = net.weight.val().into_data().try_to_vec::<f32>().unwrap();
        let energy =
            ModuleEnergy::new(net, |m: &Linear, x: Tensor<2>| m.forward(x)).with_event_dims(&[3]);
        let x = Tensor::<2>::from_data(
            TensorData::new(vec![1.0f32, 2., 3., -1., 0., 4.], [2, 3]),
            &device,
        );
        let (e, g) = energy.energy_and_grad(x.clone());
        assert_eq!(e.dims(), [2]);
        let g = g.into_data().try_to_vec::<f32>().unwrap();
        for row in g.chunks(3) {
            for (gi, wi) in row.iter().zip(&w) {
                assert!((gi - wi).abs() < 1e-6);
            }
        }
        let bad = Tensor::<2>::zeros([2, 4], &device);
        assert!(matches!(
            energy.try_energy(bad),
            Err(EnergyError::Shape { .. })
        ));
    }

    #[test]
    fn parameters_on_an_autodiff_device_stay_untouched_by_sampling_gradients() {
        let device = Device::flex().autodiff();
        let net = LinearConfig::new(2, 1).init(&device);
        let energy = ModuleEnergy::new(net, |m: &Linear, x: Tensor<2>| m.forward(x));
        let x = Tensor::<2>::ones([4, 2], &Device::flex());
        let (e, g) = energy.energy_and_grad(x);
        assert!(!e.is_autodiff() || !e.is_tracked());
        assert_eq!(g.dims(), [4, 2]);
    }
}
