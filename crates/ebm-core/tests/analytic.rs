//! Analytic energies: closed-form gradients against autodiff and finite differences, the
//! log-ratio identity against independently computed log densities, and input checks.

mod common;

use common::{host, tensor2};
use ebm_core::burn::tensor::{Device, Tensor};
use ebm_core::{
    Banana, DiagGaussian, DoubleWell, Energy, EnergyError, Funnel, Gaussian, GaussianMixture,
    SeededRng, Tempered, autodiff_energy_and_grad,
};

fn device() -> Device {
    Device::flex()
}

/// A random SPD covariance `A A^T + 0.5 I` in `d` dimensions.
fn random_cov(d: usize, rng: &mut SeededRng) -> Vec<f64> {
    let a: Vec<f64> = (0..d * d).map(|_| rng.normal_f64()).collect();
    let mut c = vec![0.0; d * d];
    for i in 0..d {
        for j in 0..d {
            c[i * d + j] = (0..d).map(|k| a[i * d + k] * a[j * d + k]).sum::<f64>()
                + if i == j { 0.5 } else { 0.0 };
        }
    }
    c
}

/// Every analytic energy, with its dimension.
fn energies() -> Vec<(Box<dyn Energy<2>>, usize)> {
    let dev = device();
    let mut rng = SeededRng::new(11);
    let cov = random_cov(3, &mut rng);
    vec![
        (
            Box::new(Gaussian::new(&[0.5, -1.0, 2.0], &cov, &dev).unwrap()) as Box<dyn Energy<2>>,
            3,
        ),
        (
            Box::new(
                DiagGaussian::new(&[1.0, 0.0, -1.0, 0.5], &[0.5, 1.0, 2.0, 4.0], &dev).unwrap(),
            ),
            4,
        ),
        (
            Box::new(
                GaussianMixture::new(
                    &[0.2, 0.3, 0.5],
                    &[vec![-2.0, 0.0], vec![2.0, 1.0], vec![0.0, -2.0]],
                    &[vec![1.0, 0.5], vec![0.7, 1.2], vec![2.0, 1.0]],
                    &dev,
                )
                .unwrap(),
            ),
            2,
        ),
        (Box::new(Banana::new(3, 0.1, &dev).unwrap()), 3),
        (Box::new(Funnel::new(4, &dev).unwrap()), 4),
        (Box::new(DoubleWell::new(3, 2.0, &dev).unwrap()), 3),
        (
            Box::new(
                Tempered::new(Gaussian::new(&[0.0, 1.0, 0.0], &cov, &dev).unwrap(), 2.5).unwrap(),
            ),
            3,
        ),
    ]
}

/// Points around the typical set: N(0, 1.5^2) per coordinate.
fn points(n: usize, d: usize, seed: u64) -> Tensor<2> {
    SeededRng::new(seed).normal([n, d], &device()) * 1.5
}

#[test]
fn closed_form_gradients_match_autodiff() {
    for (energy, d) in energies() {
        let x = points(16, d, 1);
        let (e, g) = energy.energy_and_grad(x.clone());
        let (e_ad, g_ad) = autodiff_energy_and_grad(&energy, x.clone());
        let e_plain = host(energy.energy(x));
        for (label, a, b) in [
            ("energy", host(e.clone()), host(e_ad)),
            ("gradient", host(g), host(g_ad)),
            ("energy (plain)", host(e), e_plain),
        ] {
            for (u, v) in a.iter().zip(&b) {
                // Both are f32 computations of the same quantity: agreement to a few ulps of the
                // magnitudes involved.
                assert!(
                    (u - v).abs() <= 1e-4 * (1.0 + u.abs()),
                    "{}: {label} {u} vs {v}",
                    energy.name()
                );
            }
        }
    }
}

