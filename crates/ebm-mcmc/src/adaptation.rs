//! Step-size adaptation by dual averaging (Hoffman and Gelman 2014, section 3.2.1).
//!
//! During warm-up, after step `t = 1, 2, ...` with observed acceptance probability `a_t`:
//!
//! ```text
//! H_t          = (1 - 1/(t + t0)) H_{t-1} + (delta - a_t) / (t + t0)
//! log h_t      = mu - sqrt(t) / gamma * H_t
//! log hbar_t   = t^{-kappa} log h_t + (1 - t^{-kappa}) log hbar_{t-1}
//! ```
//!
//! with `mu = log(10 h_0)`, `gamma = 0.05`, `t0 = 10`, `kappa = 0.75`, and `delta` the target
//! acceptance (0.234 for RWM, 0.574 for MALA, 0.65 for HMC). The iterate `h_t` is used during
//! warm-up; the averaged `hbar_t` is used for sampling. Adaptation lives outside the kernels: the
//! runner reads the per-chain acceptance probabilities once per step and sets the kernel's step
//! size with [`crate::kernel::Kernel::set_step_size`].
//!
//! Two scopes ([`AdaptScope`]):
//! * **Shared**: one dual-averaging state, fed the mean acceptance probability over all chains;
//!   produces [`StepSize::Shared`].
//! * **Per chain**: one state per chain, each fed its own chain's acceptance probability;
//!   produces [`StepSize::PerChain`] (a `[chains]` vector).

use crate::error::McmcError;
use crate::kernel::StepSize;
use serde::{Deserialize, Serialize};

/// The dual-averaging state of one step size.
#[derive(Debug, Clone, PartialEq)]
pub struct DualAveraging {
    target: f64,
    mu: f64,
    h_bar: f64,
    log_step: f64,
    log_step_bar: f64,
    t: usize,
    gamma: f64,
    t0: f64,
    kappa: f64,
}

impl DualAveraging {
    /// Hoffman and Gelman's `gamma`.
    pub const GAMMA: f64 = 0.05;
    /// Hoffman and Gelman's `t0`.
    pub const T0: f64 = 10.0;
    /// Hoffman and Gelman's `kappa`.
    pub const KAPPA: f64 = 0.75;

    /// A state starting at step size `initial` (finite, positive) aiming at acceptance `target`
    /// in `(0, 1)`.
    pub fn new(initial: f64, target: f64) -> Result<Self, McmcError> {
        if !(initial.is_finite() && initial > 0.0) {
            return Err(McmcError::invalid(
                "dual averaging",
                "initial step size",
                format!("must be finite and positive, got {initial}"),
            ));
        }
        if !(target > 0.0 && target < 1.0) {
            return Err(McmcError::invalid(
                "dual averaging",
                "target acceptance",
                format!("must lie in (0, 1), got {target}"),
            ));
        }
        Ok(Self {
            target,
            mu: (10.0 * initial).ln(),
            h_bar: 0.0,
            log_step: initial.ln(),
            log_step_bar: 0.0,
            t: 0,
            gamma: Self::GAMMA,
            t0: Self::T0,
            kappa: Self::KAPPA,
        })
    }

    /// Feeds the acceptance probability of one step (NaN counts as 0) and returns the next step
    /// size `h_t`.
    pub fn update(&mut self, accept_prob: f64) -> f64 {
        let a = if accept_prob.is_nan() {
            0.0
        } else {
            accept_prob.clamp(0.0, 1.0)
        };
        self.t += 1;
        let t = self.t as f64;
        let w = 1.0 / (t + self.t0);
        self.h_bar = (1.0 - w) * self.h_bar + w * (self.target - a);
        self.log_step = self.mu - t.sqrt() / self.gamma * self.h_bar;
        let eta = t.powf(-self.kappa);
        self.log_step_bar = eta * self.log_step + (1.0 - eta) * self.log_step_bar;
        self.log_step.exp()
    }

    /// The current iterate `h_t` (used during warm-up).
    pub fn step_size(&self) -> f64 {
        self.log_step.exp()
    }

    /// The averaged step size `hbar_t` to sample with after warm-up (the initial step size if no
    /// update was made).
    pub fn final_step_size(&self) -> f64 {
        if self.t == 0 {
            self.log_step.exp()
        } else {
            self.log_step_bar.exp()
        }
    }

    /// The target acceptance probability.
    pub fn target(&self) -> f64 {
        self.target
    }
}

/// Whether adaptation tunes one step size for all chains or one per chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum AdaptScope {
    /// One scalar step size, from the mean acceptance probability over chains.
    #[default]
    Shared,
    /// One step size per chain, each from its own chain's acceptance probability.
    PerChain,
}

