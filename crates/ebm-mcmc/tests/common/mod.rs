//! Helpers shared by several test files: deliberately wrong samplers for negative controls, and
//! a wrapper that runs a kernel on its tensor path.

use burn::tensor::Tensor;
use ebm_core::{Energy, SeededRng};
use ebm_mcmc::{ChainState, Kernel, McmcError, StepInfo, StepSize, TrajectoryInfo};

/// A kernel that never moves: it runs the wrapped kernel (drawing the same randomness and
/// reporting the same acceptance) and then returns the state it was given. A check that this
/// kernel passes cannot tell a sampler from no sampler.
pub struct Frozen<K>(pub K);

impl<const D: usize, K: Kernel<D>> Kernel<D> for Frozen<K> {
    fn name(&self) -> &'static str {
        "frozen"
    }

    fn step<E: Energy<D> + ?Sized>(
        &self,
        energy: &E,
        state: ChainState<D>,
        rng: &mut SeededRng,
    ) -> (ChainState<D>, StepInfo) {
        let (_, info) = self.0.step(energy, state.clone(), rng);
        (state, info)
    }

    fn init<E: Energy<D> + ?Sized>(&self, energy: &E, position: Tensor<D>) -> ChainState<D> {
        self.0.init(energy, position)
    }

    fn step_size(&self) -> &StepSize {
        self.0.step_size()
    }

    fn set_step_size(&mut self, step_size: StepSize) -> Result<(), McmcError> {
        self.0.set_step_size(step_size)
    }

    fn target_accept(&self) -> Option<f64> {
        self.0.target_accept()
    }
}

#[allow(dead_code)] // not every test file uses it
/// An energy with its host path hidden: a kernel given it takes its tensor path.
pub struct TensorOnly<'a, E: ?Sized>(pub &'a E);

impl<const D: usize, E: Energy<D> + ?Sized> Energy<D> for TensorOnly<'_, E> {
    fn energy(&self, x: Tensor<D>) -> Tensor<1> {
        self.0.energy(x)
    }

    fn name(&self) -> String {
        self.0.name()
    }

    fn energy_and_grad(&self, x: Tensor<D>) -> (Tensor<1>, Tensor<D>) {
        self.0.energy_and_grad(x)
    }
}

/// A kernel run on its tensor path whatever the energy: NUTS on the CPU otherwise takes its
/// chain-by-chain host path for energies that have one.
#[allow(dead_code)]
#[derive(Clone)]
pub struct TensorPath<K>(pub K);

impl<const D: usize, K: Kernel<D>> Kernel<D> for TensorPath<K> {
    fn name(&self) -> &'static str {
        self.0.name()
    }

    fn step<E: Energy<D> + ?Sized>(
        &self,
        energy: &E,
        state: ChainState<D>,
        rng: &mut SeededRng,
    ) -> (ChainState<D>, StepInfo) {
        self.0.step(&TensorOnly(energy), state, rng)
    }

    fn step_traced<E: Energy<D> + ?Sized>(
        &self,
        energy: &E,
        state: ChainState<D>,
        rng: &mut SeededRng,
    ) -> (ChainState<D>, StepInfo, Option<TrajectoryInfo>) {
        self.0.step_traced(&TensorOnly(energy), state, rng)
    }

    fn init<E: Energy<D> + ?Sized>(&self, energy: &E, position: Tensor<D>) -> ChainState<D> {
        self.0.init(energy, position)
    }

    fn step_size(&self) -> &StepSize {
        self.0.step_size()
    }

    fn set_step_size(&mut self, step_size: StepSize) -> Result<(), McmcError> {
        self.0.set_step_size(step_size)
    }

    fn target_accept(&self) -> Option<f64> {
        self.0.target_accept()
    }
}
