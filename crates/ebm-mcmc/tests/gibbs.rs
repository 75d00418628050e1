//! Block Gibbs sampling of a tiny RBM against its exact distribution over the visible states, and
//! deliberately wrong sweeps (never moving, a missing hidden bias, a negated visible input) that
//! the same check rejects.
//!
//! The check: 4,000 independent chains from uniform noise, 30 sweeps each, the final visible
//! states counted over the 16 states and compared with `p(v) = exp(-F(v)) / Z` (exact `log Z` by
//! enumeration) by Pearson's statistic. With independent draws from `p` it is chi-square with 15
//! degrees of freedom: mean 15, sd `sqrt(30) = 5.5`, and `P(X > 50) = 1.2e-5` (the regularised
//! upper incomplete gamma `Q(7.5, 25)`), the false-alarm rate of the threshold 50. The chains'
//! law after 30 sweeps is not exactly `p`: the 16 x 16 visible-to-visible transition matrix of a
//! sweep, `P(v' | v) = sum_h p(h | v) p(v' | h)`, is computed here exactly on the host, and the
//! law `u P^30` from the uniform start `u` gives the statistic's non-centrality
//! `lambda = N sum_v (law(v) - p(v))^2 / p(v)`, which the test requires below 0.1 (it shifts the
//! mean of X by `lambda`, negligible against the margin of 35 = 6 sd). The same host computation
//! with each bug predicts the wrong sweeps' statistic, `15 + lambda`.

use ebm_core::burn::tensor::activation::sigmoid;
use ebm_core::burn::tensor::{Device, Tensor};
use ebm_core::rbm::log_z_exact;
use ebm_core::{Rbm, RbmParams, SeededRng};
use ebm_mcmc::{BlockGibbs, bernoulli};

/// Which sweep the chains take.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Sweep {
    /// The library's block Gibbs.
    Exact,
    /// Never moves.
    Frozen,
    /// `h ~ Bernoulli(sigmoid(v W))`: the hidden bias `c` left out.
    NoHiddenBias,
    /// `v ~ Bernoulli(sigmoid(-(b + h W^T)))`: the visible input negated.
    NegatedVisibleInput,
}

const NV: usize = 4;
const NH: usize = 3;
const CHAINS: usize = 4000;
const SWEEPS: usize = 30;

fn tiny_rbm() -> RbmParams {
    let mut rng = SeededRng::new(21);
    let mut draw = |n: usize| (0..n).map(|_| rng.normal_f64()).collect::<Vec<_>>();
    RbmParams {
        n_visible: NV,
        n_hidden: NH,
        weights: draw(NV * NH),
        visible_bias: draw(NV),
        hidden_bias: draw(NH),
    }
}

/// `SWEEPS` sweeps of `sweep` from `v`, in tensors.
fn run(sweep: Sweep, rbm: &Rbm, v: Tensor<2>, rng: &mut SeededRng) -> Tensor<2> {
    let one = |v: Tensor<2>, rng: &mut SeededRng| match sweep {
        Sweep::Exact => unreachable!("the library runs its own sweeps"),
        Sweep::Frozen => v,
        Sweep::NoHiddenBias => {
            let c = rbm.hidden_bias.val().unsqueeze::<2>();
            let h = bernoulli(sigmoid(rbm.hidden_input(v) - c), rng);
            BlockGibbs::sample_visible(rbm, h, rng).0
        }
        Sweep::NegatedVisibleInput => {
            let (h, _) = BlockGibbs::sample_hidden(rbm, v, rng);
            bernoulli(sigmoid(rbm.visible_input(h).neg()), rng)
        }
    };
    if sweep == Sweep::Exact {
        return BlockGibbs::new(SWEEPS).unwrap().run(rbm, v, rng).visible;
    }
    let mut v = v;
    for _ in 0..SWEEPS {
        v = one(v, rng);
    }
    v
}

fn bits(s: usize, m: usize) -> Vec<f64> {
    (0..m).map(|i| ((s >> i) & 1) as f64).collect()
}

