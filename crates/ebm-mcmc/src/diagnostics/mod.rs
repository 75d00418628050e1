//! Convergence diagnostics on host draws: rank-normalised split R-hat, bulk ESS and the
//! two-sample Kolmogorov-Smirnov test; and the Fréchet distance between two sets of feature
//! vectors, for judging samples against data.
//!
//! Everything here is plain `f64` host code. The draws of one scalar quantity are laid out
//! `[chains][draws]`: `draws[c][i]` is draw `i` of chain `c`; all chains must have the same length.
//!
//! The estimators follow Vehtari, Gelman, Simpson, Carpenter and Bürkner (2021), "Rank-normalization,
//! folding, and localization: an improved R-hat for assessing convergence of MCMC", as implemented in
//! Stan and ArviZ:
//!
//! * every chain is split in two halves (the middle draw of an odd chain is dropped), so that a
//!   trend inside a chain shows up as disagreement between half-chains;
//! * rank normalisation replaces each draw by `z = Phi^{-1}((r - 3/8) / (S + 1/4))`, where `r` is
//!   its rank among all `S` pooled draws (ties get their average rank), which makes the estimators
//!   robust to heavy tails;
//! * the effective sample size uses Geyer's initial monotone sequence on the multi-chain
//!   autocorrelation estimate.
//!
//! Files: [`rhat`] (R-hat, splitting, rank normalisation), [`ess`] (effective sample size),
//! [`normal`] (the normal quantile), [`ks`] (the Kolmogorov-Smirnov test), [`frechet`] (the
//! Fréchet distance of Gaussian fits).

pub mod ess;
pub mod frechet;
pub mod ks;
pub mod normal;
pub mod rhat;
#[cfg(test)]
mod tests;

pub use ess::{ess_basic, ess_bulk};
pub use frechet::{GaussianFit, frechet_distance};
pub use ks::{kolmogorov_q, ks_two_sample};
pub use normal::normal_quantile;
pub use rhat::{rank_normalise, rhat_basic, split_chains, split_rhat};

fn mean(x: &[f64]) -> f64 {
    x.iter().sum::<f64>() / x.len() as f64
}

/// The median of `x` (the mean of the two middle values for an even count).
pub fn median(x: &[f64]) -> f64 {
    let mut v = x.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}
