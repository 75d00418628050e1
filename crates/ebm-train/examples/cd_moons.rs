//! Contrastive divergence on two moons through the one training loop: an MLP energy, CD-20 with
//! MALA from the data, then the held-out negative log-likelihood computed exactly by quadrature
//! before and after training.
//!
//! Run: `cargo run -p ebm-train --example cd_moons`

use ebm_core::burn::module::Module;
use ebm_core::burn::tensor::{Device, Tensor};
use ebm_core::{Grid, MlpEnergyConfig};
use ebm_data::ToyDataset;
use ebm_train::{
    Fit, FitConfig, FnBatches, InitDistribution, NegativeConfig, OptimizerConfig, RunDir,
    SamplerConfig, TrainConfig, TrainError, Trainer, exact_nll,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let device = Device::flex();
    let train: Vec<[f32; 2]> = ToyDataset::Moons.sample(4096, 0);
    let test: Vec<[f64; 2]> = ToyDataset::Moons
        .sample(2000, 1)
        .iter()
        .map(|p| [p[0] as f64, p[1] as f64])
        .collect();
    let config = TrainConfig {
        seed: 0,
        batch_size: 256,
        alpha: 0.001,
        data_noise: 0.0,
        sampler_steps: 20,
        sampler: SamplerConfig::Mala { eps: 0.02 },
        negatives: NegativeConfig::CdK,
        init: InitDistribution::Uniform { lo: -4.5, hi: 4.5 },
        optimizer: OptimizerConfig {
            lr: 3e-3,
            beta1: 0.9,
            beta2: 0.999,
            lr_decay_every: None,
            lr_decay: 1.0,
            grad_clip_norm: Some(1.0),
        },
        checkpoint_every: 100,
    };
    let model = MlpEnergyConfig::new(2)
        .with_hidden(vec![64, 64])
        .init(&device.clone().autodiff(), 0)?;
    let mut trainer = Trainer::new(model, config, &[2])?;
    let grid = Grid::square(4.5, 150)?;
    let before = exact_nll(&trainer.model().valid(), &grid, &test, &device)?
        .nll
        .mean;

    let run =
        RunDir::new(std::env::temp_dir().join(format!("ebm-cd-moons-{}", std::process::id())));
    let batches = FnBatches::new(
        train.len(),
        |idx: &[usize]| -> Result<Tensor<2>, TrainError> {
            let points: Vec<[f32; 2]> = idx.iter().map(|&i| train[i]).collect();
            Ok(ebm_data::toy::points_to_tensor(&points, &device))
        },
    );
    let outcome = Fit::new(&run, FitConfig::new(0, 256, 25)).run(&mut trainer, &batches)?;
    let after = exact_nll(&trainer.model().valid(), &grid, &test, &device)?
        .nll
        .mean;
    println!(
        "{} CD steps: held-out NLL {before:.3} -> {after:.3} nats (exact, by quadrature); run folder {}",
        outcome.state.step,
        run.root().display()
    );
    assert!(after < before - 0.5, "training did not lower the NLL");
    std::fs::remove_dir_all(run.root())?;
    Ok(())
}