fn sigmoid_f64(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// `prod_i p_i^{x_i} (1 - p_i)^{1 - x_i}`.
fn bernoulli_prob(p: &[f64], x: &[f64]) -> f64 {
    p.iter()
        .zip(x)
        .map(|(p, x)| if *x > 0.5 { *p } else { 1.0 - p })
        .product()
}

/// The exact transition matrix `P[v][v']` of one sweep (with its bug) over the 16 visible states.
fn transition_matrix(p: &RbmParams, sweep: Sweep) -> Vec<Vec<f64>> {
    let states = 1 << NV;
    if sweep == Sweep::Frozen {
        return (0..states)
            .map(|s| (0..states).map(|t| f64::from(u8::from(s == t))).collect())
            .collect();
    }
    let hidden = |v: &[f64]| -> Vec<f64> {
        (0..NH)
            .map(|j| {
                let c = if sweep == Sweep::NoHiddenBias {
                    0.0
                } else {
                    p.hidden_bias[j]
                };
                sigmoid_f64(c + (0..NV).map(|i| v[i] * p.weights[i * NH + j]).sum::<f64>())
            })
            .collect()
    };
    let visible = |h: &[f64]| -> Vec<f64> {
        (0..NV)
            .map(|i| {
                let a =
                    p.visible_bias[i] + (0..NH).map(|j| h[j] * p.weights[i * NH + j]).sum::<f64>();
                sigmoid_f64(if sweep == Sweep::NegatedVisibleInput {
                    -a
                } else {
                    a
                })
            })
            .collect()
    };
    (0..states)
        .map(|s| {
            let ph = hidden(&bits(s, NV));
            let mut row = vec![0.0; states];
            for hs in 0..1 << NH {
                let h = bits(hs, NH);
                let w = bernoulli_prob(&ph, &h);
                let pv = visible(&h);
                for (t, r) in row.iter_mut().enumerate() {
                    *r += w * bernoulli_prob(&pv, &bits(t, NV));
                }
            }
            row
        })
        .collect()
}

/// The exact law of the chains after `SWEEPS` sweeps from the uniform start.
fn law_after_sweeps(p: &RbmParams, sweep: Sweep) -> Vec<f64> {
    let m = transition_matrix(p, sweep);
    let states = 1 << NV;
    let mut law = vec![1.0 / states as f64; states];
    for _ in 0..SWEEPS {
        law = (0..states)
            .map(|t| (0..states).map(|s| law[s] * m[s][t]).sum())
            .collect();
    }
    law
}

/// Pearson's chi-square of the chains' final states against the exact `p(v)`, and the predicted
/// value `15 + lambda` from the exact law of the sweep.
fn chi_square(sweep: Sweep, seed: u64) -> (f64, f64) {
    let device = Device::flex();
    let p = tiny_rbm();
    let rbm = Rbm::from_params(&p, &device).unwrap();
    let log_z = log_z_exact(&rbm).unwrap();
    let mut rng = SeededRng::new(seed);
    let start = bernoulli(Tensor::full([CHAINS, NV], 0.5, &device), &mut rng);
    let v = run(sweep, &rbm, start, &mut rng)
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();
    let mut counts = [0usize; 1 << NV];
    for row in v.chunks(NV) {
        let s: usize = row
            .iter()
            .enumerate()
            .map(|(i, &x)| (x as usize) << i)
            .sum();
        counts[s] += 1;
    }
    let law = law_after_sweeps(&p, sweep);
    let (mut x2, mut lambda) = (0.0, 0.0);
    for (s, &c) in counts.iter().enumerate() {
        let exact = (-p.free_energy(&bits(s, NV)) - log_z).exp();
        let expected = CHAINS as f64 * exact;
        x2 += (c as f64 - expected).powi(2) / expected;
        lambda += CHAINS as f64 * (law[s] - exact).powi(2) / exact;
    }
    println!(
        "{sweep:?}: chi-square {x2:.2}, predicted {:.2} (non-centrality {lambda:.2e}), counts {counts:?}",
        15.0 + lambda
    );
    (x2, 15.0 + lambda)
}

#[test]
fn block_gibbs_draws_follow_the_exact_visible_distribution() {
    let (x2, predicted) = chi_square(Sweep::Exact, 22);
    println!("chi-square over 16 visible states: {x2:.2} (15 degrees of freedom)");
    assert!(
        predicted - 15.0 < 0.1,
        "burn-in bias: non-centrality {}",
        predicted - 15.0
    );
    assert!(x2 < 50.0, "chi-square {x2}");
    assert!(BlockGibbs::new(0).is_err());
}

#[test]
fn the_chi_square_check_rejects_wrong_sweeps() {
    for (i, sweep) in [
        Sweep::Frozen,
        Sweep::NoHiddenBias,
        Sweep::NegatedVisibleInput,
    ]
    .into_iter()
    .enumerate()
    {
        let (x2, predicted) = chi_square(sweep, 23 + i as u64);
        assert!(x2 > 50.0, "{sweep:?} went unnoticed: chi-square {x2}");
        // The rejection is no accident: the sweep's exact law predicts a non-central chi-square
        // (mean 15 + lambda, sd sqrt(2 (15 + 2 lambda))) at least 4 sd above the threshold, so the
        // check rejects it with probability above 1 - 3e-5.
        let lambda = predicted - 15.0;
        let sd = (2.0 * (15.0 + 2.0 * lambda)).sqrt();
        assert!(
            predicted > 50.0 + 4.0 * sd,
            "{sweep:?}: predicted {predicted}"
        );
    }
}
