//! Helpers shared by several test files: deliberately wrong samplers for negative controls.

use burn::tensor::Tensor;
use ebm_core::{Energy, SeededRng};
use ebm_mcmc::{ChainState, Kernel, McmcError, StepInfo, StepSize};

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
