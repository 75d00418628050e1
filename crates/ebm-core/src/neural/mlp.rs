//! A multilayer perceptron energy with Swish activations.

use burn::config::Config;
use burn::module::Module;
use burn::nn::Linear;
use burn::tensor::activation::sigmoid;
use burn::tensor::{Device, Tensor};

use crate::energy::{Energy, autodiff_energy_and_grad};
use crate::error::EnergyError;
use crate::module_energy::check_event_dims;
use crate::neural::init::linear;
use crate::rng::SeededRng;

/// Configuration of an [`MlpEnergy`], built with [`MlpEnergyConfig::init`].
#[derive(Config, Debug)]
pub struct MlpEnergyConfig {
    /// The input dimension `d`.
    pub d_input: usize,
    /// The widths of the hidden layers.
    #[config(default = "vec![128, 128]")]
    pub hidden: Vec<usize>,
}

/// `E(x) = w_L^T h_{L-1} + b_L`, `h_l = swish(W_l h_{l-1} + b_l)`, `h_0 = x`, with
/// `swish(a) = a * sigmoid(a)`: a smooth energy on `[N, d]` inputs.
#[derive(Module, Debug)]
pub struct MlpEnergy {
    /// The hidden layers, each followed by Swish.
    pub hidden: Vec<Linear>,
    /// The last layer, to one output.
    pub output: Linear,
}

impl MlpEnergyConfig {
    /// Builds the network on `device` with parameters drawn from `seed` (PyTorch's default
    /// uniform fan-in initialisation). Fails on a zero input dimension or width.
    pub fn init(&self, device: &Device, seed: u64) -> Result<MlpEnergy, EnergyError> {
        if self.d_input == 0 || self.hidden.contains(&0) {
            return Err(EnergyError::InvalidParameter {
                energy: "MlpEnergy".into(),
                parameter: "d_input / hidden".into(),
                reason: format!(
                    "all widths must be >= 1, got d_input = {} and hidden = {:?}",
                    self.d_input, self.hidden
                ),
            });
        }
        let mut rng = SeededRng::new(seed);
        let mut width = self.d_input;
        let mut hidden = Vec::with_capacity(self.hidden.len());
        for &w in &self.hidden {
            hidden.push(linear(width, w, &mut rng, device));
            width = w;
        }
        Ok(MlpEnergy {
            hidden,
            output: linear(width, 1, &mut rng, device),
        })
    }
}

/// `a sigmoid(a)` with the sigmoid's argument clamped to `[-80, 80]`.
///
/// Beyond that range the sigmoid is 0 or 1 to `f32` precision (`sigmoid(-80) = 1.8e-35`), so the
/// values are Swish's to within 1e-33; but the CPU's `expf` of an argument past 88 takes libm's
/// slow overflow path, which made the steps of chains far out in the tails several times dearer.
fn swish(a: Tensor<2>) -> Tensor<2> {
    a.clone() * sigmoid(a.clamp(-80.0, 80.0))
}

impl MlpEnergy {
    /// The input dimension `d`.
    pub fn d_input(&self) -> usize {
        let layer = self.hidden.first().unwrap_or(&self.output);
        layer.weight.dims()[0]
    }

    /// The forward pass, `[N, d] -> [N]`.
    pub fn forward(&self, x: Tensor<2>) -> Tensor<1> {
        let h = self
            .hidden
            .iter()
            .fold(x, |h, layer| swish(layer.forward(h)));
        let out = self.output.forward(h);
        let [n, _] = out.dims();
        out.reshape([n])
    }
}

impl Energy<2> for MlpEnergy {
    fn energy(&self, x: Tensor<2>) -> Tensor<1> {
        self.forward(x)
    }

    fn name(&self) -> String {
        format!("MLP energy (d = {})", self.d_input())
    }

    fn check_input(&self, dims: [usize; 2]) -> Result<(), EnergyError> {
        check_event_dims(&self.name(), Some(&[self.d_input()]), &dims)
    }

    fn energy_and_grad(&self, x: Tensor<2>) -> (Tensor<1>, Tensor<2>) {
        autodiff_energy_and_grad(&self.valid(), x)
    }
}
