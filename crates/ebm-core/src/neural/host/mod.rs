//! The CNN energy and its gradients, derived by hand on contiguous host buffers (CPU).
//!
//! Sampling an image EBM costs one input gradient `dE/dx` per Langevin step, so this is the inner
//! loop of training. burn's autodiff path records a tape, and its CPU convolution works image by
//! image; here the whole network runs on plain `f32` buffers in NHWC layout, every convolution as
//! one im2col and one matrix product per chunk of images, chunks spread over the rayon threads.
//!
//! For a convolution `z = W * a + b` followed by Swish `a' = z sigma(z)`, the backward pass is
//!
//! ```text
//! dz     = da' (.) sigma(z) (1 + z (1 - sigma(z)))        Swish'
//! dcols  = dz W^T                                         [positions, k*k*C_in]
//! da     = col2im(dcols)                                  scatter-add of the patches
//! ```
//!
//! and for the two linear layers `e = w_o . swish(W_h f + b_h) + b_o` it is
//! `df = W_h^T (w_o (.) swish'(z_h))`. For sampling only input gradients are formed (the
//! parameters are constants there); the training pass forms the weight gradients
//! `dW = cols^T dz` instead and skips the input's.
//!
//! The parts: parameter layouts ([`layout`]), im2col ([`im2col`]), Swish ([`swish`]), the matrix
//! products ([`gemm`]), the forward and backward pass of one chunk of images ([`forward`],
//! [`backward`]), parameter gradients ([`grads`]) and the [`HostEnergy`](crate::HostEnergy)
//! implementation of [`CnnEnergy`](crate::CnnEnergy) with its sampler snapshot ([`paths`]); and
//! [`HostMlp`], the MLP energy's forward pass on the same GEMM and Swish, for scoring rows
//! ([`mlp`]).
//! Every entry point checks the batch shape and returns [`EnergyError::Shape`] on a mismatch.

mod backward;
mod forward;
mod gemm;
mod grads;
mod im2col;
mod layout;
mod mlp;
mod paths;
mod swish;

use burn::tensor::{Device, Tensor, TensorData};
use rayon::prelude::*;

use crate::error::EnergyError;
use crate::host::ItemWeight;
use crate::module_energy::check_event_dims;

use backward::Backward;
use forward::Workspace;
pub use grads::HostGrads;
use im2col::HostConv;
pub use mlp::HostMlp;

/// Images per chunk: one chunk is one im2col and one GEMM per layer on one thread.
const CHUNK: usize = 8;

/// The name in shape errors, the same as the CNN energy's.
const NAME: &str = "CNN energy";

thread_local! {
    static WORKSPACE: std::cell::RefCell<Workspace> = std::cell::RefCell::default();
}

/// A snapshot of a [`CnnEnergy`](crate::CnnEnergy)'s parameters in host memory, laid out for
/// GEMM.
///
/// Build it once per set of parameters ([`HostCnn::from_model`]) and evaluate any number of
/// batches; it holds no reference to the model or its device.
#[derive(Debug, Clone)]
pub struct HostCnn {
    channels: usize,
    image_size: usize,
    convs: Vec<HostConv>,
    /// `[features, hidden]`, rows in NHWC order of the last feature map.
    hidden_w: Vec<f32>,
    hidden_b: Vec<f32>,
    /// `[hidden]`.
    out_w: Vec<f32>,
    out_b: f32,
}

impl HostCnn {
    /// Values per image.
    fn image_len(&self) -> usize {
        self.channels * self.image_size * self.image_size
    }

    /// Checks that `dims` is a batch `[N, C, S, S]` of the model's images.
    pub fn check(&self, dims: [usize; 4]) -> Result<(), EnergyError> {
        let (c, s) = (self.channels, self.image_size);
        check_event_dims(NAME, Some(&[c, s, s]), &dims)
    }

