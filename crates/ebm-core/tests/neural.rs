//! Neural energies: any batch size, items independent of their batch, input gradients against
//! finite differences, seeded initialisation, input checks.

mod common;

use common::host;
use ebm_core::burn::nn::{Linear, LinearConfig};
use ebm_core::burn::tensor::{Device, Tensor, TensorData};
use ebm_core::{CnnEnergyConfig, Energy, EnergyError, MlpEnergyConfig, ModuleEnergy, SeededRng};

fn device() -> Device {
    Device::flex()
}

/// Energies of a batch equal the energies of its items evaluated one at a time.
fn assert_batch_independent<const D: usize, E: Energy<D>>(energy: &E, x: Tensor<D>) {
    let n = x.dims()[0];
    let batch = host(energy.try_energy(x.clone()).unwrap());
    assert_eq!(batch.len(), n);
    for (i, &together) in batch.iter().enumerate() {
        let mut ranges = x.dims().map(|d| 0..d);
        ranges[0] = i..i + 1;
        let single = host(energy.energy(x.clone().slice(ranges)))[0];
        assert!(
            (single - together).abs() < 1e-5 * (1.0 + single.abs()),
            "item {i}: {single} vs {together}"
        );
    }
}

#[test]
fn mlp_accepts_any_batch_size() {
    let mlp = MlpEnergyConfig::new(3)
        .with_hidden(vec![16, 8])
        .init(&device(), 1)
        .unwrap();
    for n in [1, 2, 7, 33] {
        assert_batch_independent(&mlp, SeededRng::new(n as u64).normal([n, 3], &device()));
    }
}

#[test]
fn cnn_accepts_any_batch_size_grey_and_rgb() {
    let cnn = CnnEnergyConfig::new()
        .with_hidden(8)
        .init(&device(), 2)
        .unwrap();
    for n in [1, 3, 5] {
        assert_batch_independent(
            &cnn,
            SeededRng::new(n as u64).uniform([n, 1, 28, 28], -1.0, 1.0, &device()),
        );
    }
    let rgb = CnnEnergyConfig::new()
        .with_channels(3)
        .with_hidden(8)
        .with_image_size(32)
        .init(&device(), 3)
        .unwrap();
    assert_batch_independent(
        &rgb,
        SeededRng::new(4).uniform([2, 3, 32, 32], -1.0, 1.0, &device()),
    );
}

#[test]
fn default_cnn_is_the_tutorial_network() {
    let cnn = CnnEnergyConfig::new().init(&device(), 0).unwrap();
    let filters: Vec<[usize; 4]> = cnn.convs.iter().map(|c| c.weight.dims()).collect();
    assert_eq!(
        filters,
        vec![
            [16, 1, 5, 5],
            [32, 16, 3, 3],
            [64, 32, 3, 3],
            [64, 64, 3, 3]
        ]
    );
    assert_eq!(cnn.hidden.weight.dims(), [256, 64]);
    assert_eq!(cnn.output.weight.dims(), [64, 1]);
}

#[test]
fn seeded_initialisation_is_reproducible() {
    let a = MlpEnergyConfig::new(2).init(&device(), 9).unwrap();
    let b = MlpEnergyConfig::new(2).init(&device(), 9).unwrap();
    let c = MlpEnergyConfig::new(2).init(&device(), 10).unwrap();
    let x = SeededRng::new(0).normal([4, 2], &device());
    assert_eq!(host(a.energy(x.clone())), host(b.energy(x.clone())));
    assert_ne!(host(a.energy(x.clone())), host(c.energy(x)));
}

/// Central differences of `energy` along coordinate `j` of every item, in f32.
fn finite_difference<const D: usize, E: Energy<D>>(
    energy: &E,
    x: &Tensor<D>,
    j: usize,
    h: f32,
) -> Vec<f64> {
    let dims = x.dims();
    let n = dims[0];
    let per_item: usize = dims[1..].iter().product();
    let mut bump = vec![0.0f32; n * per_item];
    (0..n).for_each(|i| bump[i * per_item + j] = h);
    let bump = Tensor::<D>::from_data(TensorData::new(bump, dims), &x.device());
    let plus = host(energy.energy(x.clone() + bump.clone()));
    let minus = host(energy.energy(x.clone() - bump));
    plus.iter()
        .zip(&minus)
        .map(|(p, m)| (p - m) / (2.0 * h as f64))
        .collect()
}

