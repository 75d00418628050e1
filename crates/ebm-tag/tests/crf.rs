//! The chain energy's exact algorithms against brute-force enumeration, and autodiff against
//! finite differences (the samplers are checked in `samplers.rs`).

mod common;

use burn::module::Param;
use burn::tensor::{Device, Gradients, Tensor, TensorData};
use common::{all_paths, brute_log_z, random_chain, random_unary};
use ebm_core::SeededRng;
use ebm_tag::crf::{Crf, PathIndicators, Transitions};

/// The gradient of `t` in `grads`, read back to the host.
fn grad_values<const D: usize>(t: &Tensor<D>, grads: &Gradients) -> Vec<f32> {
    t.grad(grads)
        .unwrap()
        .into_data()
        .try_to_vec::<f32>()
        .unwrap()
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
            // f32 tensors: a few ulps of a value of order 10. Deterministic rounding, not
            // Monte-Carlo: at most 5 logsumexp steps over 4 terms, each a few ulps (f32 epsilon
            // 6e-8 relative), stay near 1e-6; 1e-4 leaves room for the exp/log round trips.
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
    // f32 sums of at most 9 terms of order 1: rounding near 1e-6, deterministic.
    for ((un, p), e) in unaries.iter().zip(&paths).zip(&got) {
        assert!(
            (e - tr.energy(un, p)).abs() < 1e-5,
            "{e} vs {}",
            tr.energy(un, p)
        );
    }
}

/// Checks the autodiff gradients of the chain scores (`trans`, `start`, `end`, in `fields`)
/// against central differences of `nll` with step `h`, within `tol`; returns how many it checked.
fn check_chain_score_gradients(
    tr: &Transitions,
    nll: &dyn Fn(&Transitions) -> f64,
    fields: [(&str, &[f32]); 3],
    h: f64,
    tol: f64,
) -> usize {
    let mut checked = 0;
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
            let fd = (nll(&up) - nll(&dn)) / (2.0 * h);
            assert!(
                (fd - f64::from(a)).abs() < tol,
                "d/d{name}[{i}]: fd {fd} autodiff {a}"
            );
            checked += 1;
        }
    }
    checked
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
    checked += check_chain_score_gradients(&tr, &|t| nll(t, &unaries), fields, h, tol);
    assert_eq!(checked, (4 + 2 + 3) * k + k * k + 2 * k);
}