#[test]
fn gradients_match_central_finite_differences() {
    let h = 1e-2;
    for (energy, d) in energies() {
        let n = 8;
        let x = host(points(n, d, 2));
        let (_, g) = energy.energy_and_grad(tensor2(&x, n, d, &device()));
        let g = host(g);
        for j in 0..d {
            let shifted = |sign: f64| {
                let mut y = x.clone();
                (0..n).for_each(|i| y[i * d + j] += sign * h);
                host(energy.energy(tensor2(&y, n, d, &device())))
            };
            let (plus, minus) = (shifted(1.0), shifted(-1.0));
            for i in 0..n {
                let fd = (plus[i] - minus[i]) / (2.0 * h);
                let exact = g[i * d + j];
                // Truncation h^2/6 |E'''| is below ~2e-3 on these points, f32 rounding
                // eps |E| / h below ~5e-4: 5e-3 absolute plus 5e-3 relative covers both.
                assert!(
                    (fd - exact).abs() <= 5e-3 + 5e-3 * exact.abs(),
                    "{}: dE/dx_{j} at item {i}: finite difference {fd}, closed form {exact}",
                    energy.name()
                );
            }
        }
    }
}

/// `log N(x; m, diag v)` computed on the host in f64, independently of the energy code.
fn log_normal_diag(x: &[f64], m: &[f64], v: &[f64]) -> f64 {
    x.iter()
        .zip(m)
        .zip(v)
        .map(|((x, m), v)| -0.5 * (2.0 * std::f64::consts::PI * v).ln() - 0.5 * (x - m).powi(2) / v)
        .sum()
}

#[test]
fn log_ratio_and_log_z_agree_with_exact_log_densities() {
    let dev = device();
    let (m, v) = ([1.0, -0.5, 0.0], [0.5, 2.0, 1.5]);
    let g = DiagGaussian::new(&m, &v, &dev).unwrap();
    let (x, y) = (points(10, 3, 3), points(10, 3, 4));
    let (hx, hy) = (host(x.clone()), host(y.clone()));
    let ratio = host(g.log_ratio(x.clone(), y));
    let e = host(g.energy(x));
    let log_z = g.log_z().unwrap();
    for i in 0..10 {
        let lx = log_normal_diag(&hx[i * 3..i * 3 + 3], &m, &v);
        let ly = log_normal_diag(&hy[i * 3..i * 3 + 3], &m, &v);
        assert!(
            (ratio[i] - (lx - ly)).abs() < 1e-4 * (1.0 + lx.abs() + ly.abs()),
            "{} vs {}",
            ratio[i],
            lx - ly
        );
        assert!((-e[i] - log_z - lx).abs() < 1e-4 * (1.0 + lx.abs()));
    }
    // The same identity for a mixture (normalised, log Z = 0): log p = log sum_k w_k N_k.
    let mix = GaussianMixture::new(
        &[0.3, 0.7],
        &[vec![-1.0, 0.0], vec![2.0, 1.0]],
        &[vec![1.0, 0.5], vec![0.5, 2.0]],
        &dev,
    )
    .unwrap();
    let x = points(10, 2, 5);
    let hx = host(x.clone());
    let e = host(mix.energy(x));
    for i in 0..10 {
        let p = &hx[i * 2..i * 2 + 2];
        let lp = (0.3 * log_normal_diag(p, &[-1.0, 0.0], &[1.0, 0.5]).exp()
            + 0.7 * log_normal_diag(p, &[2.0, 1.0], &[0.5, 2.0]).exp())
        .ln();
        assert!(
            (-e[i] - lp).abs() < 1e-4 * (1.0 + lp.abs()),
            "{} vs {lp}",
            -e[i]
        );
    }
}

#[test]
fn score_is_minus_energy() {
    for (energy, d) in energies() {
        let x = points(5, d, 6);
        let (s, e) = (host(energy.score(x.clone())), host(energy.energy(x)));
        assert!(
            s.iter()
                .zip(&e)
                .all(|(s, e)| (s + e).abs() < 1e-6 * (1.0 + e.abs()))
        );
    }
}

