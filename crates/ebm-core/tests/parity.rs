//! Backend parity: the MLP and CNN energies and their input gradients agree between flex (CPU)
//! and wgpu. Built with `--features wgpu`; on a machine without a GPU wgpu runs on Mesa's software
//! Vulkan driver (`apt-get install mesa-vulkan-drivers`), which `.ci/run` installs.
#![cfg(feature = "wgpu")]

mod common;

use common::host;
use ebm_core::burn::module::Module;
use ebm_core::burn::tensor::{Device, Tensor};
use ebm_core::{BackendKind, CnnEnergyConfig, Energy, MlpEnergyConfig, SeededRng};

/// `max |a - b| <= 1e-4 * max(|a|)`: relative agreement over the whole tensor.
fn assert_close(what: &str, a: &[f64], b: &[f64]) {
    assert_eq!(a.len(), b.len());
    let scale = a.iter().fold(0.0f64, |m, v| m.max(v.abs())).max(1e-12);
    let diff = a
        .iter()
        .zip(b)
        .fold(0.0f64, |m, (x, y)| m.max((x - y).abs()));
    assert!(
        diff <= 1e-4 * scale,
        "{what}: max |flex - wgpu| = {diff:e}, max |flex| = {scale:e}"
    );
}

fn parity<const D: usize, M: Module + Energy<D>>(name: &str, model: M, x: Tensor<D>) {
    let gpu = BackendKind::Wgpu.device().expect("wgpu is compiled in");
    let (e_cpu, g_cpu) = model.energy_and_grad(x.clone());
    let on_gpu = model.to_device(&gpu);
    let (e_gpu, g_gpu) = on_gpu.energy_and_grad(x.to_device(&gpu));
    assert_close(&format!("{name} energy"), &host(e_cpu), &host(e_gpu));
    assert_close(
        &format!("{name} input gradient"),
        &host(g_cpu),
        &host(g_gpu),
    );
}

#[test]
fn mlp_agrees_between_flex_and_wgpu() {
    let cpu = Device::flex();
    let mlp = MlpEnergyConfig::new(2)
        .with_hidden(vec![128, 128])
        .init(&cpu, 1)
        .unwrap();
    parity("MLP", mlp, SeededRng::new(2).normal([257, 2], &cpu) * 2.0);
}

#[test]
fn cnn_agrees_between_flex_and_wgpu() {
    let cpu = Device::flex();
    let cnn = CnnEnergyConfig::new().init(&cpu, 3).unwrap();
    parity(
        "CNN",
        cnn,
        SeededRng::new(4).uniform([16, 1, 28, 28], -1.0, 1.0, &cpu),
    );
}
