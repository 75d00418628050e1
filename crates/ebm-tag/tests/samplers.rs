//! FFBS and block Gibbs against the exact marginals of a small random chain, and deliberately
//! wrong samplers (FFBS with the transition matrix transposed, Gibbs with a transposed right
//! transition in its conditional, Gibbs that never moves) that the same check rejects.
//!
//! The check: from `N` independent draws, the frequency of every single-site event `y_t = j` and
//! every adjacent-pair event `(y_t, y_(t+1)) = (i, j)` (15 + 36 events for `n = 5`, `k = 3`)
//! against its exact probability `p` by enumeration. A frequency of `N` independent draws has the
//! binomial sd `sqrt(p (1 - p) / N)`; an event passes within `4 sd + 1/N` (the `1/N` for `p` near
//! 0 or 1, where the normal approximation fails): a two-sided false-alarm rate of 6.3e-5 per
//! event, at most 3.2e-3 over the 51 events of one check (union bound), seeded.

mod common;

use common::{all_paths, brute_log_z, random_chain, random_unary};
use ebm_core::SeededRng;
use ebm_tag::crf::{Transitions, sample_log_weights};
use ebm_tag::gibbs::{conditional, gibbs_chain};

const N: usize = 5;
const K: usize = 3;

/// Exact single-site and adjacent-pair marginals of a law over all `k^n` paths (`law[s]` for the
/// path `all_paths(n, k)[s]`).
fn marginals_of(law: &[f64], n: usize, k: usize) -> (Vec<f64>, Vec<f64>) {
    let mut single = vec![0.0; n * k];
    let mut pair = vec![0.0; (n - 1) * k * k];
    for (y, p) in all_paths(n, k).iter().zip(law) {
        for t in 0..n {
            single[t * k + y[t]] += p;
            if t + 1 < n {
                pair[(t * k + y[t]) * k + y[t + 1]] += p;
            }
        }
    }
    (single, pair)
}

/// The exact law `p(y | x)` over all paths.
fn exact_law(tr: &Transitions, u: &[f64], n: usize) -> Vec<f64> {
    let lz = brute_log_z(tr, u, n);
    all_paths(n, tr.k)
        .iter()
        .map(|y| (tr.score(u, y) - lz).exp())
        .collect()
}

/// What the frequency check saw.
#[derive(Debug)]
struct FrequencyReport {
    /// Events outside `4 sd + 1/N`.
    failures: usize,
    /// The largest `|freq - p| / sd`.
    worst_z: f64,
}

/// The frequency check of the module docs.
fn frequency_check(samples: &[Vec<usize>], tr: &Transitions, u: &[f64]) -> FrequencyReport {
    let (n, k) = (u.len() / tr.k, tr.k);
    let big_n = samples.len() as f64;
    let (single, pair) = marginals_of(&exact_law(tr, u, n), n, k);
    let mut f_single = vec![0.0; n * k];
    let mut f_pair = vec![0.0; (n - 1) * k * k];
    for y in samples {
        for t in 0..n {
            f_single[t * k + y[t]] += 1.0 / big_n;
            if t + 1 < n {
                f_pair[(t * k + y[t]) * k + y[t + 1]] += 1.0 / big_n;
            }
        }
    }
    let mut report = FrequencyReport {
        failures: 0,
        worst_z: 0.0,
    };
    for (exact, freq) in [(&single, &f_single), (&pair, &f_pair)] {
        for (p, f) in exact.iter().zip(freq.iter()) {
            let sd = (p * (1.0 - p) / big_n).sqrt();
            if (f - p).abs() > 4.0 * sd + 1.0 / big_n {
                report.failures += 1;
            }
            report.worst_z = report.worst_z.max((f - p).abs() / sd);
        }
    }
    report
}

fn setup(seed: u64) -> (SeededRng, Transitions, Vec<f64>) {
    let mut rng = SeededRng::new(seed);
    let tr = random_chain(K, &mut rng, 1.0);
    let u = random_unary(N, K, &mut rng, 1.0);
    (rng, tr, u)
}

