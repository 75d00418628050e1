//! AIS on a trained 2-D energy against quadrature: an MLP energy trained by persistent CD on a
//! two-component mixture, its `log Z` on a box by the trapezoid rule and by AIS from the uniform
//! distribution on the same box (both then normalise the same restricted density).

use ebm_core::burn::tensor::Device;
use ebm_core::{Grid, MlpEnergyConfig, SeededRng, normalise};
use ebm_mcmc::{AisAdapt, AisBase, AisConfig, KernelSpec, Temperatures, ais};
use ebm_train::{
    InitDistribution, NegativeConfig, OptimizerConfig, SamplerConfig, TrainConfig, Trainer,
};

/// An MLP energy trained by persistent CD on an equal mixture of N((-1, 0), 0.3^2 I) and
/// N((1, 0.5), 0.3^2 I).
fn trained_energy(device: &Device) -> ebm_core::MlpEnergy {
    let config = TrainConfig {
        seed: 5,
        batch_size: 64,
        alpha: 0.1,
        data_noise: 0.0,
        sampler_steps: 10,
        sampler: SamplerConfig::Mala { eps: 0.05 },
        negatives: NegativeConfig::Persistent {
            capacity: 512,
            reinit_prob: 0.05,
            reinit_noise: 0.0,
        },
        init: InitDistribution::Uniform { lo: -3.0, hi: 3.0 },
        optimizer: OptimizerConfig {
            lr: 3e-3,
            beta1: 0.0,
            beta2: 0.999,
            lr_decay_every: None,
            lr_decay: 1.0,
            grad_clip_norm: Some(1.0),
        },
        checkpoint_every: 1000,
    };
    let model = MlpEnergyConfig::new(2)
        .with_hidden(vec![32, 32])
        .init(&device.clone().autodiff(), 5)
        .unwrap();
    let mut trainer = Trainer::new(model, config, &[2]).unwrap();
    let mut rng = SeededRng::new(6);
    for _ in 0..150 {
        let z = rng.normal([64, 2], device) * 0.3;
        let centres: Vec<f32> = (0..64)
            .flat_map(|i| {
                if i % 2 == 0 {
                    [-1.0f32, 0.0]
                } else {
                    [1.0, 0.5]
                }
            })
            .collect();
        let c = ebm_core::burn::tensor::Tensor::<2>::from_data(
            ebm_core::burn::tensor::TensorData::new(centres, [64, 2]),
            device,
        );
        trainer.step(z + c).unwrap();
    }
    use ebm_core::burn::module::Module;
    trainer.model().valid()
}

#[test]
fn ais_on_a_trained_2d_energy_matches_quadrature_on_the_box() {
    let device = Device::flex();
    let energy = trained_energy(&device);
    let half = 3.0;
    let exact = normalise(&energy, &Grid::square(half, 301).unwrap(), &device).unwrap();
    let cfg = AisConfig {
        chains: 256,
        temperatures: Temperatures::sigmoid(300, 4.0).unwrap(),
        transition: KernelSpec::Mala { eps: 0.1 },
        steps_per_temperature: 1,
        adapt: Some(AisAdapt::default()),
    };
    let est = ais(
        &energy,
        AisBase::UniformBox {
            lo: -half,
            hi: half,
        },
        [cfg.chains, 2],
        &cfg,
        &mut SeededRng::new(7),
        &device,
    )
    .unwrap();
    println!(
        "trained 2-D energy: quadrature log Z {:.4}, AIS {:.4} ± {:.4} ({:+.2} se), ESS {:.1}/{}, accept {:.3}",
        exact.log_z,
        est.log_z,
        est.se,
        (est.log_z - exact.log_z) / est.se,
        est.ess,
        est.chains,
        est.mean_accept
    );
    // The quadrature error at 301 points is ~1e-6 (smooth energy), far below the AIS error.
    assert!(est.ess > 10.0, "ESS {}", est.ess);
    assert!(
        (est.log_z - exact.log_z).abs() < 3.0 * est.se,
        "AIS {} ± {} vs quadrature {}",
        est.log_z,
        est.se,
        exact.log_z
    );
}
