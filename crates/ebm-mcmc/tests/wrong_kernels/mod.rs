//! Deliberately wrong kernels for negative controls: copies of the library's MALA and HMC steps
//! with one switchable bug each (the switch off, they equal the library's steps; `power.rs`
//! checks that draw for draw).

use burn::tensor::{Bool, Tensor, TensorData};
use ebm_core::{Energy, SeededRng};
use ebm_mcmc::{ChainState, Kernel, McmcError, StepInfo, StepSize, hamiltonian};

/// `sum` over the second axis: `[N, d] -> [N]`.
fn row_sum(x: Tensor<2>) -> Tensor<1> {
    let [n, _] = x.dims();
    x.sum_dim(1).reshape([n])
}

/// The Metropolis-Hastings decision, as in the library (NaN rejected).
fn metropolis(log_alpha: Tensor<1>, rng: &mut SeededRng) -> StepInfo {
    let [n] = log_alpha.dims();
    let device = log_alpha.device();
    let nan = log_alpha.clone().is_nan();
    let accept_prob = log_alpha.clamp_max(0.0).exp().mask_fill(nan, 0.0);
    let u = rng.uniform([n], 0.0, 1.0, &device);
    let mut info = StepInfo::all_accepted(n, &device);
    info.accepted = u.lower(accept_prob.clone());
    info.accept_prob = accept_prob;
    info
}

/// Chain by chain, the proposal where accepted, else the current state.
fn select(
    current: ChainState<2>,
    proposal: ChainState<2>,
    accepted: &Tensor<1, Bool>,
) -> ChainState<2> {
    let dims = current.position.dims();
    let mask = accepted.clone().reshape([dims[0], 1]).expand(dims);
    let grad = match (current.grad, proposal.grad) {
        (Some(g), Some(g2)) => Some(g.mask_where(mask.clone(), g2)),
        _ => None,
    };
    ChainState {
        position: current.position.mask_where(mask, proposal.position),
        energy: current.energy.mask_where(accepted.clone(), proposal.energy),
        grad,
    }
}

/// MALA copied from the library, with a switch for the proposal-density ratio
/// `log q(x | x') - log q(x' | x)` in `log alpha`. Without it the Metropolis test treats the
/// drifted proposal as symmetric, which targets roughly `p^2` (variance about halved).
pub struct MalaCopy {
    pub eps: StepSize,
    pub q_ratio: bool,
}

impl Kernel<2> for MalaCopy {
    fn name(&self) -> &'static str {
        "mala copy"
    }

    fn step<E: Energy<2> + ?Sized>(
        &self,
        energy: &E,
        state: ChainState<2>,
        rng: &mut SeededRng,
    ) -> (ChainState<2>, StepInfo) {
        let h = self.eps.mean();
        let (state, grad) = state.with_grad(energy);
        let dims = state.position.dims();
        let z = Tensor::<2>::from_data(
            TensorData::new(rng.normal_vec_parallel(dims[0] * dims[1]), dims),
            &state.position.device(),
        );
        let x = state.position.clone();
        let x_new = x.clone() - grad.mul_scalar(h) + z.clone().mul_scalar((2.0 * h).sqrt());
        let proposal = ChainState::new(energy, x_new.clone());
        let mut log_alpha = state.energy.clone() - proposal.energy.clone();
        if self.q_ratio {
            let grad_new = proposal.grad.clone().unwrap();
            let log_q_forward = row_sum(z.powi_scalar(2)).mul_scalar(-0.5);
            let back = x - x_new + grad_new.mul_scalar(h);
            let log_q_backward = row_sum(back.powi_scalar(2)).mul_scalar(-1.0 / (4.0 * h));
            log_alpha = log_alpha + log_q_backward - log_q_forward;
        }
        let info = metropolis(log_alpha, rng);
        (select(state, proposal, &info.accepted), info)
    }

    fn step_size(&self) -> &StepSize {
        &self.eps
    }

    fn set_step_size(&mut self, step_size: StepSize) -> Result<(), McmcError> {
        self.eps = step_size;
        Ok(())
    }
}

/// HMC copied from the library, with `sign` on the first momentum half-step:
/// `p <- p - sign (eps/2) dE/dx`. `sign = -1` is the bug: the map is still volume-preserving but
/// no longer reversible, so the Metropolis test no longer makes the target invariant.
pub struct HmcCopy {
    pub eps: StepSize,
    pub n_leapfrog: usize,
    pub sign: f64,
}

impl Kernel<2> for HmcCopy {
    fn name(&self) -> &'static str {
        "hmc copy"
    }

    fn step<E: Energy<2> + ?Sized>(
        &self,
        energy: &E,
        state: ChainState<2>,
        rng: &mut SeededRng,
    ) -> (ChainState<2>, StepInfo) {
        let h = self.eps.mean();
        let (state, grad) = state.with_grad(energy);
        let p0: Tensor<2> = rng.normal(state.position.dims(), &state.position.device());
        let h0 = hamiltonian(state.energy.clone(), p0.clone());
        let mut x = state.position.clone();
        let mut p = p0 - grad.mul_scalar(self.sign * 0.5 * h);
        let mut last = None;
        for i in 0..self.n_leapfrog {
            x = x + p.clone().mul_scalar(h);
            let (e, g) = energy.energy_and_grad(x.clone());
            let factor = if i + 1 == self.n_leapfrog { 0.5 } else { 1.0 };
            p = p - g.clone().mul_scalar(factor * h);
            last = Some((e, g));
        }
        let (e, g) = last.expect("n_leapfrog >= 1");
        let h1 = hamiltonian(e.clone(), p);
        let info = metropolis(h0 - h1, rng);
        let proposal = ChainState {
            position: x,
            energy: e,
            grad: Some(g),
        };
        (select(state, proposal, &info.accepted), info)
    }

    fn step_size(&self) -> &StepSize {
        &self.eps
    }

    fn set_step_size(&mut self, step_size: StepSize) -> Result<(), McmcError> {
        self.eps = step_size;
        Ok(())
    }
}