/// Dual averaging over a batch of chains, in either [`AdaptScope`].
#[derive(Debug, Clone, PartialEq)]
pub struct StepSizeAdapter {
    scope: AdaptScope,
    states: Vec<DualAveraging>,
}

impl StepSizeAdapter {
    /// An adapter for `chains` chains starting from `initial` (a shared initial value is copied to
    /// every chain in per-chain scope; a per-chain initial value is averaged in shared scope).
    pub fn new(
        scope: AdaptScope,
        initial: &StepSize,
        chains: usize,
        target: f64,
    ) -> Result<Self, McmcError> {
        initial.validate("step-size adaptation", None)?;
        let states = match (scope, initial) {
            (AdaptScope::Shared, h) => vec![DualAveraging::new(h.mean(), target)?],
            (AdaptScope::PerChain, StepSize::Shared(h)) => {
                vec![DualAveraging::new(*h, target)?; chains]
            }
            (AdaptScope::PerChain, StepSize::PerChain(v)) => {
                initial.validate("step-size adaptation", Some(chains))?;
                v.iter()
                    .map(|&h| DualAveraging::new(h, target))
                    .collect::<Result<_, _>>()?
            }
        };
        Ok(Self { scope, states })
    }

    /// Feeds one step's per-chain acceptance probabilities and returns the step size for the next
    /// warm-up step.
    pub fn update(&mut self, accept_probs: &[f64]) -> StepSize {
        match self.scope {
            AdaptScope::Shared => {
                let finite: Vec<f64> = accept_probs
                    .iter()
                    .map(|a| if a.is_nan() { 0.0 } else { *a })
                    .collect();
                let mean = finite.iter().sum::<f64>() / finite.len().max(1) as f64;
                StepSize::Shared(self.states[0].update(mean))
            }
            AdaptScope::PerChain => StepSize::PerChain(
                self.states
                    .iter_mut()
                    .zip(accept_probs)
                    .map(|(s, &a)| s.update(a))
                    .collect(),
            ),
        }
    }

    /// The averaged step size to sample with after warm-up.
    pub fn final_step_size(&self) -> StepSize {
        match self.scope {
            AdaptScope::Shared => StepSize::Shared(self.states[0].final_step_size()),
            AdaptScope::PerChain => {
                StepSize::PerChain(self.states.iter().map(|s| s.final_step_size()).collect())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A toy sampler whose acceptance is `exp(-h)`: the fixed point of dual averaging at target
    /// delta is `h* = -ln(delta)`.
    #[test]
    fn dual_averaging_finds_the_step_size_of_the_target_acceptance() {
        for target in [0.234, 0.574, 0.65] {
            let mut da = DualAveraging::new(1.0, target).unwrap();
            let mut h = da.step_size();
            for _ in 0..2000 {
                h = da.update((-h).exp());
            }
            let want = -f64::ln(target);
            let got = da.final_step_size();
            assert!(
                (got - want).abs() / want < 0.02,
                "target {target}: {got} vs {want}"
            );
        }
    }

    #[test]
    fn per_chain_scope_tunes_each_chain_separately() {
        // Chain i accepts with exp(-h * (i + 1)): its optimum is -ln(delta) / (i + 1).
        let mut ad =
            StepSizeAdapter::new(AdaptScope::PerChain, &StepSize::Shared(1.0), 3, 0.5).unwrap();
        let mut h = vec![1.0; 3];
        for _ in 0..2000 {
            let a: Vec<f64> = h
                .iter()
                .enumerate()
                .map(|(i, h): (usize, &f64)| (-h * (i + 1) as f64).exp())
                .collect();
            match ad.update(&a) {
                StepSize::PerChain(v) => h = v,
                other => panic!("expected per-chain, got {other:?}"),
            }
        }
        let StepSize::PerChain(v) = ad.final_step_size() else {
            panic!("expected per-chain")
        };
        for (i, got) in v.iter().enumerate() {
            let want = f64::ln(2.0) / (i + 1) as f64;
            assert!(
                (got - want).abs() / want < 0.02,
                "chain {i}: {got} vs {want}"
            );
        }
        // Shared scope gives one scalar.
        let mut shared =
            StepSizeAdapter::new(AdaptScope::Shared, &StepSize::Shared(1.0), 3, 0.5).unwrap();
        assert!(matches!(
            shared.update(&[0.1, 0.2, f64::NAN]),
            StepSize::Shared(_)
        ));
        assert!(DualAveraging::new(0.0, 0.5).is_err());
        assert!(DualAveraging::new(1.0, 1.5).is_err());
    }
}