#[test]
fn mlp_input_gradient_matches_finite_differences() {
    let mlp = MlpEnergyConfig::new(4)
        .with_hidden(vec![32, 32])
        .init(&device(), 5)
        .unwrap();
    let x = SeededRng::new(6).normal([6, 4], &device());
    let g = host(mlp.energy_and_grad(x.clone()).1);
    for j in 0..4 {
        let fd = finite_difference(&mlp, &x, j, 1e-2);
        for i in 0..6 {
            // f32 energies of magnitude ~1: rounding ~1e-5, truncation ~1e-5 at h = 1e-2.
            assert!(
                (fd[i] - g[i * 4 + j]).abs() < 2e-3 + 2e-3 * fd[i].abs(),
                "({i}, {j}): fd {} vs {}",
                fd[i],
                g[i * 4 + j]
            );
        }
    }
}

#[test]
fn cnn_input_gradient_matches_finite_differences() {
    let cnn = CnnEnergyConfig::new()
        .with_hidden(8)
        .init(&device(), 7)
        .unwrap();
    let x = SeededRng::new(8).uniform([2, 1, 28, 28], -1.0, 1.0, &device());
    let g = host(cnn.energy_and_grad(x.clone()).1);
    // A spread of pixels, corners (touched by padding only) included.
    for j in [0, 27, 100, 300, 406, 555, 783] {
        let fd = finite_difference(&cnn, &x, j, 2e-2);
        for i in 0..2 {
            let exact = g[i * 784 + j];
            assert!(
                (fd[i] - exact).abs() < 2e-3 + 2e-2 * exact.abs(),
                "pixel {j} of item {i}: fd {} vs {exact}",
                fd[i]
            );
        }
    }
}

#[test]
fn energy_and_grad_freezes_parameters_of_a_training_model() {
    // A model on an autodiff device (as during training) still gives plain energies and
    // gradients, equal to those of the same model on a plain device.
    let plain = MlpEnergyConfig::new(2)
        .with_hidden(vec![8])
        .init(&device(), 3)
        .unwrap();
    let tracked = MlpEnergyConfig::new(2)
        .with_hidden(vec![8])
        .init(&device().autodiff(), 3)
        .unwrap();
    let x = SeededRng::new(1).normal([5, 2], &device());
    let (e1, g1) = plain.energy_and_grad(x.clone());
    let (e2, g2) = tracked.energy_and_grad(x);
    assert!(!e2.is_autodiff() && !g2.is_autodiff());
    assert_eq!(host(e1), host(e2));
    assert_eq!(host(g1), host(g2));
}

#[test]
fn module_adapter_takes_n_by_1_outputs() {
    let lin = LinearConfig::new(3, 1).init(&device());
    let energy =
        ModuleEnergy::new(lin, |m: &Linear, x: Tensor<2>| m.forward(x)).with_event_dims(&[3]);
    assert_batch_independent(&energy, SeededRng::new(2).normal([4, 3], &device()));
}

#[test]
fn bad_inputs_and_configs_are_errors() {
    let mlp = MlpEnergyConfig::new(3).init(&device(), 0).unwrap();
    let err = mlp
        .try_energy(Tensor::zeros([2, 5], &device()))
        .unwrap_err();
    assert!(
        matches!(&err, EnergyError::Shape { got, .. } if got == &vec![2, 5]),
        "{err}"
    );
    assert!(err.to_string().contains("[N, 3]"), "{err}");
    let cnn = CnnEnergyConfig::new()
        .with_hidden(4)
        .init(&device(), 0)
        .unwrap();
    let err = cnn
        .try_energy(Tensor::zeros([2, 3, 28, 28], &device()))
        .unwrap_err();
    assert!(err.to_string().contains("[N, 1, 28, 28]"), "{err}");
    assert!(
        cnn.try_energy(Tensor::zeros([2, 1, 32, 32], &device()))
            .is_err()
    );
    assert!(MlpEnergyConfig::new(0).init(&device(), 0).is_err());
    assert!(
        MlpEnergyConfig::new(2)
            .with_hidden(vec![4, 0])
            .init(&device(), 0)
            .is_err()
    );
    assert!(
        CnnEnergyConfig::new()
            .with_hidden(1)
            .init(&device(), 0)
            .is_err()
    );
}
