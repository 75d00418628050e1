//! MALA on the banana (Rosenbrock-like) density, with dual-averaging step-size adaptation during
//! warm-up, then split R-hat and bulk ESS; the sample mean of the first coordinate is printed
//! beside that of exact draws.
//!
//! Run: `cargo run -p ebm-mcmc --example mala_banana`

use ebm_core::burn::tensor::Device;
use ebm_core::{Banana, SeededRng};
use ebm_mcmc::{Mala, RunConfig, StepSize, run};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let device = Device::flex();
    let target = Banana::new(2, 0.1, &device)?;
    let mut rng = SeededRng::new(1);
    let chains = 64;
    // Chains start at exact draws (the banana's long axis has sd 10, which chains started near
    // the origin take thousands of steps to spread over), so warm-up only tunes the step size.
    let init = target.sample(chains, &mut rng);
    let mut kernel = Mala::new(StepSize::Shared(0.1))?;
    let config = RunConfig {
        warmup: 300,
        draws: 2000,
        ..RunConfig::default()
    };
    let out = run(&target, &mut kernel, init, &config, &mut rng, |_| {})?;
    let r = &out.report;
    println!(
        "MALA on the banana: step {:.3}, acceptance {:.2}, max R-hat {:.3}, min bulk ESS {:.0}",
        r.step_size.mean(),
        r.accept_rate.iter().sum::<f64>() / r.accept_rate.len() as f64,
        r.max_rhat,
        r.min_ess_bulk
    );
    let x0: Vec<f64> = out.coordinate(0).concat();
    let mean = x0.iter().sum::<f64>() / x0.len() as f64;
    let exact = target
        .sample(20_000, &mut rng)
        .to_data()
        .try_to_vec::<f32>()?;
    let exact_mean = exact.chunks(2).map(|c| c[0] as f64).sum::<f64>() / 20_000.0;
    println!("mean of x0: MALA {mean:.3}, exact draws {exact_mean:.3}");
    // MALA mixes slowly along the long axis (sd 10 against a step of about 0.5), so R-hat above
    // 1.01 here says "draw more, or use HMC", which is what R-hat is for.
    if r.max_rhat > 1.01 {
        println!(
            "R-hat {:.2} > 1.01: these chains need more draws (or HMC) for the long axis",
            r.max_rhat
        );
    }
    let acceptance = r.accept_rate.iter().sum::<f64>() / r.accept_rate.len() as f64;
    assert!(
        (0.4..0.8).contains(&acceptance),
        "adaptation missed its target: {acceptance}"
    );
    Ok(())
}
