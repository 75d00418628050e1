//! The geometric path `E_beta = (1 - beta) E_0 + beta E_1` between the base and the target.

use burn::tensor::Tensor;
use ebm_core::{Energy, EnergyError};

use super::base::AisBase;
use crate::kernel::ChainState;

/// The intermediate energy `E_beta = (1 - beta) E_0 + beta E_1` of the geometric path (for the box
/// base, `E_beta = beta E_1` inside and `+inf` outside).
#[derive(Debug, Clone)]
pub struct PathEnergy<'a, E: ?Sized> {
    /// The base.
    pub base: AisBase,
    /// The target energy `E_1`.
    pub target: &'a E,
    /// The inverse temperature `beta` in `[0, 1]`.
    pub beta: f64,
}

impl<E: ?Sized> PathEnergy<'_, E> {
    fn combine<const D: usize>(
        &self,
        e0: Tensor<1>,
        g0: Tensor<D>,
        e1: Tensor<1>,
        g1: Tensor<D>,
    ) -> (Tensor<1>, Tensor<D>) {
        let b = self.beta;
        match self.base {
            AisBase::Gaussian { .. } => (e0 * (1.0 - b) + e1 * b, g0 * (1.0 - b) + g1 * b),
            AisBase::UniformBox { .. } => (e0 + e1 * b, g1 * b),
        }
    }
}

impl<const D: usize, E: Energy<D> + ?Sized> Energy<D> for PathEnergy<'_, E> {
    fn energy(&self, x: Tensor<D>) -> Tensor<1> {
        let (e0, g0) = self.base.energy_and_grad(x.clone());
        let e1 = self.target.energy(x);
        let g1 = g0.clone();
        self.combine(e0, g0, e1, g1).0
    }

    fn name(&self) -> String {
        format!("AIS path to {} at beta = {}", self.target.name(), self.beta)
    }

    fn check_input(&self, dims: [usize; D]) -> Result<(), EnergyError> {
        self.target.check_input(dims)
    }

    fn energy_and_grad(&self, x: Tensor<D>) -> (Tensor<1>, Tensor<D>) {
        let x = x.inner();
        let (e1, g1) = self.target.energy_and_grad(x.clone());
        let (e0, g0) = self.base.energy_and_grad(x);
        self.combine(e0, g0, e1, g1)
    }
}

/// The state of every chain at `x` for the path at `beta`, and `E_1(x) - E_0(x)` for the weight
/// (`E_1` alone for the box, whose `E_0` is 0 inside). One `energy_and_grad` call of the target.
pub(super) fn state_at<const D: usize, E: Energy<D> + ?Sized>(
    base: AisBase,
    target: &E,
    beta: f64,
    x: Tensor<D>,
) -> (ChainState<D>, Tensor<1>) {
    let (e1, g1) = target.energy_and_grad(x.clone());
    let (e0, g0) = base.energy_and_grad(x.clone());
    let diff = match base {
        AisBase::Gaussian { .. } => e1.clone() - e0.clone(),
        AisBase::UniformBox { .. } => e1.clone(),
    };
    let path = PathEnergy { base, target, beta };
    let (energy, grad) = path.combine(e0, g0, e1, g1);
    (
        ChainState {
            position: x,
            energy,
            grad: Some(grad),
        },
        diff,
    )
}
