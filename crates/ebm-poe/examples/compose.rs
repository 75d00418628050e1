//! A product of experts: AND of two Gaussian energies is the Gaussian with summed precisions.
//! The composition is an `Energy`, so MALA samples it unchanged; the sample mean is compared with
//! the precision-weighted mean.
//!
//! Run: `cargo run -p ebm-poe --example compose`

use ebm_core::burn::tensor::Device;
use ebm_core::{Gaussian, SeededRng};
use ebm_mcmc::{Mala, RunConfig, StepSize, run};
use ebm_poe::Product;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let device = Device::flex();
    // N(-1, 1) AND N(2, 0.5): precision 1 + 2 = 3, mean (-1 * 1 + 2 * 2) / 3 = 1.
    let a = Gaussian::new(&[-1.0], &[1.0], &device)?;
    let b = Gaussian::new(&[2.0], &[0.5], &device)?;
    let both = Product::new(vec![a, b])?;
    let mut rng = SeededRng::new(0);
    let init = rng.normal([256, 1], &device);
    let mut kernel = Mala::new(StepSize::Shared(0.5))?;
    let config = RunConfig {
        warmup: 200,
        draws: 400,
        ..RunConfig::default()
    };
    let out = run(&both, &mut kernel, init, &config, &mut rng, |_| {})?;
    let x: Vec<f64> = out.coordinate(0).concat();
    let n = x.len() as f64;
    let mean = x.iter().sum::<f64>() / n;
    let var = x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    println!(
        "AND of N(-1, 1) and N(2, 0.5): mean {mean:.3} (exact 1), variance {var:.3} (exact 0.333)"
    );
    // Standard error of the mean from the bulk ESS.
    let se = (var / out.report.min_ess_bulk).sqrt();
    assert!(
        (mean - 1.0).abs() < 5.0 * se,
        "mean {mean} is off by more than 5 se ({se})"
    );
    Ok(())
}