#[test]
fn wrong_shapes_are_errors_naming_the_energy() {
    for (energy, d) in energies() {
        let bad = points(4, d + 1, 7);
        match energy.try_energy(bad) {
            Err(EnergyError::Shape {
                energy: name, got, ..
            }) => {
                assert_eq!(got, vec![4, d + 1]);
                assert_eq!(name, energy.name());
            }
            other => panic!("{}: expected a shape error, got {other:?}", energy.name()),
        }
        assert!(energy.try_energy(points(4, d, 7)).is_ok());
    }
}

#[test]
fn invalid_parameters_are_errors() {
    let dev = device();
    assert!(DiagGaussian::new(&[0.0], &[0.0], &dev).is_err());
    assert!(DiagGaussian::new(&[0.0, 1.0], &[1.0], &dev).is_err());
    assert!(
        GaussianMixture::new(
            &[1.0, -1.0],
            &[vec![0.0], vec![1.0]],
            &[vec![1.0], vec![1.0]],
            &dev
        )
        .is_err()
    );
    assert!(GaussianMixture::new(&[1.0], &[vec![0.0, 1.0]], &[vec![1.0]], &dev).is_err());
    assert!(Banana::new(1, 0.1, &dev).is_err());
    assert!(Funnel::new(1, &dev).is_err());
    assert!(DoubleWell::new(2, -1.0, &dev).is_err());
    assert!(Tempered::new(DoubleWell::new(1, 1.0, &dev).unwrap(), 0.0).is_err());
}

#[test]
fn exact_samplers_match_known_moments() {
    // Banana: x_1 ~ N(0, 100) and u_2 = x_2 + b x_1^2 - 100 b ~ N(0, 1); funnel: v ~ N(0, 9).
    let dev = device();
    let n = 100_000usize;
    let b = 0.1;
    let x = host(
        Banana::new(2, b, &dev)
            .unwrap()
            .sample(n, &mut SeededRng::new(8)),
    );
    let (mut s1, mut s2, mut u2) = (0.0, 0.0, 0.0);
    for p in x.chunks(2) {
        s1 += p[0] * p[0];
        let u = p[1] + b * p[0] * p[0] - 100.0 * b;
        s2 += u;
        u2 += u * u;
    }
    let nf = n as f64;
    // Var(x_1^2) = 2 * 100^2, Var(u) = 1, Var(u^2) = 2.
    assert!((s1 / nf - 100.0).abs() < 4.0 * (2.0 * 1e4 / nf).sqrt());
    assert!((s2 / nf).abs() < 4.0 / nf.sqrt());
    assert!((u2 / nf - 1.0).abs() < 4.0 * (2.0 / nf).sqrt());
    let f = host(
        Funnel::new(3, &dev)
            .unwrap()
            .sample(n, &mut SeededRng::new(9)),
    );
    let v2: f64 = f.chunks(3).map(|p| p[0] * p[0]).sum::<f64>() / nf;
    assert!((v2 - 9.0).abs() < 4.0 * (2.0 * 81.0 / nf).sqrt());
    let mix = GaussianMixture::two_modes(2, 3.0, &dev).unwrap();
    let m = host(mix.sample(n, &mut SeededRng::new(10)));
    // First coordinate: mean 0, variance 1 + 9 = 10.
    let m1: f64 = m.chunks(2).map(|p| p[0]).sum::<f64>() / nf;
    assert!(m1.abs() < 4.0 * (10.0 / nf).sqrt());
}

#[test]
fn temperature_scales_energy_and_gradient() {
    let dev = device();
    let inner = DoubleWell::new(2, 1.5, &dev).unwrap();
    let hot = Tempered::new(inner.clone(), 4.0).unwrap();
    let x = points(6, 2, 12);
    let (e, g) = inner.energy_and_grad(x.clone());
    let (et, gt) = hot.energy_and_grad(x);
    for (a, b) in host(e)
        .iter()
        .zip(host(et))
        .chain(host(g).iter().zip(host(gt)))
    {
        assert!((a / 4.0 - b).abs() < 1e-6 * (1.0 + a.abs()));
    }
    assert!(hot.log_z().is_none());
}
