//! Benchmarks (`benches/benches/*.rs`) and what they share.

use ebm_core::BackendKind;
use ebm_core::burn::tensor::Device;

/// The devices a benchmark runs on: flex, then every GPU backend compiled in (`--features wgpu`,
/// `--features cuda`), each with its name for the benchmark id.
pub fn devices() -> Vec<(&'static str, Device)> {
    let mut out = vec![("flex", Device::flex())];
    for kind in [BackendKind::Wgpu, BackendKind::Cuda] {
        if kind.is_compiled() {
            match kind.device() {
                Ok(device) => out.push((kind.word(), device)),
                Err(e) => eprintln!("skipping {}: {e}", kind.word()),
            }
        }
    }
    out
}
