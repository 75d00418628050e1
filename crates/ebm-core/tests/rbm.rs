//! The RBM: free energy against a host sum over the hidden states, exact `log Z` by enumerating
//! either layer against brute force over both layers, the base-rate RBM's closed form, and the
//! input checks.

use ebm_core::burn::tensor::{Device, Tensor, TensorData};
use ebm_core::rbm::{log_z_brute_force, log_z_exact};
use ebm_core::{
    BaseRateRbm, Energy, EnergyError, Rbm, RbmParams, SeededRng, autodiff_energy_and_grad,
};

/// A random RBM with weights of scale `scale` (large enough that the layers interact strongly).
fn random_params(nv: usize, nh: usize, scale: f64, seed: u64) -> RbmParams {
    let mut rng = SeededRng::new(seed);
    let mut draw = |n: usize| (0..n).map(|_| scale * rng.normal_f64()).collect::<Vec<_>>();
    RbmParams {
        n_visible: nv,
        n_hidden: nh,
        weights: draw(nv * nh),
        visible_bias: draw(nv),
        hidden_bias: draw(nh),
    }
}

fn bits(s: usize, m: usize) -> Vec<f64> {
    (0..m).map(|j| ((s >> j) & 1) as f64).collect()
}

fn log_sum_exp(v: &[f64]) -> f64 {
    let m = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    m + v.iter().map(|x| (x - m).exp()).sum::<f64>().ln()
}

#[test]
fn free_energy_is_minus_log_sum_over_hidden_states() {
    let device = Device::flex();
    let p = random_params(6, 5, 1.0, 1);
    let rbm = Rbm::from_params(&p, &device).unwrap();
    let n = 1 << 6;
    let v: Vec<f32> = (0..n).flat_map(|s| bits(s, 6)).map(|x| x as f32).collect();
    let f = rbm
        .energy(Tensor::from_data(TensorData::new(v, [n, 6]), &device))
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();
    for (s, fs) in f.iter().enumerate() {
        let v = bits(s, 6);
        let hs: Vec<f64> = (0..1 << 5)
            .map(|t| -p.joint_energy(&v, &bits(t, 5)))
            .collect();
        let exact = -log_sum_exp(&hs);
        // f32 on the device against f64 on the host: energies of size ~10, relative 1e-6.
        assert!(
            (f64::from(*fs) - exact).abs() < 1e-4,
            "v {s}: {fs} vs {exact}"
        );
        assert!((p.free_energy(&v) - exact).abs() < 1e-10);
    }
}

#[test]
fn exact_log_z_by_enumeration_equals_brute_force_over_both_layers() {
    let device = Device::flex();
    // Hidden layer smaller (enumerates h), visible layer smaller (enumerates v), and equal sizes.
    for (nv, nh, seed) in [(8, 5, 2), (4, 9, 3), (6, 6, 4), (10, 1, 5), (1, 7, 6)] {
        let p = random_params(nv, nh, 1.5, seed);
        let rbm = Rbm::from_params(&p, &device).unwrap();
        let exact = log_z_exact(&rbm).unwrap();
        let brute = log_z_brute_force(&p).unwrap();
        // f32 terms of size ~20 carry relative error ~1e-7 each; the log-sum-exp is in f64.
        assert!(
            (exact - brute).abs() < 1e-4 * (1.0 + brute.abs()),
            "{nv}x{nh}: enumeration {exact} vs brute force {brute}"
        );
    }
}

#[test]
fn exact_log_z_refuses_layers_above_twenty_units() {
    let device = Device::flex();
    let rbm = Rbm::new(30, 21, 0.01, 1, &device).unwrap();
    assert!(matches!(
        log_z_exact(&rbm),
        Err(EnergyError::InvalidParameter { .. })
    ));
    let big = random_params(13, 12, 1.0, 1);
    assert!(log_z_brute_force(&big).is_err());
}

#[test]
fn base_rate_rbm_log_z_and_draws_match_their_closed_forms() {
    let device = Device::flex();
    let means = [0.1, 0.5, 0.9, 0.02, 0.7];
    let base = BaseRateRbm::from_means(&means, &device).unwrap();
    // log Z_A = -sum log(1 - p_i).
    let closed: f64 = means.iter().map(|p: &f64| -(1.0 - p).ln()).sum();
    assert!((base.log_z() - closed).abs() < 1e-12);
    // As an RBM with W = 0 and c = 0, enumeration adds n_h log 2 to the same value.
    let p = RbmParams {
        n_visible: 5,
        n_hidden: 3,
        weights: vec![0.0; 15],
        visible_bias: base.bias().to_vec(),
        hidden_bias: vec![0.0; 3],
    };
    let as_rbm = Rbm::from_params(&p, &device).unwrap();
    let enumerated = log_z_exact(&as_rbm).unwrap();
    assert!((enumerated - closed - 3.0 * 2f64.ln()).abs() < 1e-5);
    // Draws: the mean of unit i over n draws has sd sqrt(p (1 - p) / n); 4 sd.
    let n = 20_000;
    let v = base
        .sample(n, &mut SeededRng::new(7))
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();
    for (i, p) in means.iter().enumerate() {
        let m = v
            .iter()
            .skip(i)
            .step_by(5)
            .map(|&x| f64::from(x))
            .sum::<f64>()
            / n as f64;
        assert!(
            (m - p).abs() < 4.0 * (p * (1.0 - p) / n as f64).sqrt(),
            "unit {i}: {m}"
        );
    }
    // From data: smoothed means.
    let data = [1.0f32, 0.0, 1.0, 1.0, 0.0, 0.0];
    let fitted = BaseRateRbm::from_data(&data, 2, 1.0, &device).unwrap();
    // unit 0: (2 + 1) / (3 + 2) = 0.6; unit 1: (1 + 1) / 5 = 0.4.
    assert!((fitted.bias()[0] - (0.6f64 / 0.4).ln()).abs() < 1e-12);
    assert!((fitted.bias()[1] - (0.4f64 / 0.6).ln()).abs() < 1e-12);
    assert!(BaseRateRbm::from_data(&data, 4, 1.0, &device).is_err());
}

#[test]
fn closed_form_input_gradient_matches_autodiff_and_shapes_are_checked() {
    let device = Device::flex();
    let p = random_params(7, 4, 0.8, 9);
    let rbm = Rbm::from_params(&p, &device).unwrap();
    let x = SeededRng::new(3).uniform([5, 7], 0.0, 1.0, &device);
    let (e, g) = rbm.energy_and_grad(x.clone());
    let (e2, g2) = autodiff_energy_and_grad(&rbm.clone(), x);
    let close = |a: Tensor<1>, b: Tensor<1>| {
        let (a, b) = (
            a.into_data().try_to_vec::<f32>().unwrap(),
            b.into_data().try_to_vec::<f32>().unwrap(),
        );
        a.iter()
            .zip(&b)
            .all(|(x, y)| (x - y).abs() < 1e-4 * (1.0 + y.abs()))
    };
    assert!(close(e, e2));
    assert!(close(g.reshape([35]), g2.reshape([35])));
    assert!(matches!(
        rbm.try_energy(Tensor::zeros([2, 6], &device)),
        Err(EnergyError::Shape { .. })
    ));
    let bad = RbmParams {
        weights: vec![0.0; 3],
        ..p
    };
    assert!(Rbm::from_params(&bad, &device).is_err());
    assert!(Rbm::new(0, 3, 0.01, 1, &device).is_err());
}