/// FFBS copied from the library, with a switch for the bug: the backward step reads
/// `T[y_(t+1), i]` instead of `T[i, y_(t+1)]`.
fn ffbs_copy(tr: &Transitions, unary: &[f64], transposed: bool, rng: &mut SeededRng) -> Vec<usize> {
    let (k, n) = (tr.k, unary.len() / tr.k);
    let alpha = tr.forward(unary);
    let mut y = vec![0usize; n];
    let last: Vec<f64> = (0..k).map(|j| alpha[(n - 1) * k + j] + tr.end[j]).collect();
    y[n - 1] = sample_log_weights(&last, rng);
    let mut w = vec![0.0; k];
    for t in (0..n - 1).rev() {
        for (i, wi) in w.iter_mut().enumerate() {
            let edge = if transposed {
                y[t + 1] * k + i
            } else {
                i * k + y[t + 1]
            };
            *wi = alpha[t * k + i] + tr.trans[edge];
        }
        y[t] = sample_log_weights(&w, rng);
    }
    y
}

#[test]
fn ffbs_sample_frequencies_match_exact_marginals_and_a_transposed_ffbs_is_rejected() {
    let (mut rng, tr, u) = setup(6);
    let samples: Vec<Vec<usize>> = (0..20_000).map(|_| tr.sample_ffbs(&u, &mut rng)).collect();
    let good = frequency_check(&samples, &tr, &u);
    println!("ffbs: {good:?}");
    assert_eq!(good.failures, 0, "ffbs: {good:?}");
    // The copy without its bug is the library's FFBS, draw for draw.
    let mut a = SeededRng::new(60);
    let mut b = SeededRng::new(60);
    for _ in 0..100 {
        assert_eq!(
            tr.sample_ffbs(&u, &mut a),
            ffbs_copy(&tr, &u, false, &mut b)
        );
    }
    let wrong: Vec<Vec<usize>> = (0..20_000)
        .map(|_| ffbs_copy(&tr, &u, true, &mut rng))
        .collect();
    let bad = frequency_check(&wrong, &tr, &u);
    println!("transposed ffbs: {bad:?}");
    assert!(bad.failures > 0, "transposed FFBS went unnoticed: {bad:?}");
}

/// The library's conditional, or the bug: the right neighbour's transition read as
/// `T[y_(t+1), j]` instead of `T[j, y_(t+1)]`.
fn conditional_copy(tr: &Transitions, u: &[f64], y: &[usize], t: usize, bug: bool) -> Vec<f64> {
    let mut w = conditional(tr, u, y, t);
    if bug && t + 1 < y.len() {
        let k = tr.k;
        for (j, wj) in w.iter_mut().enumerate() {
            *wj += tr.trans[y[t + 1] * k + j] - tr.trans[j * k + y[t + 1]];
        }
    }
    w
}

/// `sweeps` block Gibbs sweeps (even block, then odd) with [`conditional_copy`].
fn gibbs_copy(
    tr: &Transitions,
    u: &[f64],
    init: &[usize],
    sweeps: usize,
    bug: bool,
    rng: &mut SeededRng,
) -> Vec<usize> {
    let mut y = init.to_vec();
    for _ in 0..sweeps {
        for parity in [0, 1] {
            for t in (parity..y.len()).step_by(2) {
                y[t] = sample_log_weights(&conditional_copy(tr, u, &y, t, bug), rng);
            }
        }
    }
    y
}

fn softmax(w: &[f64]) -> Vec<f64> {
    let m = w.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = w.iter().map(|x| (x - m).exp()).collect();
    let s: f64 = e.iter().sum();
    e.into_iter().map(|x| x / s).collect()
}

/// The exact law after `sweeps` sweeps from the uniform start: the `k^n x k^n` transition matrix
/// of one sweep (the even block drawn given the old odd tags, then the odd block given the new
/// even tags), applied `sweeps` times.
fn gibbs_law(tr: &Transitions, u: &[f64], sweeps: usize, bug: bool) -> Vec<f64> {
    let (n, k) = (u.len() / tr.k, tr.k);
    let paths = all_paths(n, k);
    let matrix: Vec<Vec<f64>> = paths
        .iter()
        .map(|y| {
            paths
                .iter()
                .map(|y2| {
                    (0..n)
                        .map(|t| {
                            let given = if t % 2 == 0 { y } else { y2 };
                            softmax(&conditional_copy(tr, u, given, t, bug))[y2[t]]
                        })
                        .product()
                })
                .collect()
        })
        .collect();
    let mut law = vec![1.0 / paths.len() as f64; paths.len()];
    for _ in 0..sweeps {
        law = (0..paths.len())
            .map(|b| (0..paths.len()).map(|a| law[a] * matrix[a][b]).sum())
            .collect();
    }
    law
}

