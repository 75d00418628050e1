//! Block Gibbs sampling of tag sequences: an MCMC alternative to the exact FFBS draw.
//!
//! Given its neighbours, a tag's conditional under the chain energy involves only its own unary
//! score and the two adjacent transitions:
//!
//! ```text
//! p(y_t = j | y_(t-1), y_(t+1), x)  ∝  exp( u_t[j] + T[y_(t-1), j] + T[j, y_(t+1)] )
//! ```
//!
//! (with `start[j]` in place of the left transition at `t = 0` and `end[j]` in place of the right
//! one at `t = n - 1`). Tags at even positions are conditionally independent given the odd ones
//! and vice versa, so one sweep updates the even block, then the odd block: each block is an
//! exact draw from its conditional, and the sweep leaves `p(y | x)` invariant. Started at the
//! gold tags, `k` sweeps give the negatives of CD-k.

use ebm_core::SeededRng;

use crate::crf::{Transitions, sample_log_weights};

/// The conditional log-weights of `y_t` given its neighbours in `y` (see the module docs).
pub fn conditional(tr: &Transitions, unary: &[f64], y: &[usize], t: usize) -> Vec<f64> {
    let (k, n) = (tr.k, y.len());
    (0..k)
        .map(|j| {
            let left = if t == 0 {
                tr.start[j]
            } else {
                tr.trans[y[t - 1] * k + j]
            };
            let right = if t + 1 == n {
                tr.end[j]
            } else {
                tr.trans[j * k + y[t + 1]]
            };
            unary[t * k + j] + left + right
        })
        .collect()
}

/// One block Gibbs sweep in place: every even position, then every odd one.
pub fn gibbs_sweep(tr: &Transitions, unary: &[f64], y: &mut [usize], rng: &mut SeededRng) {
    for parity in [0, 1] {
        for t in (parity..y.len()).step_by(2) {
            let w = conditional(tr, unary, y, t);
            y[t] = sample_log_weights(&w, rng);
        }
    }
}

/// `sweeps` block Gibbs sweeps from `init`; returns the final state.
pub fn gibbs_chain(
    tr: &Transitions,
    unary: &[f64],
    init: &[usize],
    sweeps: usize,
    rng: &mut SeededRng,
) -> Vec<usize> {
    let mut y = init.to_vec();
    for _ in 0..sweeps {
        gibbs_sweep(tr, unary, &mut y, rng);
    }
    y
}
