//! Effective sample size: Stan's multi-chain estimator with Geyer's initial monotone sequence,
//! and the bulk ESS on rank-normalised split chains.

use super::mean;
use super::rhat::{rank_normalise, split_chains};

/// Bulk effective sample size: [`ess_basic`] on the rank-normalised split chains
/// (Vehtari et al. 2021). Returns `NaN` when there are fewer than 4 draws per chain.
pub fn ess_bulk(chains: &[Vec<f64>]) -> f64 {
    match split_chains(chains) {
        Some(split) => ess_basic(&rank_normalise(&split)),
        None => f64::NAN,
    }
}

/// Effective sample size of the mean of `m` chains of `n` draws, as in Stan:
///
/// ```text
/// rho_t = 1 - (W - (1/m) sum_j acov_j(t)) / var+,
/// tau   = -1 + 2 sum_{t=0}^{2K+1} rho_t   (Geyer's initial positive, monotone sequence),
/// ESS   = m n / tau
/// ```
///
/// `acov_j(t)` is the biased autocovariance of chain `j` at lag `t`, `W` the mean within-chain
/// variance and `var+` the pooled variance estimate of [`rhat_basic`](super::rhat::rhat_basic). The pairs
/// `rho_{2k} + rho_{2k+1}` are summed while positive and forced to be non-increasing. `tau` is
/// bounded below by `1 / log10(m n)`, so the ESS can exceed `m n` for antithetic chains, but not by
/// much. The chains are used as given (not split); returns `NaN` for chains shorter than 4 draws
/// or of zero variance.
pub fn ess_basic(chains: &[Vec<f64>]) -> f64 {
    let m = chains.len();
    if m == 0 {
        return f64::NAN;
    }
    let n = chains[0].len();
    if n < 4 || chains.iter().any(|c| c.len() != n) {
        return f64::NAN;
    }
    let Some(acf) = Autocorrelation::new(chains) else {
        return f64::NAN;
    };
    let total = (m * n) as f64;
    let tau_floor = 1.0 / total.log10();
    let Some((mut rho_hat, max_t)) = acf.initial_positive() else {
        // The very first pair was negative (strongly antithetic chains): Stan's formula then
        // gives tau = 0, bounded below by the floor.
        return total / tau_floor;
    };
    make_monotone(&mut rho_hat, max_t);
    let tau = -1.0 + 2.0 * rho_hat[..=max_t].iter().sum::<f64>() + rho_hat[max_t + 1];
    total / tau.max(tau_floor)
}

/// The multi-chain autocorrelation estimate `rho_t = 1 - (W - mean_j acov_j(t)) / var+`.
struct Autocorrelation {
    /// Every chain minus its mean.
    centred: Vec<Vec<f64>>,
    /// Draws per chain.
    n: usize,
    /// The mean within-chain variance `W`.
    mean_var: f64,
    /// The pooled variance estimate `var+`.
    var_plus: f64,
}

impl Autocorrelation {
    /// `None` when `var+` is zero or not finite.
    fn new(chains: &[Vec<f64>]) -> Option<Self> {
        let (m, n) = (chains.len(), chains[0].len());
        let centred: Vec<Vec<f64>> = chains
            .iter()
            .map(|c| {
                let mu = mean(c);
                c.iter().map(|x| x - mu).collect()
            })
            .collect();
        let means: Vec<f64> = chains.iter().map(|c| mean(c)).collect();
        let mut acf = Self {
            centred,
            n,
            mean_var: 0.0,
            var_plus: 0.0,
        };
        let nf = n as f64;
        acf.mean_var = acf.mean_acov(0) * nf / (nf - 1.0);
        acf.var_plus = acf.mean_var * (nf - 1.0) / nf;
        if m > 1 {
            let grand = mean(&means);
            acf.var_plus +=
                means.iter().map(|mu| (mu - grand).powi(2)).sum::<f64>() / (m as f64 - 1.0);
        }
        (acf.var_plus > 0.0 && acf.var_plus.is_finite()).then_some(acf)
    }

    /// The mean over chains of the biased autocovariance at lag `t`, computed on demand (the
    /// sequence usually stops after a few lags, so this is cheaper than a full FFT).
    fn mean_acov(&self, t: usize) -> f64 {
        let n = self.n;
        self.centred
            .iter()
            .map(|c| {
                c[..n - t]
                    .iter()
                    .zip(&c[t..])
                    .map(|(a, b)| a * b)
                    .sum::<f64>()
                    / n as f64
            })
            .sum::<f64>()
            / self.centred.len() as f64
    }

    fn rho(&self, t: usize) -> f64 {
        1.0 - (self.mean_var - self.mean_acov(t)) / self.var_plus
    }

    /// Geyer's initial positive sequence: `rho_hat` with the pairs `rho_{2k} + rho_{2k+1}`
    /// kept while their sum is positive, and the last lag `max_t` of the sum (the truncated
    /// tail improved as Stan does); `None` if the very first pair is already negative.
    fn initial_positive(&self) -> Option<(Vec<f64>, usize)> {
        let n = self.n;
        let mut rho_hat = vec![0.0; n];
        rho_hat[0] = 1.0;
        let mut rho_even = 1.0;
        let mut rho_odd = self.rho(1);
        rho_hat[1] = rho_odd;
        let mut t = 1;
        while t < n - 3 && rho_even + rho_odd > 0.0 {
            rho_even = self.rho(t + 1);
            rho_odd = self.rho(t + 2);
            if rho_even + rho_odd >= 0.0 {
                rho_hat[t + 1] = rho_even;
                rho_hat[t + 2] = rho_odd;
            }
            t += 2;
        }
        if t == 1 {
            return None;
        }
        let max_t = t - 2;
        if rho_even > 0.0 {
            rho_hat[max_t + 1] = rho_even;
        }
        Some((rho_hat, max_t))
    }
}

/// Geyer's initial monotone sequence: the pair sums up to `max_t` made non-increasing.
fn make_monotone(rho_hat: &mut [f64], max_t: usize) {
    let mut t = 1;
    while t + 2 <= max_t {
        if rho_hat[t + 1] + rho_hat[t + 2] > rho_hat[t - 1] + rho_hat[t] {
            rho_hat[t + 1] = (rho_hat[t - 1] + rho_hat[t]) / 2.0;
            rho_hat[t + 2] = rho_hat[t + 1];
        }
        t += 2;
    }
}
