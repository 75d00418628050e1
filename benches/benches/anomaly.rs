//! Scoring throughput of the tabular anomaly detector ([`TabularEnergy::score_rows`]): rows per
//! second on all 49,097 rows of ADBench's shuttle set (9 columns), the detector of the default
//! recipe (marginal KDE of 1,024 points per column, MLP energy 9-64-64-1, weight 0.3).
//!
//! `cargo bench --bench anomaly`. The peer, scikit-learn's Isolation Forest scoring the same
//! rows, is timed by `benches/pyod/peers.py --throughput` (see BENCHMARKS.md). Scoring cost does
//! not depend on the weights' values, so the network here is freshly initialised rather than
//! trained; the marginal expert is fitted on the rows themselves.

#![allow(missing_docs)] // criterion's macros generate undocumented public functions

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ebm_core::burn::tensor::Device;
use ebm_core::{MarginalKde, MlpEnergyConfig, RobustScaler, TabularEnergy};

fn shuttle() -> (Vec<f64>, usize, usize) {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../datasets/adbench/32_shuttle.npz"
    );
    let table = ebm_data::read_table(path, None).expect("datasets/adbench/32_shuttle.npz");
    (table.values, table.rows, table.cols)
}

fn scoring(c: &mut Criterion) {
    let (values, rows, cols) = shuttle();
    let scaler = RobustScaler::fit(&values, rows, cols);
    let marginal = MarginalKde::fit(&scaler.transform(&values), rows, cols, 1.0, 1024);
    let net = MlpEnergyConfig::new(cols)
        .with_hidden(vec![64, 64])
        .init(&Device::flex(), 0)
        .unwrap();
    let energy = TabularEnergy::new(scaler, marginal, net, 0.3).unwrap();
    let mut group = c.benchmark_group("anomaly");
    group.throughput(Throughput::Elements(rows as u64));
    group.bench_function("score_shuttle_49097", |b| {
        b.iter(|| energy.score_rows(&values).unwrap())
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30);
    targets = scoring
}
criterion_main!(benches);
