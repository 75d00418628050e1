//! Seconds per training iteration of the default image recipe on the CPU (flex): one persistent-CD
//! step of the UvA CNN energy at batch 128 with 60 clipped-SGLD steps, the replay buffer of 8192,
//! the loss, backward and Adam update.
//!
//! `cargo bench -p ebm-benches --bench train`; id `train/cd_iteration_b128_k60`.

#![allow(missing_docs)] // criterion's macros generate undocumented public functions

use criterion::{Criterion, criterion_group, criterion_main};
use ebm_core::burn::tensor::Device;
use ebm_core::{CnnEnergyConfig, SeededRng};
use ebm_train::{TrainConfig, Trainer};

fn cd_iteration(c: &mut Criterion) {
    let device = Device::flex();
    let model = CnnEnergyConfig::new()
        .init(&device.clone().autodiff(), 0)
        .unwrap();
    let mut trainer = Trainer::<4, _>::new(model, TrainConfig::uva_images(), &[1, 28, 28]).unwrap();
    let data = SeededRng::new(1).uniform([128, 1, 28, 28], -1.0, 1.0, &device);
    let mut group = c.benchmark_group("train");
    group.sample_size(10);
    group.bench_function("cd_iteration_b128_k60", |b| {
        b.iter(|| trainer.step(data.clone()).unwrap())
    });
    group.finish();
}

criterion_group!(benches, cd_iteration);
criterion_main!(benches);
