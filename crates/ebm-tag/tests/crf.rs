//! The chain energy's exact algorithms against brute-force enumeration, autodiff against finite
//! differences, and both samplers against exact marginals.

use burn::module::Param;
use burn::tensor::{Device, Gradients, Tensor, TensorData};
use ebm_core::SeededRng;
use ebm_tag::crf::{Crf, PathIndicators, Transitions, logsumexp_f64};
use ebm_tag::gibbs::gibbs_chain;

/// Every tag sequence of length `n` over `k` tags.
fn all_paths(n: usize, k: usize) -> Vec<Vec<usize>> {
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

fn random_chain(k: usize, rng: &mut SeededRng, scale: f64) -> Transitions {
    let mut v = |n: usize| -> Vec<f64> { (0..n).map(|_| scale * rng.normal_f64()).collect() };
    Transitions {
        k,
        trans: v(k * k),
        start: v(k),
        end: v(k),
    }
}

/// The gradient of `t` in `grads`, read back to the host.
fn grad_values<const D: usize>(t: &Tensor<D>, grads: &Gradients) -> Vec<f32> {
    t.grad(grads)
        .unwrap()
        .into_data()
        .try_to_vec::<f32>()
        .unwrap()
}

fn random_unary(n: usize, k: usize, rng: &mut SeededRng, scale: f64) -> Vec<f64> {
    (0..n * k).map(|_| scale * rng.normal_f64()).collect()
}

fn brute_log_z(tr: &Transitions, u: &[f64], n: usize) -> f64 {
    let scores: Vec<f64> = all_paths(n, tr.k).iter().map(|y| tr.score(u, y)).collect();
    logsumexp_f64(&scores)
}

fn crf_from(tr: &Transitions, device: &Device) -> Crf {
    let f = |v: &[f64]| v.iter().map(|&x| x as f32).collect::<Vec<f32>>();
    let k = tr.k;
    Crf {
        transitions: Param::from_tensor(Tensor::from_data(
            TensorData::new(f(&tr.trans), [k, k]),
            device,
        )),
        start: Param::from_tensor(Tensor::from_data(
            TensorData::new(f(&tr.start), [k]),
            device,
        )),
        end: Param::from_tensor(Tensor::from_data(TensorData::new(f(&tr.end), [k]), device)),
    }
}

/// A padded batch `[B, S, K]` of the given sentences' unaries and its mask.
fn padded(
    unaries: &[Vec<f64>],
    lens: &[usize],
    k: usize,
    device: &Device,
) -> (Tensor<3>, Tensor<2>, usize) {
    let s = *lens.iter().max().unwrap();
    let b = lens.len();
    let mut u = vec![0.0f32; b * s * k];
    let mut m = vec![0.0f32; b * s];
    for (i, (un, &len)) in unaries.iter().zip(lens).enumerate() {
        for t in 0..len {
            m[i * s + t] = 1.0;
            for j in 0..k {
                // Padded entries get junk that must not matter.
                u[(i * s + t) * k + j] = un[t * k + j] as f32;
            }
        }
        for t in len..s {
            for j in 0..k {
                u[(i * s + t) * k + j] = 7.0 * (j as f32 + 1.0);
            }
        }
    }
    (
        Tensor::from_data(TensorData::new(u, [b, s, k]), device),
        Tensor::from_data(TensorData::new(m, [b, s]), device),
        s,
    )
}

fn host(t: Tensor<1>) -> Vec<f64> {
    t.into_data()
        .try_to_vec::<f32>()
        .unwrap()
        .into_iter()
        .map(f64::from)
        .collect()
}

#[test]
fn forward_log_z_equals_brute_force_on_host_and_in_batched_tensors() {
    let device = Device::flex();
    let mut rng = SeededRng::new(1);
    for k in [2, 3, 4] {
        let tr = random_chain(k, &mut rng, 1.0);
        let lens = [1usize, 2, 5, 3, 4];
        let unaries: Vec<Vec<f64>> = lens
            .iter()
            .map(|&n| random_unary(n, k, &mut rng, 1.5))
            .collect();
        let (u, m, _) = padded(&unaries, &lens, k, &device);
        let batched = host(crf_from(&tr, &device).log_partition(u, m));
        for ((un, &n), lz) in unaries.iter().zip(&lens).zip(&batched) {
            let exact = brute_log_z(&tr, un, n);
            assert!(
                (tr.log_partition(un) - exact).abs() < 1e-10,
                "host k={k} n={n}"
            );
            // f32 tensors: a few ulps of a value of order 10.
            assert!(
                (lz - exact).abs() < 1e-4 * (1.0 + exact.abs()),
                "batched k={k} n={n}: {lz} vs {exact}"
            );
        }
    }
}

#[test]
fn viterbi_equals_brute_force_argmax() {
    let mut rng = SeededRng::new(2);
    for trial in 0..60 {
        let k = 2 + trial % 3;
        let n = 1 + trial % 6;
        let tr = random_chain(k, &mut rng, 1.0);
        let u = random_unary(n, k, &mut rng, 1.0);
        let best = all_paths(n, k)
            .into_iter()
            .max_by(|a, b| tr.score(&u, a).total_cmp(&tr.score(&u, b)))
            .unwrap();
        assert_eq!(tr.viterbi(&u), best, "trial {trial}");
    }
}

#[test]
fn marginals_sum_to_one_and_equal_brute_force() {
    let mut rng = SeededRng::new(3);
    for (n, k) in [(1, 3), (4, 3), (6, 2), (3, 5)] {
        let tr = random_chain(k, &mut rng, 1.0);
        let u = random_unary(n, k, &mut rng, 1.0);
        let marg = tr.marginals(&u);
        let lz = brute_log_z(&tr, &u, n);
        let mut exact = vec![0.0; n * k];
        for y in all_paths(n, k) {
            let p = (tr.score(&u, &y) - lz).exp();
            for (t, &j) in y.iter().enumerate() {
                exact[t * k + j] += p;
            }
        }
        for t in 0..n {
            let row: f64 = marg[t * k..(t + 1) * k].iter().sum();
            assert!((row - 1.0).abs() < 1e-12, "n={n} t={t}: sum {row}");
        }
        for (a, b) in marg.iter().zip(&exact) {
            assert!((a - b).abs() < 1e-12, "{a} vs {b}");
        }
    }
}

#[test]
fn path_score_in_tensors_equals_host_score() {
    let device = Device::flex();
    let mut rng = SeededRng::new(4);
    let k = 3;
    let tr = random_chain(k, &mut rng, 1.0);
    let lens = [3usize, 1, 4];
    let unaries: Vec<Vec<f64>> = lens
        .iter()
        .map(|&n| random_unary(n, k, &mut rng, 1.0))
        .collect();
    let (u, _, s) = padded(&unaries, &lens, k, &device);
    let paths: Vec<Vec<usize>> = lens
        .iter()
        .map(|&n| (0..n).map(|t| (t * 7 + n) % k).collect())
        .collect();
    let mut flat = vec![0usize; lens.len() * s];
    for (b, p) in paths.iter().enumerate() {
        flat[b * s..b * s + p.len()].copy_from_slice(p);
    }
    let ind = PathIndicators::new(&flat, &lens, s, k);
    let got = host(crf_from(&tr, &device).energy(u, &ind));
    for ((un, p), e) in unaries.iter().zip(&paths).zip(&got) {
        assert!(
            (e - tr.energy(un, p)).abs() < 1e-5,
            "{e} vs {}",
            tr.energy(un, p)
        );
    }
}

#[test]
fn nll_gradient_matches_finite_differences() {
    let device = Device::flex().autodiff();
    let mut rng = SeededRng::new(5);
    let k = 3;
    let tr = random_chain(k, &mut rng, 0.8);
    let lens = [4usize, 2, 3];
    let unaries: Vec<Vec<f64>> = lens
        .iter()
        .map(|&n| random_unary(n, k, &mut rng, 1.0))
        .collect();
    let gold: Vec<Vec<usize>> = lens
        .iter()
        .map(|&n| (0..n).map(|t| (t + n) % k).collect())
        .collect();
    let (u, m, s) = padded(&unaries, &lens, k, &device);
    let u = u.require_grad();
    let mut flat = vec![0usize; lens.len() * s];
    for (b, p) in gold.iter().enumerate() {
        flat[b * s..b * s + p.len()].copy_from_slice(p);
    }
    let ind = PathIndicators::new(&flat, &lens, s, k);
    let crf = crf_from(&tr, &device);
    let loss = crf.nll(u.clone(), m, &ind).sum();
    let grads = loss.backward();
    let g_u = grad_values(&u, &grads);
    let g_t = grad_values(&crf.transitions.val(), &grads);
    let g_s = grad_values(&crf.start.val(), &grads);
    let g_e = grad_values(&crf.end.val(), &grads);

    // The same NLL on the host in f64, as a function of all parameters.
    let nll = |tr: &Transitions, un: &[Vec<f64>]| -> f64 {
        un.iter()
            .zip(&gold)
            .map(|(u, y)| tr.log_partition(u) - tr.score(u, y))
            .sum()
    };
    // Central differences in f64: truncation error O(h^2) ~ 1e-8 and rounding ~ 1e-16/h, both far
    // below the f32 autodiff error (~1e-6 per term); 1e-4 absolute leaves room for f32 only.
    let h = 1e-4;
    let tol = 1e-4;
    let mut checked = 0;
    for (b, &len) in lens.iter().enumerate() {
        for i in 0..len * k {
            let (mut up, mut dn) = (unaries.clone(), unaries.clone());
            up[b][i] += h;
            dn[b][i] -= h;
            let fd = (nll(&tr, &up) - nll(&tr, &dn)) / (2.0 * h);
            let ad = f64::from(g_u[b * s * k + i]);
            assert!(
                (fd - ad).abs() < tol,
                "d/du[{b}][{i}]: fd {fd} autodiff {ad}"
            );
            checked += 1;
        }
        // Padded positions get no gradient.
        for i in len * k..s * k {
            assert!(
                g_u[b * s * k + i].abs() < 1e-7,
                "padding gradient at [{b}][{i}]"
            );
        }
    }
    let fields: [(&str, &[f32]); 3] = [("trans", &g_t), ("start", &g_s), ("end", &g_e)];
    for (name, ad) in fields {
        for (i, &a) in ad.iter().enumerate() {
            let (mut up, mut dn) = (tr.clone(), tr.clone());
            let (pu, pd) = match name {
                "trans" => (&mut up.trans[i], &mut dn.trans[i]),
                "start" => (&mut up.start[i], &mut dn.start[i]),
                _ => (&mut up.end[i], &mut dn.end[i]),
            };
            *pu += h;
            *pd -= h;
            let fd = (nll(&up, &unaries) - nll(&dn, &unaries)) / (2.0 * h);
            assert!(
                (fd - f64::from(a)).abs() < tol,
                "d/d{name}[{i}]: fd {fd} autodiff {a}"
            );
            checked += 1;
        }
    }
    assert_eq!(checked, (4 + 2 + 3) * k + k * k + 2 * k);
}

/// Exact single-site and adjacent-pair marginals by enumeration.
fn exact_marginals(tr: &Transitions, u: &[f64], n: usize) -> (Vec<f64>, Vec<f64>) {
    let k = tr.k;
    let lz = brute_log_z(tr, u, n);
    let mut single = vec![0.0; n * k];
    let mut pair = vec![0.0; (n - 1) * k * k];
    for y in all_paths(n, k) {
        let p = (tr.score(u, &y) - lz).exp();
        for t in 0..n {
            single[t * k + y[t]] += p;
            if t + 1 < n {
                pair[(t * k + y[t]) * k + y[t + 1]] += p;
            }
        }
    }
    (single, pair)
}

/// Checks sample frequencies of every single-site and adjacent-pair event against the exact
/// probabilities: each frequency of `N` independent draws has binomial sd `sqrt(p (1 - p) / N)`;
/// allow 4 sd (plus 1/N for p near 0 or 1).
fn check_frequencies(name: &str, samples: &[Vec<usize>], tr: &Transitions, u: &[f64], n: usize) {
    let k = tr.k;
    let big_n = samples.len() as f64;
    let (single, pair) = exact_marginals(tr, u, n);
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
    for (what, exact, freq) in [("single", &single, &f_single), ("pair", &pair, &f_pair)] {
        for (i, (p, f)) in exact.iter().zip(freq.iter()).enumerate() {
            let sd = (p * (1.0 - p) / big_n).sqrt();
            assert!(
                (f - p).abs() <= 4.0 * sd + 1.0 / big_n,
                "{name} {what}[{i}]: freq {f} exact {p} (sd {sd})"
            );
        }
    }
}

#[test]
fn ffbs_sample_frequencies_match_exact_marginals() {
    let mut rng = SeededRng::new(6);
    let (n, k) = (5, 3);
    let tr = random_chain(k, &mut rng, 1.0);
    let u = random_unary(n, k, &mut rng, 1.0);
    let samples: Vec<Vec<usize>> = (0..20_000).map(|_| tr.sample_ffbs(&u, &mut rng)).collect();
    check_frequencies("ffbs", &samples, &tr, &u, n);
}

#[test]
fn gibbs_sample_frequencies_match_exact_marginals() {
    // Independent chains from uniform random starts, the final state of each one draw: the draws
    // are independent, so the binomial error applies; 40 sweeps of a 5-site chain with O(1)
    // potentials leave a burn-in bias far below the Monte-Carlo error.
    let mut rng = SeededRng::new(7);
    let (n, k) = (5, 3);
    let tr = random_chain(k, &mut rng, 1.0);
    let u = random_unary(n, k, &mut rng, 1.0);
    let samples: Vec<Vec<usize>> = (0..8_000)
        .map(|_| {
            let init: Vec<usize> = (0..n)
                .map(|_| (rng.uniform_f64() * k as f64) as usize % k)
                .collect();
            gibbs_chain(&tr, &u, &init, 40, &mut rng)
        })
        .collect();
    check_frequencies("gibbs", &samples, &tr, &u, n);
}