/// The largest burn-in bias of an event's probability, in binomial sds of `draws` draws.
fn worst_bias_in_sd(law: &[f64], exact: &[f64], n: usize, k: usize, draws: usize) -> f64 {
    let (s1, p1) = marginals_of(law, n, k);
    let (s0, p0) = marginals_of(exact, n, k);
    s1.iter()
        .chain(&p1)
        .zip(s0.iter().chain(&p0))
        .map(|(a, p)| (a - p).abs() / (p * (1.0 - p) / draws as f64).sqrt())
        .fold(0.0, f64::max)
}

/// `draws` independent chains of `sweeps` sweeps from uniform random starts; the final state of
/// each is one draw.
fn gibbs_draws(
    tr: &Transitions,
    u: &[f64],
    sweeps: usize,
    bug: bool,
    rng: &mut SeededRng,
) -> Vec<Vec<usize>> {
    (0..8_000)
        .map(|_| {
            let init: Vec<usize> = (0..N)
                .map(|_| (rng.uniform_f64() * K as f64) as usize % K)
                .collect();
            if bug {
                gibbs_copy(tr, u, &init, sweeps, true, rng)
            } else {
                gibbs_chain(tr, u, &init, sweeps, rng)
            }
        })
        .collect()
}

#[test]
fn gibbs_sample_frequencies_match_exact_marginals_and_wrong_gibbs_is_rejected() {
    // The final states of independent chains are independent draws, so the binomial error
    // applies. Their law after 40 sweeps from the uniform start is not exactly p(y | x), but
    // computed exactly (243 x 243 transition matrix) its event probabilities are within a
    // hundredth of a binomial sd of the exact ones: the burn-in bias cannot move the check.
    let (mut rng, tr, u) = setup(7);
    let exact = exact_law(&tr, &u, N);
    let bias = worst_bias_in_sd(&gibbs_law(&tr, &u, 40, false), &exact, N, K, 8_000);
    println!("gibbs: burn-in bias after 40 sweeps at most {bias:.2e} sd");
    assert!(bias < 0.01, "burn-in bias {bias} sd");
    let good = frequency_check(&gibbs_draws(&tr, &u, 40, false, &mut rng), &tr, &u);
    println!("gibbs: {good:?}");
    assert_eq!(good.failures, 0, "gibbs: {good:?}");
    // The copy without its bug is the library's Gibbs, draw for draw.
    let init = [0, 1, 2, 0, 1];
    let (mut a, mut b) = (SeededRng::new(70), SeededRng::new(70));
    for _ in 0..100 {
        assert_eq!(
            gibbs_chain(&tr, &u, &init, 3, &mut a),
            gibbs_copy(&tr, &u, &init, 3, false, &mut b)
        );
    }
    // A wrong conditional: its own exact law is far from p(y | x), and the check sees it.
    let predicted = worst_bias_in_sd(&gibbs_law(&tr, &u, 40, true), &exact, N, K, 8_000);
    let bad = frequency_check(&gibbs_draws(&tr, &u, 40, true, &mut rng), &tr, &u);
    println!(
        "gibbs with a transposed right transition: {bad:?}, predicted worst {predicted:.1} sd"
    );
    assert!(
        bad.failures > 0,
        "wrong conditional went unnoticed: {bad:?}"
    );
    // Chains that never move (zero sweeps) stay uniform.
    let frozen = frequency_check(&gibbs_draws(&tr, &u, 0, false, &mut rng), &tr, &u);
    println!("gibbs that never moves: {frozen:?}");
    assert!(
        frozen.failures > 0,
        "a frozen Gibbs went unnoticed: {frozen:?}"
    );
}
