//! Your own burn `Module` as an energy: wrap it with `ModuleEnergy`, then evaluate energies,
//! input gradients (one backward pass, parameters frozen) and log-density ratios.
//!
//! Run: `cargo run -p ebm-core --example custom_energy`

use ebm_core::burn;
use ebm_core::burn::module::Module;
use ebm_core::burn::nn::{Linear, LinearConfig};
use ebm_core::burn::tensor::activation::silu;
use ebm_core::burn::tensor::{Device, Tensor};
use ebm_core::{Energy, ModuleEnergy, SeededRng};

/// A two-layer network with one output: `E(x) = w2 . silu(W1 x + b1) + b2`.
#[derive(Module, Debug)]
struct Net {
    hidden: Linear,
    out: Linear,
}

impl Net {
    fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        self.out.forward(silu(self.hidden.forward(x)))
    }
}

fn main() {
    let device = Device::flex();
    let net = Net {
        hidden: LinearConfig::new(2, 16).init(&device),
        out: LinearConfig::new(16, 1).init(&device),
    };
    // The forward returns [N, 1]; ModuleEnergy reads it as one energy per item.
    let energy = ModuleEnergy::new(net, |m: &Net, x: Tensor<2>| m.forward(x));

    let x = SeededRng::new(0).normal([4, 2], &device);
    let (e, grad) = energy.energy_and_grad(x.clone());
    println!("E(x)    = {:?}", e.to_data().try_to_vec::<f32>().unwrap());
    println!(
        "dE/dx   = {:?}",
        grad.to_data().try_to_vec::<f32>().unwrap()
    );

    // The gradient agrees with a central finite difference of the energy.
    let h = 1e-2;
    let shift = Tensor::<2>::from_floats([[h, 0.0]; 4], &device);
    let fd =
        (energy.energy(x.clone() + shift.clone()) - energy.energy(x.clone() - shift)) / (2.0 * h);
    let fd = fd.to_data().try_to_vec::<f32>().unwrap();
    let g0: Vec<f32> = grad
        .to_data()
        .try_to_vec::<f32>()
        .unwrap()
        .chunks(2)
        .map(|c| c[0])
        .collect();
    for (a, b) in fd.iter().zip(&g0) {
        assert!(
            (a - b).abs() < 1e-2 * (1.0 + b.abs()),
            "finite difference {a} vs gradient {b}"
        );
    }
    println!("finite differences agree with dE/dx[0]: {fd:?}");

    // p(x) / p(x') = exp(E(x') - E(x)): no partition function needed.
    let x2 = x.clone().flip([0]);
    let log_ratio = energy
        .log_ratio(x, x2)
        .to_data()
        .try_to_vec::<f32>()
        .unwrap();
    println!("log p(x) - log p(x') = {log_ratio:?}");
}
