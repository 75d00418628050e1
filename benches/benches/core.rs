//! Input-gradient throughput of the neural energies on the CPU (flex).
//!
//! `cargo bench --bench core`; with `--features wgpu` (or `cuda`) the same cases also run on that
//! backend.
//! Reported as elements per second: items whose energy and input gradient were computed.

#![allow(missing_docs)] // criterion's macros generate undocumented public functions

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ebm_benches::devices;
use ebm_core::burn::module::Module;
use ebm_core::{CnnEnergyConfig, Energy, MlpEnergyConfig, SeededRng, autodiff_energy_and_grad};

fn input_gradients(c: &mut Criterion) {
    let mut group = c.benchmark_group("core");
    for (backend, device) in devices() {
        let cnn = CnnEnergyConfig::new().init(&device, 0).unwrap();
        let x = SeededRng::new(1).uniform([128, 1, 28, 28], -1.0, 1.0, &device);
        group.throughput(Throughput::Elements(128));
        group.bench_function(format!("cnn_grad_b128_{backend}"), |b| {
            b.iter(|| {
                let (e, g) = cnn.energy_and_grad(x.clone());
                // Wait for the device: read one value back.
                (e.into_data(), g.sum().into_scalar::<f32>())
            })
        });
        // burn's autodiff path, which `energy_and_grad` takes on GPUs (and took on flex before
        // the hand-derived host path): the before/after pair of BENCHMARKS.md.
        let frozen = cnn.valid();
        group.bench_function(format!("cnn_grad_b128_{backend}_autodiff"), |b| {
            b.iter(|| {
                let (e, g) = autodiff_energy_and_grad(&frozen, x.clone());
                (e.into_data(), g.sum().into_scalar::<f32>())
            })
        });
        let mlp = MlpEnergyConfig::new(2).init(&device, 0).unwrap();
        let x = SeededRng::new(2).normal([1024, 2], &device);
        group.throughput(Throughput::Elements(1024));
        group.bench_function(format!("mlp_grad_n1024_{backend}"), |b| {
            b.iter(|| {
                let (e, g) = mlp.energy_and_grad(x.clone());
                (e.into_data(), g.sum().into_scalar::<f32>())
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = input_gradients
}
criterion_main!(benches);