    /// Checks `dims` and that `x` holds exactly `dims` values; returns the batch size.
    fn check_host(&self, x: &[f32], dims: [usize; 4]) -> Result<usize, EnergyError> {
        self.check(dims)?;
        let n = dims[0];
        if x.len() != n * self.image_len() {
            return Err(EnergyError::Shape {
                energy: NAME.to_string(),
                expected: format!("{} values for a batch {dims:?}", n * self.image_len()),
                got: vec![x.len()],
            });
        }
        Ok(n)
    }

    /// Energies `[N]` and input gradients `[N * C * H * W]` (NCHW) of the NCHW batch `x` of shape
    /// `dims`. Fails with [`EnergyError::Shape`] if `dims` is not `[N, C, S, S]` of the model or
    /// `x` does not hold `dims` values.
    pub fn energy_and_grad_host(
        &self,
        x: &[f32],
        dims: [usize; 4],
    ) -> Result<(Vec<f32>, Vec<f32>), EnergyError> {
        let n = self.check_host(x, dims)?;
        let len = self.image_len();
        let mut energy = vec![0.0; n];
        let mut grad = vec![0.0; n * len];
        x.par_chunks(CHUNK * len)
            .zip(energy.par_chunks_mut(CHUNK))
            .zip(grad.par_chunks_mut(CHUNK * len))
            .for_each(|((x, e), g)| {
                WORKSPACE.with_borrow_mut(|ws| self.chunk(ws, x, e, Backward::Input(g)))
            });
        Ok((energy, grad))
    }

    /// Energies `[N]` of the NCHW batch `x` of shape `dims` and the parameter gradient of
    /// `L = sum_i c_i E(x_i)`, `c_i = weight(i, E(x_i))`, by the same backward pass with the
    /// weight gradients formed (`dW = cols^T dz` per convolution) and the input's skipped.
    /// Fails as [`Self::energy_and_grad_host`] does.
    pub fn param_grads_host(
        &self,
        x: &[f32],
        dims: [usize; 4],
        weight: &ItemWeight<'_>,
    ) -> Result<(Vec<f32>, HostGrads), EnergyError> {
        let n = self.check_host(x, dims)?;
        let len = self.image_len();
        let mut energy = vec![0.0; n];
        // Per-chunk gradients summed in chunk order, so the result does not depend on how rayon
        // scheduled the chunks (runs are reproducible to the bit).
        let per_chunk: Vec<HostGrads> = x
            .par_chunks(CHUNK * len)
            .zip(energy.par_chunks_mut(CHUNK))
            .enumerate()
            .map(|(i, (x, e))| {
                let mut grads = HostGrads::zeros(self);
                let backward = Backward::Params {
                    first: i * CHUNK,
                    weight,
                    grads: &mut grads,
                };
                WORKSPACE.with_borrow_mut(|ws| self.chunk(ws, x, e, backward));
                grads
            })
            .collect();
        let grads = per_chunk
            .into_iter()
            .fold(HostGrads::zeros(self), HostGrads::add);
        Ok((energy, grads))
    }

    /// [`Self::energy_and_grad_host`] on tensors: `[N, C, H, W]` in, energies `[N]` and the
    /// gradient `[N, C, H, W]` out, on `x`'s device without autodiff. Fails with
    /// [`EnergyError::Shape`] on images of another shape than the model's and with
    /// [`EnergyError::ReadBack`] if `x` cannot be read.
    pub fn energy_and_grad(&self, x: Tensor<4>) -> Result<(Tensor<1>, Tensor<4>), EnergyError> {
        let dims = x.dims();
        self.check(dims)?;
        let device: Device = x.device().inner();
        let values = layout::read("CNN energy: input batch", x)?;
        let (e, g) = self.energy_and_grad_host(&values, dims)?;
        Ok((
            Tensor::from_data(TensorData::new(e, [dims[0]]), &device),
            Tensor::from_data(TensorData::new(g, dims), &device),
        ))
    }
}
