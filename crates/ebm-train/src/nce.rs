//! Noise-contrastive estimation (Gutmann and Hyvärinen, 2010): an energy learnt by telling data
//! from draws of a known noise density.
//!
//! The model is the noise density times `exp(-f)`: `log p(x) = log q(x) - f(x)`, with `f` an
//! energy module. NCE fits it by logistic regression of "data" against "noise" (`nu` noise draws
//! per data item) with the logit `h(x) = log p(x) - log(nu q(x)) = -f(x) - ln nu`, so `q` is never
//! evaluated, only sampled:
//!
//! ```text
//! L = E_data[softplus(f(x) + ln nu)] + nu E_noise[softplus(-f(x) - ln nu)]
//! ```
//!
//! Its minimiser is `f = log q - log p_data` wherever `q > 0`: `f` learns what the noise misses.
//! The loss and its gradient are first order, so they fit burn's autodiff. Used with the
//! marginal KDE as `q` by the tabular anomaly detector (`ebm_core::TabularEnergy`).

use burn::grad_clipping::GradientClippingConfig;
use burn::module::Module;
use burn::optim::{AdamWConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::activation::softplus;
use burn::tensor::{Tensor, TensorData};
use ebm_core::{Energy, KdeSampler, SeededRng};
use serde::{Deserialize, Serialize};

use crate::error::TrainError;
use crate::trainer::{grad_norm, host_values};

/// A noise density NCE can draw from exactly.
pub trait NoiseSource {
    /// The number of columns of a draw.
    fn cols(&self) -> usize;
    /// `n` draws, row-major `[n, cols]`.
    fn sample(&self, n: usize, rng: &mut SeededRng) -> Vec<f32>;
}

impl NoiseSource for KdeSampler {
    fn cols(&self) -> usize {
        KdeSampler::cols(self)
    }

    fn sample(&self, n: usize, rng: &mut SeededRng) -> Vec<f32> {
        KdeSampler::sample(self, n, rng)
    }
}

/// The settings of an NCE run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NceConfig {
    /// Seed of the noise draws.
    pub seed: u64,
    /// Noise draws per data item, `nu >= 1`.
    pub noise_ratio: usize,
    /// AdamW's learning rate.
    pub lr: f64,
    /// AdamW's decoupled weight decay.
    pub weight_decay: f64,
    /// Clip the gradient's global norm to this, if set.
    pub grad_clip_norm: Option<f64>,
}

impl NceConfig {
    /// Checks the settings, naming the first bad one.
    pub fn validate(&self) -> Result<(), TrainError> {
        if self.noise_ratio == 0 {
            return Err(TrainError::config("noise_ratio", "must be at least 1"));
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return Err(TrainError::config(
                "lr",
                format!("must be positive, got {}", self.lr),
            ));
        }
        if !(self.weight_decay.is_finite() && self.weight_decay >= 0.0) {
            return Err(TrainError::config(
                "weight_decay",
                format!("must be >= 0, got {}", self.weight_decay),
            ));
        }
        Ok(())
    }

    pub(crate) fn optimizer(&self) -> ModuleOptimizer {
        AdamWConfig::new()
            .with_weight_decay(self.weight_decay as f32)
            .with_grad_clipping(
                self.grad_clip_norm
                    .map(|c| GradientClippingConfig::Norm(c as f32)),
            )
            .init()
    }
}

/// What one NCE step measured.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct NceStepMetrics {
    /// The NCE loss `L` of the batch (`2 ln 2` for `nu = 1` at chance).
    pub loss: f64,
    /// The fraction of data and noise items the logit classifies right.
    pub accuracy: f64,
    /// The mean of `f` on the data.
    pub f_data: f64,
    /// The mean of `f` on the noise.
    pub f_noise: f64,
    /// The gradient's global norm before clipping.
    pub grad_norm: f64,
    /// The learning rate of this step.
    pub lr: f64,
}

/// Trains the energy module `f` of [`NceTrainer`] by noise-contrastive estimation against the
/// noise `N` (see the module docs). The model must live on an autodiff device.
pub struct NceTrainer<M, N> {
    pub(crate) model: M,
    pub(crate) optim: ModuleOptimizer,
    pub(crate) config: NceConfig,
    pub(crate) noise: N,
    pub(crate) rng: SeededRng,
    pub(crate) step: usize,
}

