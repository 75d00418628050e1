//! Annealed importance sampling of an RBM's `log Z` from the base-rate RBM, checked against the
//! exact value by enumerating the hidden layer.
//!
//! Run: `cargo run -p ebm-mcmc --example ais_rbm`

use ebm_core::burn::tensor::Device;
use ebm_core::rbm::log_z_exact;
use ebm_core::{BaseRateRbm, Rbm, SeededRng};
use ebm_mcmc::{Temperatures, ais_rbm};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let device = Device::flex();
    let rbm = Rbm::new(64, 12, 0.5, 7, &device)?;
    let exact = log_z_exact(&rbm)?;
    let base = BaseRateRbm::from_means(&[0.5; 64], &device)?;
    let temperatures = Temperatures::linear(1000)?;
    let mut rng = SeededRng::new(3);
    let est = ais_rbm(&rbm, &base, 100, &temperatures, &mut rng, |_| {})?;
    let z = (est.log_z - exact) / est.se;
    println!(
        "log Z: AIS {:.4} ± {:.4} (ESS {:.0} of {}), exact {exact:.4}: {z:+.2} standard errors",
        est.log_z, est.se, est.ess, est.chains
    );
    assert!(
        z.abs() < 5.0,
        "AIS is {z:.1} standard errors from the exact log Z"
    );
    Ok(())
}
