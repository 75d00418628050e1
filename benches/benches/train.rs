//! Seconds per training iteration of the default image recipe on the CPU (flex): one persistent-CD
//! step of the UvA CNN energy at batch 128 with 60 clipped-SGLD steps, the replay buffer of 8192,
//! the loss, backward and Adam update.
//!
//! `cargo bench -p ebm-benches --bench train`; id `train/cd_iteration_b128_k60` (flex), and
//! `..._wgpu` / `..._cuda` with `--features wgpu` / `cuda`.

#![allow(missing_docs)] // criterion's macros generate undocumented public functions

use criterion::{Criterion, criterion_group, criterion_main};
use ebm_benches::devices;
use ebm_core::{CnnEnergyConfig, SeededRng};
use ebm_train::{TrainConfig, Trainer};

fn cd_iteration(c: &mut Criterion) {
    let mut group = c.benchmark_group("train");
    group.sample_size(10);
    for (backend, device) in devices() {
        let model = CnnEnergyConfig::new()
            .init(&device.clone().autodiff(), 0)
            .unwrap();
        let mut trainer =
            Trainer::<4, _>::new(model, TrainConfig::uva_images(), &[1, 28, 28]).unwrap();
        let data = SeededRng::new(1).uniform([128, 1, 28, 28], -1.0, 1.0, &device);
        // The flex id keeps its name from before the GPU cases existed.
        let id = match backend {
            "flex" => "cd_iteration_b128_k60".to_string(),
            other => format!("cd_iteration_b128_k60_{other}"),
        };
        // `step` reads the loss back to the host, so each iteration waits for the device.
        group.bench_function(id, |b| b.iter(|| trainer.step(data.clone()).unwrap()));
    }
    group.finish();
}

criterion_group!(benches, cd_iteration);
criterion_main!(benches);
