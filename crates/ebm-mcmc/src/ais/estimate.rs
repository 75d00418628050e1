//! The estimate of `log Z` from the chains' log weights: mean weight, standard error, ESS.

use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

use crate::error::{McmcError, Phase};

/// Forward AIS (a stochastic lower bound) or reverse AIS from target draws (an upper bound).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Direction {
    /// From the base to the target.
    Forward,
    /// From the target back to the base.
    Reverse,
}

/// An AIS estimate of `log Z`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AisEstimate {
    /// The estimate of `log Z` of the target.
    pub log_z: f64,
    /// Its standard error (delta method on the mean weight).
    pub se: f64,
    /// The effective sample size of the weights, `(sum w)^2 / sum w^2`, between 1 and `chains`.
    pub ess: f64,
    /// Chains `M`.
    pub chains: usize,
    /// Steps `K` of the schedule.
    pub steps: usize,
    /// `log Z_0` of the base.
    pub base_log_z: f64,
    /// Forward (lower bound) or reverse (upper bound).
    pub direction: Direction,
    /// The mean acceptance probability of the transitions (NaN for Gibbs transitions).
    pub mean_accept: f64,
    /// The pilot's adapted step sizes at its ladder `(beta, eps)` (empty without adaptation).
    pub step_sizes: Vec<(f64, f64)>,
    /// Every chain's log weight.
    pub log_weights: Vec<f64>,
}

impl AisEstimate {
    /// The estimate from every chain's final log weight: `log Z = log Z_0 + log mean w` forward,
    /// `log Z_0 - log mean w` in reverse, with the standard error and ESS of
    /// [`log_mean_exp_stats`]. `mean_accept` is NaN and `step_sizes` empty until set.
    pub fn from_log_weights(
        log_weights: Vec<f64>,
        base_log_z: f64,
        direction: Direction,
        steps: usize,
    ) -> Result<Self, McmcError> {
        let (lme, se, ess) = log_mean_exp_stats(&log_weights)?;
        Ok(Self {
            log_z: match direction {
                Direction::Forward => base_log_z + lme,
                Direction::Reverse => base_log_z - lme,
            },
            se,
            ess,
            chains: log_weights.len(),
            steps,
            base_log_z,
            direction,
            mean_accept: f64::NAN,
            step_sizes: Vec::new(),
            log_weights,
        })
    }
}

/// Summary of log weights: `(log mean w, se of log mean w, ESS)`, computed stably.
///
/// Fails if a weight is NaN or every weight is zero.
pub fn log_mean_exp_stats(log_weights: &[f64]) -> Result<(f64, f64, f64), McmcError> {
    let n = log_weights.len();
    if let Some(i) = log_weights
        .iter()
        .position(|w| w.is_nan() || *w == f64::INFINITY)
    {
        return Err(McmcError::NonFinite {
            phase: Phase::Sampling,
            step: 0,
            chains: log_weights.iter().filter(|w| w.is_nan()).count().max(1),
            total: n,
            first_chain: i,
        });
    }
    let m = log_weights
        .iter()
        .copied()
        .fold(f64::NEG_INFINITY, f64::max);
    if n == 0 || m == f64::NEG_INFINITY {
        return Err(McmcError::invalid(
            "ais",
            "log weights",
            "every importance weight is zero",
        ));
    }
    let w: Vec<f64> = log_weights.iter().map(|lw| (lw - m).exp()).collect();
    let sum: f64 = w.iter().sum();
    let mean = sum / n as f64;
    let var = if n > 1 {
        w.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64
    } else {
        f64::NAN
    };
    let se = (var / n as f64).sqrt() / mean;
    let ess = sum * sum / w.iter().map(|x| x * x).sum::<f64>();
    Ok((m + mean.ln(), se, ess))
}

pub(super) fn host(t: Tensor<1>) -> Result<Vec<f64>, McmcError> {
    t.into_data()
        .try_to_vec::<f32>()
        .map(|v| v.into_iter().map(f64::from).collect())
        .map_err(|e| McmcError::Readback(format!("{e:?}")))
}
