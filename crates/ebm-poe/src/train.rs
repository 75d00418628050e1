//! Training a [`ConditionalNet`]: contrastive divergence on `(x, y)` pairs, or plain
//! cross-entropy (for the judge classifier that scores generated samples).
//!
//! # Joint contrastive divergence
//!
//! The model is `p(x, y) ∝ exp(-E(x, y))`, `E(x, y) = -f_y(x)`. Its negative log-likelihood
//! gradient is `∇E(x+, y+) - E_{(x, y) ~ p}[∇E(x, y)]`. Negatives are made as in persistent CD
//! (ebm-train's [`ReplayBuffer`], clipped SGLD by [`run_sampler`]), with a label per
//! buffer slot (`slot mod K`, so every class keeps its share of chains): `x-` runs SGLD on
//! `E(·, y-)`, i.e. it is a sample of `x` *given* `y`. The label of a negative is then integrated
//! out under the model, `y ~ p(y | x-) = softmax(f(x-))`, which is the Rao-Blackwellised joint
//! CD estimate: `E_{y | x-}[∇E(x-, y)] = ∇E(x-)` with `E(x) = -logsumexp_y f_y(x)`. The loss is
//! ebm-train's [`contrastive_loss`] on
//!
//! ```text
//! e+ = E(x+, y+) = -f_{y+}(x+),       e- = E(x-) = -logsumexp_y f_y(x-)
//! L  = mean e+ - mean e- + alpha mean(e+^2 + e-^2)
//! ```
//!
//! Since `E(x+, y+) = -log p(y+ | x+) + E(x+)`, this equals cross-entropy plus CD on the
//! marginal energy (the decomposition of Grathwohl et al. 2020): the same network classifies by
//! `argmin_y E(x, y)` and generates `x` given `y` by Langevin dynamics.

use std::time::Instant;

use burn::grad_clipping::GradientClippingConfig;
use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::activation::log_softmax;
use burn::tensor::{Device, Tensor};
use ebm_core::SeededRng;
use ebm_train::{InitDistribution, ReplayBuffer, SamplerConfig, contrastive_loss, run_sampler};
use serde::{Deserialize, Serialize};

use crate::broadcast::log_sum_exp_rows;
use crate::conditional::{ConditionalNet, LabelEnergy, one_hot};
use crate::error::PoeError;

/// What the network is trained for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Objective {
    /// Joint contrastive divergence on `(x, y)` pairs (a conditional energy that generates).
    JointCd,
    /// Cross-entropy only (a discriminative classifier; no sampling).
    CrossEntropy,
}

/// Every setting of a conditional training run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConditionalTrainConfig {
    /// The objective.
    pub objective: Objective,
    /// Seed of every random choice.
    pub seed: u64,
    /// Data pairs per step.
    pub batch_size: usize,
    /// Weight of the energy regulariser `alpha mean(e+^2 + e-^2)` (joint CD).
    pub alpha: f64,
    /// Standard deviation of Gaussian noise added to data images (clamped to `[-1, 1]`).
    pub data_noise: f64,
    /// Sampler steps per parameter step (joint CD).
    pub sampler_steps: usize,
    /// The sampler of the negatives (joint CD).
    pub sampler: SamplerConfig,
    /// Replay-buffer capacity (joint CD).
    pub buffer: usize,
    /// Probability of restarting a chain from uniform noise on `[-1, 1]` (joint CD).
    pub reinit_prob: f64,
    /// Adam's learning rate.
    pub lr: f64,
    /// Adam's `beta_1`.
    pub beta1: f64,
    /// Adam's `beta_2`.
    pub beta2: f64,
    /// Per-parameter gradient-norm clip.
    pub grad_clip_norm: Option<f64>,
}

impl ConditionalTrainConfig {
    /// A small CPU recipe for 28x28 digits in `[-1, 1]`: batch 64, 20 clipped-SGLD steps
    /// (step 10, noise 0.005, gradient clamp 0.03, pixels clamped to `[-1, 1]`), a buffer of
    /// 4096 with 5% restarts, alpha 0.1, Adam 2e-4 with betas (0, 0.999).
    pub fn small(objective: Objective) -> Self {
        Self {
            objective,
            seed: 0,
            batch_size: 64,
            alpha: 0.1,
            data_noise: 0.005,
            sampler_steps: 20,
            sampler: SamplerConfig::Sgld {
                step_size: 10.0,
                noise: 0.005,
                grad_clip: Some(0.03),
                domain: Some((-1.0, 1.0)),
            },
            buffer: 4096,
            reinit_prob: 0.05,
            lr: 2e-4,
            beta1: 0.0,
            beta2: 0.999,
            grad_clip_norm: Some(0.1),
        }
    }

