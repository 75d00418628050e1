//! Helpers shared by the chain-energy test files: random chains and brute-force enumeration.

use ebm_core::SeededRng;
use ebm_tag::crf::{Transitions, logsumexp_f64};

/// Every tag sequence of length `n` over `k` tags.
pub fn all_paths(n: usize, k: usize) -> Vec<Vec<usize>> {
    let mut out = vec![vec![]];
    for _ in 0..n {
        out = out
            .into_iter()
            .flat_map(|p| {
                (0..k).map(move |j| {
                    let mut q = p.clone();
                    q.push(j);
                    q
                })
            })
            .collect();
    }
    out
}

/// Transition, start and end scores with entries `N(0, scale^2)`.
pub fn random_chain(k: usize, rng: &mut SeededRng, scale: f64) -> Transitions {
    let mut v = |n: usize| -> Vec<f64> { (0..n).map(|_| scale * rng.normal_f64()).collect() };
    Transitions {
        k,
        trans: v(k * k),
        start: v(k),
        end: v(k),
    }
}

/// Unary scores `[n, k]` with entries `N(0, scale^2)`.
pub fn random_unary(n: usize, k: usize, rng: &mut SeededRng, scale: f64) -> Vec<f64> {
    (0..n * k).map(|_| scale * rng.normal_f64()).collect()
}

/// `log Z` by summing over all `k^n` paths.
pub fn brute_log_z(tr: &Transitions, u: &[f64], n: usize) -> f64 {
    let scores: Vec<f64> = all_paths(n, tr.k).iter().map(|y| tr.score(u, y)).collect();
    logsumexp_f64(&scores)
}
