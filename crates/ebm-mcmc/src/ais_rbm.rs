//! AIS for the RBM (Salakhutdinov and Murray 2008): from the base-rate RBM to a trained one, with
//! annealed block Gibbs transitions.
//!
//! The path runs on the joint space of the visibles and the hidden units of the RBM `B` (weights
//! `W`, biases `b`, `c`), from the base-rate RBM `A` (visible biases `b_A`, no weights):
//!
//! ```text
//! p_beta(v, h) ∝ exp( v^T ((1 - beta) b_A + beta b) + beta (h^T c + v^T W h) )
//! f_beta(v) = log sum_h (...) = v^T ((1 - beta) b_A + beta b) + sum_j softplus(beta (c_j + (v W)_j))
//! ```
//!
//! At `beta = 1` this is `-F_B(v)`; at `beta = 0` the hidden units are free, so
//! `Z_0 = Z_A 2^{n_h}`. Each chain adds `f_{beta_k}(v) - f_{beta_{k-1}}(v)` to its log weight and
//! then takes one annealed Gibbs sweep at `beta_k` ([`crate::gibbs::annealed_sweep_from_input`]),
//! which is exact for `p_beta(v, h)` and shares the hidden pre-activations `c + v W` with the
//! weight: two `[M, n_v] x [n_v, n_h]` products per temperature. (Tempering the joint, not the
//! marginal `exp(-F_B)`, is what makes the Gibbs sweep exact.) The estimate, its standard error
//! and the ESS are those of [`crate::ais`](mod@crate::ais). Run in reverse from draws of `B`, the same weights
//! bound `log Z_B` from above (exactly so only for exact draws).

use burn::tensor::Tensor;
use burn::tensor::activation::softplus;
use ebm_core::{BaseRateRbm, Rbm, SeededRng};

use crate::ais::{AisEstimate, Direction, Temperatures};
use crate::error::McmcError;
use crate::gibbs::annealed_sweep_from_input;

fn host(t: Tensor<1>) -> Result<Vec<f64>, McmcError> {
    t.into_data()
        .try_to_vec::<f32>()
        .map(|v| v.into_iter().map(f64::from).collect())
        .map_err(|e| McmcError::Readback(format!("{e:?}")))
}

fn check(rbm: &Rbm, base: &BaseRateRbm, chains: usize) -> Result<(), McmcError> {
    if base.n_visible() != rbm.n_visible() {
        return Err(McmcError::invalid(
            "rbm ais",
            "base",
            format!(
                "the base-rate RBM has {} visible units, the RBM {}",
                base.n_visible(),
                rbm.n_visible()
            ),
        ));
    }
    if chains < 2 {
        return Err(McmcError::invalid(
            "rbm ais",
            "chains",
            format!("need >= 2 chains for a standard error, got {chains}"),
        ));
    }
    Ok(())
}

/// Forward AIS from `base` to `rbm` with `chains` chains over `temperatures`: an estimate of
/// `log Z` of `rbm` (a stochastic lower bound). `progress(k)` is called after temperature `k`.
pub fn ais_rbm(
    rbm: &Rbm,
    base: &BaseRateRbm,
    chains: usize,
    temperatures: &Temperatures,
    rng: &mut SeededRng,
    progress: impl FnMut(usize),
) -> Result<AisEstimate, McmcError> {
    check(rbm, base, chains)?;
    let start = base.sample(chains, rng);
    run(
        rbm,
        base,
        start,
        temperatures,
        Direction::Forward,
        rng,
        progress,
    )
}

/// Reverse AIS from draws `samples` (`[M, n_v]`, binary) of `rbm` back to `base`: a stochastic
/// upper bound on `log Z` of `rbm` when the draws are exact.
pub fn reverse_ais_rbm(
    rbm: &Rbm,
    base: &BaseRateRbm,
    samples: Tensor<2>,
    temperatures: &Temperatures,
    rng: &mut SeededRng,
    progress: impl FnMut(usize),
) -> Result<AisEstimate, McmcError> {
    let [chains, nv] = samples.dims();
    check(rbm, base, chains)?;
    if nv != rbm.n_visible() {
        return Err(McmcError::invalid(
            "rbm ais",
            "samples",
            format!(
                "{nv} visible units per draw, the RBM has {}",
                rbm.n_visible()
            ),
        ));
    }
    run(
        rbm,
        base,
        samples.inner(),
        temperatures,
        Direction::Reverse,
        rng,
        progress,
    )
}

fn run(
    rbm: &Rbm,
    base: &BaseRateRbm,
    start: Tensor<2>,
    temperatures: &Temperatures,
    direction: Direction,
    rng: &mut SeededRng,
    mut progress: impl FnMut(usize),
) -> Result<AisEstimate, McmcError> {
    use burn::module::Module;
    let rbm = rbm.valid();
    let betas = temperatures.betas();
    let k = betas.len() - 1;
    let [chains, _] = start.dims();
    let device = start.device();
    let bias_a = base.bias_tensor();
    let bias_b = rbm.visible_bias.val();
    let mut v = start;
    let mut lw = Tensor::<1>::zeros([chains], &device);
    for step in 1..=k {
        let (kw, kb) = match direction {
            Direction::Forward => (step, step),
            Direction::Reverse => (k + 1 - step, k - step),
        };
        let a = rbm.hidden_input(v.clone());
        // f_k(v) - f_{k-1}(v) = (beta_k - beta_{k-1}) v^T (b - b_A)
        //                       + sum_j [softplus(beta_k a_j) - softplus(beta_{k-1} a_j)]
        let vb = (v * (bias_b.clone() - bias_a.clone()).unsqueeze::<2>())
            .sum_dim(1)
            .reshape([chains]);
        let (hi, lo) = (betas[kw], betas[kw - 1]);
        let sp = (softplus(a.clone().mul_scalar(hi), 1.0)
            - softplus(a.clone().mul_scalar(lo), 1.0))
        .sum_dim(1)
        .reshape([chains]);
        let incr = vb * (hi - lo) + sp;
        lw = match direction {
            Direction::Forward => lw + incr,
            Direction::Reverse => lw - incr,
        };
        progress(step);
        if step == k {
            break;
        }
        v = annealed_sweep_from_input(&rbm, &bias_a, betas[kb], a, rng);
    }
    // At beta = 0 the n_h hidden units are free: Z_0 = Z_A 2^{n_h}.
    let base_log_z = base.log_z() + rbm.n_hidden() as f64 * std::f64::consts::LN_2;
    AisEstimate::from_log_weights(host(lw)?, base_log_z, direction, k)
}