    /// Checks the settings; the error names the one at fault.
    pub fn validate(&self) -> Result<(), PoeError> {
        let bad = |p: &str, r: String| Err(PoeError::invalid("ConditionalTrainConfig", p, r));
        if self.batch_size == 0 {
            return bad("batch_size", "must be >= 1".into());
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return bad("lr", format!("must be finite and > 0, got {}", self.lr));
        }
        if !(self.alpha.is_finite() && self.alpha >= 0.0) {
            return bad(
                "alpha",
                format!("must be finite and >= 0, got {}", self.alpha),
            );
        }
        if !(self.data_noise.is_finite() && self.data_noise >= 0.0) {
            return bad(
                "data_noise",
                format!("must be finite and >= 0, got {}", self.data_noise),
            );
        }
        for (p, b) in [("beta1", self.beta1), ("beta2", self.beta2)] {
            if !(0.0..1.0).contains(&b) {
                return bad(p, format!("must be in [0, 1), got {b}"));
            }
        }
        if self.objective == Objective::JointCd {
            if self.buffer < self.batch_size {
                return bad(
                    "buffer",
                    format!(
                        "must hold at least one batch ({}), got {}",
                        self.batch_size, self.buffer
                    ),
                );
            }
            if !(0.0..=1.0).contains(&self.reinit_prob) {
                return bad(
                    "reinit_prob",
                    format!("must be in [0, 1], got {}", self.reinit_prob),
                );
            }
        }
        Ok(())
    }
}

/// What one parameter step measured (one host read per step).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConditionalStepMetrics {
    /// Steps done, this one included.
    pub step: usize,
    /// The loss.
    pub loss: f64,
    /// Mean `E(x+, y+)` (joint CD) or 0.
    pub e_pos: f64,
    /// Mean `E(x-)` (joint CD) or 0.
    pub e_neg: f64,
    /// Accuracy of `argmin_y E(x+, y)` on the (noised) batch, before the update.
    pub batch_accuracy: f64,
    /// Wall-clock seconds of the step.
    pub seconds: f64,
}

/// Trains a [`ConditionalNet`] that lives on an autodiff device.
pub struct ConditionalTrainer {
    net: ConditionalNet,
    optim: ModuleOptimizer,
    config: ConditionalTrainConfig,
    buffer: Option<ReplayBuffer>,
    rng: SeededRng,
    step: usize,
}

const INIT: InitDistribution = InitDistribution::Uniform { lo: -1.0, hi: 1.0 };

impl ConditionalTrainer {
    /// A trainer for `net` (on `device.autodiff()`) with `config`.
    pub fn new(net: ConditionalNet, config: ConditionalTrainConfig) -> Result<Self, PoeError> {
        config.validate()?;
        let mut rng = SeededRng::new(config.seed);
        let buffer = (config.objective == Objective::JointCd).then(|| {
            ReplayBuffer::new(
                config.buffer,
                &[net.channels, net.image_size, net.image_size],
                &INIT,
                &mut rng,
            )
        });
        let optim = AdamConfig::new()
            .with_beta_1(config.beta1 as f32)
            .with_beta_2(config.beta2 as f32)
            .with_grad_clipping(
                config
                    .grad_clip_norm
                    .map(|c| GradientClippingConfig::Norm(c as f32)),
            )
            .init();
        Ok(Self {
            net,
            optim,
            config,
            buffer,
            rng,
            step: 0,
        })
    }

    /// The network being trained (parameters tracked).
    pub fn net(&self) -> &ConditionalNet {
        &self.net
    }

    /// The network with its parameters off the autodiff graph (for saving and inference).
    pub fn frozen(&self) -> ConditionalNet {
        self.net.valid()
    }

    /// The settings.
    pub fn config(&self) -> &ConditionalTrainConfig {
        &self.config
    }

    /// The replay buffer's contents (joint CD).
    pub fn buffer(&self) -> Option<&ReplayBuffer> {
        self.buffer.as_ref()
    }

