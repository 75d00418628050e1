//! [`HostMlp`]: the forward pass of an [`MlpEnergy`] on host buffers, for scoring many rows.

use burn::nn::Linear;
use rayon::prelude::*;

use super::gemm::{fill_rows, matmul};
use super::layout::{bias_or_zero, read};
use super::swish::bias_swish;
use crate::error::EnergyError;
use crate::neural::MlpEnergy;

/// Rows per GEMM block: each thread pushes blocks of this many rows through every layer, so a
/// block's activations stay in cache.
const BLOCK: usize = 256;

/// A snapshot of an [`MlpEnergy`]'s parameters on the host: `E(x)` of many rows at once, by
/// one GEMM per layer per block of rows, Swish on the vectorised `exp`, blocks spread over
/// threads. Agrees with the tensor forward pass to `f32` rounding.
#[derive(Debug, Clone)]
pub struct HostMlp {
    /// `(weight [in, out] row-major, bias [out])` of every layer, the last one to one output.
    layers: Vec<(Vec<f32>, Vec<f32>)>,
    d_input: usize,
}

fn layer(l: &Linear) -> Result<(Vec<f32>, Vec<f32>), EnergyError> {
    let [_, out] = l.weight.dims();
    Ok((
        read("MLP energy: a weight", l.weight.val())?,
        bias_or_zero(&l.bias, out)?,
    ))
}

impl HostMlp {
    /// Copies the parameters of `model` to the host.
    pub fn from_model(model: &MlpEnergy) -> Result<Self, EnergyError> {
        let layers = model
            .hidden
            .iter()
            .chain(std::iter::once(&model.output))
            .map(layer)
            .collect::<Result<_, _>>()?;
        Ok(Self {
            layers,
            d_input: model.d_input(),
        })
    }

    /// The input dimension `d`.
    pub fn d_input(&self) -> usize {
        self.d_input
    }

    /// The energies of the rows of `x` (row-major, `d` values a row).
    pub fn forward(&self, x: &[f32]) -> Vec<f32> {
        let rows = x.len() / self.d_input;
        let mut out = vec![0.0f32; rows];
        out.par_chunks_mut(BLOCK)
            .zip(x.par_chunks(BLOCK * self.d_input))
            .for_each(|(e, block)| self.block(block, e));
        out
    }

    fn block(&self, x: &[f32], energy: &mut [f32]) {
        let rows = energy.len();
        let (mut a, mut z, mut deriv) = (x.to_vec(), Vec::new(), Vec::new());
        let mut width = self.d_input;
        for (i, (w, b)) in self.layers.iter().enumerate() {
            let out = b.len();
            let hidden = i + 1 < self.layers.len();
            if hidden {
                z.resize(rows * out, 0.0);
            } else {
                fill_rows(&mut z, b, rows);
            }
            matmul(rows, out, width, &mut z, !hidden, &a, false, w, false);
            if hidden {
                deriv.resize(z.len(), 0.0);
                bias_swish(&mut z, b, &mut deriv);
            }
            std::mem::swap(&mut a, &mut z);
            width = out;
        }
        energy.copy_from_slice(&a[..rows]);
    }
}

#[cfg(test)]
mod tests {
    use burn::tensor::{Device, Tensor, TensorData};

    use super::*;
    use crate::neural::MlpEnergyConfig;

    #[test]
    fn matches_the_tensor_forward() {
        let device = Device::flex();
        let model = MlpEnergyConfig::new(5)
            .with_hidden(vec![16, 8])
            .init(&device, 4)
            .unwrap();
        let rows = 600; // more than two blocks, the last one partial
        let x: Vec<f32> = (0..rows * 5)
            .map(|i| ((i * 37 % 101) as f32) / 50.0 - 1.0)
            .collect();
        let host = HostMlp::from_model(&model).unwrap().forward(&x);
        let t = Tensor::<2>::from_data(TensorData::new(x, [rows, 5]), &device);
        let want: Vec<f32> = model.forward(t).into_data().try_to_vec().unwrap();
        for (h, w) in host.iter().zip(&want) {
            assert!((h - w).abs() < 1e-4 * (1.0 + w.abs()), "{h} vs {w}");
        }
    }
}