impl<M: Module + Energy<2>, N: NoiseSource> NceTrainer<M, N> {
    /// A new run of `model` (on an autodiff device) against `noise`.
    pub fn new(model: M, noise: N, config: NceConfig) -> Result<Self, TrainError> {
        config.validate()?;
        Ok(Self {
            model,
            optim: config.optimizer(),
            rng: SeededRng::new(config.seed),
            config,
            noise,
            step: 0,
        })
    }

    /// The model being trained.
    pub fn model(&self) -> &M {
        &self.model
    }

    /// Parameter steps taken.
    pub fn steps_done(&self) -> usize {
        self.step
    }

    /// One NCE step on the data batch `[n, cols]`: `nu n` noise draws, the loss, an AdamW step.
    pub fn step(&mut self, data: Tensor<2>) -> Result<NceStepMetrics, TrainError> {
        let [n, cols] = data.dims();
        if n == 0 || cols != self.noise.cols() {
            return Err(TrainError::Batch {
                got: vec![n, cols],
                reason: format!("expected [n >= 1, {}] rows", self.noise.cols()),
            });
        }
        let m = n * self.config.noise_ratio;
        let draws = self.noise.sample(m, &mut self.rng);
        let noise = Tensor::<2>::from_data(TensorData::new(draws, [m, cols]), &data.device());
        let f = self.model.energy(Tensor::cat(vec![data, noise], 0));
        let ln_nu = (self.config.noise_ratio as f64).ln();
        let (f_data, f_noise) = (f.clone().slice(0..n), f.slice(n..n + m));
        let loss = softplus(f_data.clone() + ln_nu, 1.0).mean()
            + softplus(f_noise.clone().neg() - ln_nu, 1.0).mean() * self.config.noise_ratio as f64;
        let stats = self.stats(&loss, f_data.inner(), f_noise.inner(), ln_nu)?;
        let grads = GradientsParams::from_grads(loss.backward(), &self.model);
        let norm = grad_norm(&self.model, &grads);
        let step = self.step + 1;
        TrainError::check_finite(step, &[("NCE loss", stats[0]), ("gradient norm", norm)])?;
        self.model = self.optim.step(self.config.lr, self.model.clone(), grads);
        self.step = step;
        Ok(NceStepMetrics {
            loss: stats[0],
            accuracy: stats[1],
            f_data: stats[2],
            f_noise: stats[3],
            grad_norm: norm,
            lr: self.config.lr,
        })
    }

    /// `[loss, accuracy, mean f on data, mean f on noise]` from one host read.
    fn stats(
        &self,
        loss: &Tensor<1>,
        f_data: Tensor<1>,
        f_noise: Tensor<1>,
        ln_nu: f64,
    ) -> Result<[f64; 4], TrainError> {
        let (n, m) = (f_data.dims()[0], f_noise.dims()[0]);
        let right_data = f_data.clone().lower_elem(-ln_nu).float().sum();
        let right_noise = f_noise.clone().greater_elem(-ln_nu).float().sum();
        let all = Tensor::cat(
            vec![
                loss.clone().inner(),
                right_data + right_noise,
                f_data.mean(),
                f_noise.mean(),
            ],
            0,
        );
        let s = host_values(all.into_data(), "NCE statistics")?;
        Ok([
            f64::from(s[0]),
            f64::from(s[1]) / (n + m) as f64,
            f64::from(s[2]),
            f64::from(s[3]),
        ])
    }
}

/// The NCE loss of the module docs on host values of `f` (for tests and checks):
/// `mean softplus(f_data + ln nu) + nu mean softplus(-f_noise - ln nu)`.
pub fn nce_loss(f_data: &[f64], f_noise: &[f64], noise_ratio: usize) -> f64 {
    let sp = |v: f64| if v > 30.0 { v } else { v.exp().ln_1p() };
    let nu = noise_ratio as f64;
    let ln_nu = nu.ln();
    let mean =
        |v: &[f64], g: &dyn Fn(f64) -> f64| v.iter().map(|&x| g(x)).sum::<f64>() / v.len() as f64;
    mean(f_data, &|x| sp(x + ln_nu)) + nu * mean(f_noise, &|x| sp(-x - ln_nu))
}