    /// One parameter step on images `x` (`[n, c, h, w]`) with labels `labels` (`n` values `< K`).
    pub fn step(
        &mut self,
        x: Tensor<4>,
        labels: &[usize],
    ) -> Result<ConditionalStepMetrics, PoeError> {
        let t0 = Instant::now();
        let dims = x.dims();
        let n = dims[0];
        let k = self.net.classes;
        if n == 0 || labels.len() != n {
            return Err(PoeError::Batch(format!(
                "{} labels for a batch of {n}",
                labels.len()
            )));
        }
        if let Some(y) = labels.iter().find(|&&y| y >= k) {
            return Err(PoeError::Batch(format!(
                "label {y} is out of range for {k} classes"
            )));
        }
        let device: Device = x.device();
        let mut x = x.inner();
        if self.config.data_noise > 0.0 {
            x = (x + self.rng.normal(dims, &device) * self.config.data_noise).clamp(-1.0, 1.0);
        }
        let targets = one_hot(labels, k, &device);
        let (loss, stats_parts, slots_negatives) = match self.config.objective {
            Objective::CrossEntropy => {
                let logits = self.net.logits(x);
                let loss = (log_softmax(logits.clone(), 1) * targets)
                    .sum_dim(1)
                    .mean()
                    .neg();
                let zero = Tensor::<1>::zeros([1], &device);
                (
                    loss.clone(),
                    vec![
                        loss.inner(),
                        zero.clone(),
                        zero,
                        logits.inner().argmax(1).float().reshape([n]),
                    ],
                    None,
                )
            }
            Objective::JointCd => {
                let buffer = self.buffer.as_ref().expect("joint CD has a buffer");
                let (slots, start) =
                    buffer.sample::<4>(n, self.config.reinit_prob, &INIT, &mut self.rng, &device);
                let neg_labels: Vec<usize> = slots.iter().map(|s| s % k).collect();
                let energy = LabelEnergy::new(self.net.valid(), neg_labels)?;
                let (negatives, _) = run_sampler(
                    &self.config.sampler,
                    &energy,
                    start,
                    self.config.sampler_steps,
                    &mut self.rng,
                )?;
                let logits = self.net.logits(Tensor::cat(vec![x, negatives.clone()], 0));
                let pos = logits.clone().slice([0..n, 0..k]);
                let neg = logits.slice([n..2 * n, 0..k]);
                let e_pos = (pos.clone() * targets).sum_dim(1).reshape([n]).neg();
                let e_neg = log_sum_exp_rows(neg).neg();
                let (loss, mp, mn) = contrastive_loss(e_pos, e_neg, self.config.alpha);
                (
                    loss.clone(),
                    vec![
                        loss.inner(),
                        mp.inner(),
                        mn.inner(),
                        pos.inner().argmax(1).float().reshape([n]),
                    ],
                    Some((slots, negatives)),
                )
            }
        };
        let stats = Tensor::cat(stats_parts, 0)
            .into_data()
            .try_to_vec::<f32>()
            .map_err(|e| PoeError::Batch(format!("reading metrics back: {e:?}")))?;
        let (l, ep, en) = (stats[0] as f64, stats[1] as f64, stats[2] as f64);
        if !(l.is_finite() && ep.is_finite() && en.is_finite()) {
            return Err(ebm_train::TrainError::NonFinite {
                step: self.step + 1,
                loss: l,
                e_pos: ep,
                e_neg: en,
            }
            .into());
        }
        let correct = stats[3..]
            .iter()
            .zip(labels)
            .filter(|(p, y)| **p as usize == **y)
            .count();
        let grads = GradientsParams::from_grads(loss.backward(), &self.net);
        self.net = self.optim.step(self.config.lr, self.net.clone(), grads);
        if let (Some((slots, negatives)), Some(buffer)) = (slots_negatives, self.buffer.as_mut()) {
            let values = negatives
                .into_data()
                .try_to_vec::<f32>()
                .map_err(|e| PoeError::Batch(format!("reading negatives back: {e:?}")))?;
            buffer.store(&slots, &values);
        }
        self.step += 1;
        Ok(ConditionalStepMetrics {
            step: self.step,
            loss: l,
            e_pos: ep,
            e_neg: en,
            batch_accuracy: correct as f64 / n as f64,
            seconds: t0.elapsed().as_secs_f64(),
        })
    }
}
