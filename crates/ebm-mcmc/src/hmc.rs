//! Hamiltonian Monte Carlo with a leapfrog integrator and identity mass.
//!
//! With momentum `p ~ N(0, I)` and Hamiltonian `H(x, p) = E(x) + |p|^2 / 2`, one step runs `L`
//! leapfrog steps of size `eps`:
//!
//! ```text
//! p <- p - (eps/2) dE/dx(x)
//! repeat L times:  x <- x + eps p;  p <- p - eps dE/dx(x)   (the last momentum update is a half step)
//! log alpha = H(x, p) - H(x', p')
//! ```
//!
//! and accepts `x'` with probability `min(1, alpha)` (the final momentum flip that makes the
//! proposal an involution does not change `H` and is left out). Leapfrog is volume-preserving and
//! reversible, and its energy error is `O(eps^2)`, so the acceptance stays high on smooth
//! targets. A NaN `log alpha` (a diverging trajectory) is rejected. The cached gradient of the
//! current state makes a step cost `L` `energy_and_grad` calls. The default adaptation target is
//! 0.65 (Beskos et al. 2013 give 0.651 as optimal in high dimension).

use burn::tensor::Tensor;
use ebm_core::{Energy, SeededRng};

use crate::error::McmcError;
use crate::kernel::{ChainState, Kernel, StepInfo, StepSize, metropolis, select, sum_per_chain};

/// Where a leapfrog trajectory ends: position, momentum, and the energy and gradient there.
#[derive(Debug, Clone)]
pub struct LeapfrogEnd<const D: usize> {
    /// Final positions.
    pub position: Tensor<D>,
    /// Final momenta.
    pub momentum: Tensor<D>,
    /// `E` at the final positions, `[N]`.
    pub energy: Tensor<1>,
    /// `dE/dx` at the final positions.
    pub grad: Tensor<D>,
}

/// `n_steps` leapfrog steps of size `eps` (identity mass) from `(position, momentum)` where the
/// gradient is `grad`; costs `n_steps` `energy_and_grad` calls. With `n_steps = 0` nothing moves
/// and the returned energy is that of `position` (one call).
pub fn leapfrog<const D: usize, E: Energy<D> + ?Sized>(
    energy: &E,
    position: Tensor<D>,
    momentum: Tensor<D>,
    grad: Tensor<D>,
    eps: &StepSize,
    n_steps: usize,
) -> LeapfrogEnd<D> {
    if n_steps == 0 {
        let (e, g) = energy.energy_and_grad(position.clone());
        return LeapfrogEnd {
            position,
            momentum,
            energy: e,
            grad: g,
        };
    }
    let mut x = position;
    let mut p = momentum - eps.scale(grad, |h| 0.5 * h);
    let mut last = None;
    for i in 0..n_steps {
        x = x + eps.scale(p.clone(), |h| h);
        let (e, g) = energy.energy_and_grad(x.clone());
        let factor = if i + 1 == n_steps { 0.5 } else { 1.0 };
        p = p - eps.scale(g.clone(), |h| factor * h);
        last = Some((e, g));
    }
    let (e, g) = last.expect("n_steps > 0");
    LeapfrogEnd {
        position: x,
        momentum: p,
        energy: e,
        grad: g,
    }
}

/// The Hamiltonian `H = E + |p|^2 / 2` per chain.
pub fn hamiltonian<const D: usize>(energy: Tensor<1>, momentum: Tensor<D>) -> Tensor<1> {
    energy + sum_per_chain(momentum.powi_scalar(2)).mul_scalar(0.5)
}

/// HMC with `L` leapfrog steps of size `eps` (the adaptable step size), identity mass.
#[derive(Debug, Clone, PartialEq)]
pub struct Hmc {
    eps: StepSize,
    n_leapfrog: usize,
}

impl Hmc {
    /// The default adaptation target, 0.65.
    pub const TARGET_ACCEPT: f64 = 0.65;

    /// A kernel with step size `eps` (finite, positive) and `n_leapfrog >= 1` steps.
    pub fn new(eps: StepSize, n_leapfrog: usize) -> Result<Self, McmcError> {
        eps.validate("hmc", None)?;
        if n_leapfrog == 0 {
            return Err(McmcError::invalid(
                "hmc",
                "n_leapfrog",
                "must be at least 1",
            ));
        }
        Ok(Self { eps, n_leapfrog })
    }

    /// The number of leapfrog steps `L`.
    pub fn n_leapfrog(&self) -> usize {
        self.n_leapfrog
    }
}

impl<const D: usize> Kernel<D> for Hmc {
    fn name(&self) -> &'static str {
        "hmc"
    }

    fn step<E: Energy<D> + ?Sized>(
        &self,
        energy: &E,
        state: ChainState<D>,
        rng: &mut SeededRng,
    ) -> (ChainState<D>, StepInfo) {
        let (state, grad) = state.with_grad(energy);
        let p: Tensor<D> = rng.normal(state.position.dims(), &state.position.device());
        let h0 = hamiltonian(state.energy.clone(), p.clone());
        let end = leapfrog(
            energy,
            state.position.clone(),
            p,
            grad,
            &self.eps,
            self.n_leapfrog,
        );
        let h1 = hamiltonian(end.energy.clone(), end.momentum);
        let info = metropolis(h0 - h1, rng);
        let proposal = ChainState {
            position: end.position,
            energy: end.energy,
            grad: Some(end.grad),
        };
        (select(state, proposal, &info.accepted), info)
    }

    fn step_size(&self) -> &StepSize {
        &self.eps
    }

    fn set_step_size(&mut self, step_size: StepSize) -> Result<(), McmcError> {
        step_size.validate("hmc", None)?;
        self.eps = step_size;
        Ok(())
    }

    fn target_accept(&self) -> Option<f64> {
        Some(Self::TARGET_ACCEPT)
    }
}
