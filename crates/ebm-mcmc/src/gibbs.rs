//! Block Gibbs sampling of a Bernoulli-Bernoulli RBM, many chains at once.
//!
//! Given one layer the units of the other are independent, so a sweep draws a whole layer at once:
//!
//! ```text
//! h ~ Bernoulli(sigmoid(c + v W)),      v' ~ Bernoulli(sigmoid(b + h W^T))
//! ```
//!
//! Each half-step samples a conditional of `p(v, h)` exactly, so the sweep leaves `p(v, h)` and
//! its marginal `p(v) = exp(-F(v)) / Z` invariant. The annealed sweep of AIS does the same for the
//! intermediate distribution between a base-rate RBM `A` (biases `b_A`, no weights) and the RBM
//! `B` at inverse temperature `beta`, tempered on the joint space:
//!
//! ```text
//! p_beta(v, h) ∝ exp(v^T ((1 - beta) b_A + beta b) + beta h^T c + beta v^T W h)
//! h ~ Bernoulli(sigmoid(beta (c + v W))),   v' ~ Bernoulli(sigmoid((1 - beta) b_A + beta (b + h W^T)))
//! ```
//!
//! which is an RBM with weights `beta W`, so the same two exact half-steps leave it invariant.
//! All randomness comes from the [`SeededRng`] passed in.

use burn::tensor::Tensor;
use burn::tensor::activation::sigmoid;
use ebm_core::{Rbm, SeededRng};

use crate::error::McmcError;

/// Independent Bernoulli draws with probabilities `p` (any shape), as `0.0` / `1.0`.
pub fn bernoulli<const D: usize>(p: Tensor<D>, rng: &mut SeededRng) -> Tensor<D> {
    let u = rng.uniform(p.dims(), 0.0, 1.0, &p.device());
    u.lower(p).float()
}

/// One Gibbs sweep's result: the new visibles and what was drawn on the way.
#[derive(Debug, Clone)]
pub struct GibbsSweep {
    /// `h ~ p(h | v)`, `[N, n_h]`.
    pub hidden: Tensor<2>,
    /// `p(h = 1 | v)`, `[N, n_h]`.
    pub hidden_probs: Tensor<2>,
    /// `v' ~ p(v | h)`, `[N, n_v]`.
    pub visible: Tensor<2>,
    /// `p(v = 1 | h)`, `[N, n_v]` (the "reconstruction" of CD).
    pub visible_probs: Tensor<2>,
}

/// Block Gibbs sampling with `k` sweeps `v -> h -> v'` per call of [`BlockGibbs::run`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockGibbs {
    sweeps: usize,
}

impl BlockGibbs {
    /// `sweeps >= 1` full sweeps per [`BlockGibbs::run`].
    pub fn new(sweeps: usize) -> Result<Self, McmcError> {
        if sweeps == 0 {
            return Err(McmcError::invalid(
                "block gibbs",
                "sweeps",
                "must be at least 1",
            ));
        }
        Ok(Self { sweeps })
    }

    /// The number of sweeps per run.
    pub fn sweeps(&self) -> usize {
        self.sweeps
    }

    /// `h ~ p(h | v)` and `p(h = 1 | v)`.
    pub fn sample_hidden(rbm: &Rbm, v: Tensor<2>, rng: &mut SeededRng) -> (Tensor<2>, Tensor<2>) {
        let p = rbm.hidden_probs(v);
        (bernoulli(p.clone(), rng), p)
    }

    /// `v ~ p(v | h)` and `p(v = 1 | h)`.
    pub fn sample_visible(rbm: &Rbm, h: Tensor<2>, rng: &mut SeededRng) -> (Tensor<2>, Tensor<2>) {
        let p = rbm.visible_probs(h);
        (bernoulli(p.clone(), rng), p)
    }

    /// One sweep `v -> h -> v'` of every chain (`v` is `[N, n_v]`).
    pub fn sweep(rbm: &Rbm, v: Tensor<2>, rng: &mut SeededRng) -> GibbsSweep {
        let (hidden, hidden_probs) = Self::sample_hidden(rbm, v, rng);
        let (visible, visible_probs) = Self::sample_visible(rbm, hidden.clone(), rng);
        GibbsSweep {
            hidden,
            hidden_probs,
            visible,
            visible_probs,
        }
    }

    /// `k` sweeps from `v`; the last sweep's draws and probabilities.
    pub fn run(&self, rbm: &Rbm, v: Tensor<2>, rng: &mut SeededRng) -> GibbsSweep {
        let mut s = Self::sweep(rbm, v, rng);
        for _ in 1..self.sweeps {
            s = Self::sweep(rbm, s.visible, rng);
        }
        s
    }
}

/// One annealed sweep at inverse temperature `beta` between the base-rate biases `base_bias`
/// (`b_A`, `[n_v]`) and `rbm`, from visibles whose hidden pre-activations `c + v W` are given
/// (computed once and shared with the AIS weight): leaves `p_beta(v, h)` and its marginal invariant.
pub fn annealed_sweep_from_input(
    rbm: &Rbm,
    base_bias: &Tensor<1>,
    beta: f64,
    hidden_input: Tensor<2>,
    rng: &mut SeededRng,
) -> Tensor<2> {
    let h = bernoulli(sigmoid(hidden_input.mul_scalar(beta)), rng);
    let visible_input = rbm.visible_input(h).mul_scalar(beta)
        + base_bias.clone().unsqueeze::<2>().mul_scalar(1.0 - beta);
    bernoulli(sigmoid(visible_input), rng)
}
