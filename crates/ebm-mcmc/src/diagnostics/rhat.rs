//! Potential scale reduction: the classic R-hat, the rank-normalised split R-hat, and the
//! splitting and rank normalisation they share with the bulk ESS.

use super::normal::normal_quantile;
use super::{mean, median};

/// Classic (non-split, non-normalised) potential scale reduction of `m` chains of `n` draws:
///
/// ```text
/// W = (1/m) sum_j s_j^2,   B = n/(m-1) sum_j (mean_j - mean)^2,
/// var+ = (n-1)/n W + B/n,   R = sqrt(var+ / W)
/// ```
///
/// Returns `NaN` for fewer than two chains, fewer than two draws, or zero within-chain variance.
pub fn rhat_basic(chains: &[Vec<f64>]) -> f64 {
    let m = chains.len();
    if m < 2 {
        return f64::NAN;
    }
    let n = chains[0].len();
    if n < 2 || chains.iter().any(|c| c.len() != n) {
        return f64::NAN;
    }
    let means: Vec<f64> = chains.iter().map(|c| mean(c)).collect();
    let grand = mean(&means);
    let w = chains
        .iter()
        .zip(&means)
        .map(|(c, &mu)| c.iter().map(|x| (x - mu).powi(2)).sum::<f64>() / (n as f64 - 1.0))
        .sum::<f64>()
        / m as f64;
    let b = n as f64 / (m as f64 - 1.0) * means.iter().map(|mu| (mu - grand).powi(2)).sum::<f64>();
    if w <= 0.0 {
        return f64::NAN;
    }
    let var_plus = (n as f64 - 1.0) / n as f64 * w + b / n as f64;
    (var_plus / w).sqrt()
}

/// Rank-normalised split R-hat (Vehtari et al. 2021):
///
/// ```text
/// R = max( R_basic(z(split(x))), R_basic(z(split(|x - median(x)|))) )
/// ```
///
/// the larger of the bulk value and the folded (tail, scale) value. Values near 1 indicate that
/// the chains agree; above about 1.01 (strict) or 1.1 (lenient) they do not. Works with a single
/// chain (it is split in two). Returns `NaN` when there are fewer than 4 draws per chain.
pub fn split_rhat(chains: &[Vec<f64>]) -> f64 {
    let Some(split) = split_chains(chains) else {
        return f64::NAN;
    };
    let bulk = rhat_basic(&rank_normalise(&split));
    let all: Vec<f64> = split.iter().flatten().copied().collect();
    let med = median(&all);
    let folded: Vec<Vec<f64>> = split
        .iter()
        .map(|c| c.iter().map(|x| (x - med).abs()).collect())
        .collect();
    let tail = rhat_basic(&rank_normalise(&folded));
    bulk.max(tail)
}

/// Splits every chain into its first and second half (dropping the middle draw of an odd chain).
/// `None` if there are no chains, chains of unequal length or fewer than 4 draws per chain.
pub fn split_chains(chains: &[Vec<f64>]) -> Option<Vec<Vec<f64>>> {
    let n = chains.first()?.len();
    if n < 4 || chains.iter().any(|c| c.len() != n) {
        return None;
    }
    let half = n / 2;
    let mut out = Vec::with_capacity(2 * chains.len());
    for c in chains {
        out.push(c[..half].to_vec());
        out.push(c[n - half..].to_vec());
    }
    Some(out)
}

/// Rank normalisation: each value becomes `Phi^{-1}((r - 3/8) / (S + 1/4))` with `r` its
/// (1-based, tie-averaged) rank among all `S` pooled values. The layout is kept.
pub fn rank_normalise(chains: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let mut pooled: Vec<(f64, usize)> = chains
        .iter()
        .flatten()
        .copied()
        .enumerate()
        .map(|(i, x)| (x, i))
        .collect();
    let s = pooled.len();
    pooled.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut ranks = vec![0.0; s];
    let mut i = 0;
    while i < s {
        let mut j = i;
        while j + 1 < s && pooled[j + 1].0 == pooled[i].0 {
            j += 1;
        }
        // Positions i..=j (0-based) tie: average 1-based rank.
        let r = (i + j) as f64 / 2.0 + 1.0;
        for p in &pooled[i..=j] {
            ranks[p.1] = r;
        }
        i = j + 1;
    }
    let sf = s as f64;
    let mut k = 0;
    chains
        .iter()
        .map(|c| {
            c.iter()
                .map(|_| {
                    let z = normal_quantile((ranks[k] - 0.375) / (sf + 0.25));
                    k += 1;
                    z
                })
                .collect()
        })
        .collect()
}
