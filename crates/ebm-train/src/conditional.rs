//! Training a [`ConditionalNet`]: contrastive divergence on `(x, y)` pairs, or plain
//! cross-entropy (for the judge classifier that scores generated samples).
//!
//! # Joint contrastive divergence
//!
//! The model is `p(x, y) ∝ exp(-E(x, y))`, `E(x, y) = -f_y(x)`. Its negative log-likelihood
//! gradient is `∇E(x+, y+) - E_{(x, y) ~ p}[∇E(x, y)]`. Negatives are made as in persistent CD
//! (the [`ReplayBuffer`], the configured sampler), with a label per buffer slot (`slot mod K`,
//! so every class keeps its share of chains): `x-` runs the sampler on `E(·, y-)`, i.e. it is a
//! sample of `x` *given* `y`. The label of a negative is then integrated out under the model,
//! `y ~ p(y | x-) = softmax(f(x-))`, which is the Rao-Blackwellised joint CD estimate:
//! `E_{y | x-}[∇E(x-, y)] = ∇E(x-)` with `E(x) = -logsumexp_y f_y(x)`. The loss is
//! [`contrastive_loss`] on
//!
//! ```text
//! e+ = E(x+, y+) = -f_{y+}(x+),       e- = E(x-) = -logsumexp_y f_y(x-)
//! L  = mean e+ - mean e- + alpha mean(e+^2 + e-^2)
//! ```
//!
//! Since `E(x+, y+) = -log p(y+ | x+) + E(x+)`, this equals cross-entropy plus CD on the
//! marginal energy (the decomposition of Grathwohl et al. 2020, JEM): the same network classifies
//! by `argmin_y E(x, y)` and generates `x` given `y` by Langevin dynamics. The generative weight
//! `gamma` ([`ConditionalTrainConfig::generative_weight`], 1 by default) scales the CD part:
//!
//! ```text
//! L = mean(-log p(y+ | x+)) + gamma (mean E(x+) - mean E(x-)) + alpha mean(e+^2 + e-^2)
//! ```
//!
//! Checkpoints and the [`Learner`](crate::Learner) implementation are in
//! [`conditional_io`](crate::conditional_io).

use burn::module::Module;
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::tensor::activation::log_softmax;
use burn::tensor::{Device, Tensor};
use ebm_core::neural::conditional::{log_sum_exp_rows, one_hot};
use ebm_core::{ConditionalNet, LabelEnergy, SeededRng};
use serde::{Deserialize, Serialize};

use crate::augment::random_shift;
use crate::buffer::{BufferFill, ReplayBuffer, draw};
use crate::class_base::ClassGaussians;
use crate::config::{NegativeConfig, TrainConfig};
use crate::error::TrainError;
use crate::loss::contrastive_loss;
use crate::sampler::run_sampler;
use crate::trainer::{adam, grad_norm, host_values};

/// What the network is trained for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Objective {
    /// Joint contrastive divergence on `(x, y)` (a classifier that is also a conditional energy
    /// that generates).
    JointCd,
    /// Cross-entropy only (a discriminative classifier; no sampling).
    CrossEntropy,
}

/// Every setting of a conditional training run: the contrastive-divergence recipe (whose
/// negatives must be persistent for joint CD: the replay buffer carries a label per slot) and
/// the objective.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConditionalTrainConfig {
    /// The CD recipe: seed, batch size, alpha, data noise, sampler, replay buffer, optimiser.
    pub train: TrainConfig,
    /// The objective.
    pub objective: Objective,
    /// Joint CD: the weight `gamma` of the generative term (see the module docs); 1 is the
    /// joint likelihood, smaller values favour classification.
    #[serde(default = "one")]
    pub generative_weight: f64,
    /// JEM++'s informative initialisation: the replay buffer starts from, and re-initialises
    /// from, a per-class Gaussian fitted to the training images ([`ClassGaussians`], handed to
    /// [`ConditionalTrainer::with_base`]) instead of `train.init`; false (the default) for none.
    #[serde(default)]
    pub informative_init: bool,
    /// Data augmentation: each training image moves by a random offset of at most this many
    /// pixels on each axis ([`random_shift`]); 0 (the default) for none.
    #[serde(default)]
    pub max_shift: usize,
}

/// The default generative weight (configs written before it existed).
fn one() -> f64 {
    1.0
}

impl ConditionalTrainConfig {
    /// A small CPU recipe for 28x28 digits in `[-1, 1]`: the tutorial's
    /// ([`TrainConfig::uva_images`]) with batch 64, 20 clipped-SGLD steps (step 10, noise 0.005,
    /// gradient clamp 0.03, pixels clamped to `[-1, 1]`), a buffer of 4096 with 5% restarts,
    /// alpha 0.1, Adam 2e-4 with betas (0, 0.999), seed 0.
    pub fn small(objective: Objective) -> Self {
        let mut train = TrainConfig::uva_images();
        train.seed = 0;
        train.batch_size = 64;
        train.sampler_steps = 20;
        train.negatives = NegativeConfig::Persistent {
            capacity: 4096,
            reinit_prob: 0.05,
            reinit_noise: 0.0,
        };
        train.optimizer.lr = 2e-4;
        Self {
            train,
            objective,
            generative_weight: 1.0,
            informative_init: false,
            max_shift: 0,
        }
    }

    /// Checks the settings; the error names the one at fault.
    pub fn validate(&self) -> Result<(), TrainError> {
        self.train.validate()?;
        if !(self.generative_weight >= 0.0 && self.generative_weight.is_finite()) {
            return Err(TrainError::config(
                "generative_weight",
                format!("must be finite and >= 0, got {}", self.generative_weight),
            ));
        }
        if self.objective == Objective::JointCd
            && !matches!(self.train.negatives, NegativeConfig::Persistent { .. })
        {
            return Err(TrainError::config(
                "negatives",
                "joint CD of a conditional energy needs persistent negatives (a replay buffer)",
            ));
        }
        if let NegativeConfig::Persistent { reinit_noise, .. } = self.train.negatives
            && reinit_noise > 0.0
        {
            return Err(TrainError::config(
                "negatives.reinit_noise",
                "a conditional run re-initialises its buffer by class; noise is not supported",
            ));
        }
        Ok(())
    }
}

/// What one parameter step measured (one host read per step).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConditionalStepMetrics {
    /// The loss.
    pub loss: f64,
    /// Mean `E(x+, y+)` (joint CD) or 0.
    pub e_pos: f64,
    /// Mean `E(x-)` (joint CD) or 0.
    pub e_neg: f64,
    /// Accuracy of `argmin_y E(x+, y)` on the (noised) batch, before the update.
    pub batch_accuracy: f64,
    /// The norm of the parameter gradient.
    pub grad_norm: f64,
    /// The learning rate of the step.
    pub lr: f64,
}

/// One forward pass: the loss (parameters tracked), `[loss, mean e+, mean e-, argmax per
/// item...]` to read back, and the negatives with their buffer slots (joint CD).
struct Pass {
    loss: Tensor<1>,
    stats: Vec<Tensor<1>>,
    negatives: Option<(Vec<usize>, Tensor<4>)>,
}

/// Trains a [`ConditionalNet`] that lives on an autodiff device.
pub struct ConditionalTrainer {
    pub(crate) net: ConditionalNet,
    pub(crate) optim: ModuleOptimizer,
    pub(crate) config: ConditionalTrainConfig,
    pub(crate) buffer: Option<ReplayBuffer>,
    pub(crate) rng: SeededRng,
    pub(crate) step: usize,
    /// The fitted base of the informative initialisation, if any.
    pub(crate) base: Option<ClassGaussians>,
}

impl ConditionalTrainer {
    /// A trainer for `net` (on `device.autodiff()`) with `config`.
    pub fn new(net: ConditionalNet, config: ConditionalTrainConfig) -> Result<Self, TrainError> {
        config.validate()?;
        let mut rng = SeededRng::new(config.train.seed);
        let buffer = match (&config.objective, &config.train.negatives) {
            (Objective::JointCd, NegativeConfig::Persistent { capacity, .. }) => {
                let dims = [net.channels(), net.image_size(), net.image_size()];
                Some(ReplayBuffer::new(
                    *capacity,
                    &dims,
                    &BufferFill::init(&config.train.init),
                    &mut rng,
                ))
            }
            _ => None,
        };
        Ok(Self {
            optim: adam(&config.train),
            net,
            config,
            buffer,
            rng,
            step: 0,
            base: None,
        })
    }

    /// Fills the replay buffer from `base` (slot `i` from class `i mod K`), which also makes the
    /// re-initialised chains from now on: JEM++'s informative initialisation. Fails unless the
    /// base has the network's classes and image size and the recipe asks for it
    /// (`informative_init`). A checkpoint loaded later replaces the buffer; the base stays.
    pub fn with_base(mut self, base: ClassGaussians) -> Result<Self, TrainError> {
        let k = self.net.classes;
        let item = self.net.channels() * self.net.image_size() * self.net.image_size();
        if !self.config.informative_init || base.classes() != k || base.item_len() != item {
            return Err(TrainError::config(
                "informative_init",
                format!(
                    "a base of {} classes of {} values for a network of {k} classes of {item} (informative_init {})",
                    base.classes(),
                    base.item_len(),
                    self.config.informative_init
                ),
            ));
        }
        if let Some(buffer) = self.buffer.as_mut() {
            buffer.refill(&mut |slot, rng| base.draw(slot % k, 1, rng), &mut self.rng);
        }
        self.base = Some(base);
        Ok(self)
    }

    /// The network being trained (parameters tracked).
    pub fn net(&self) -> &ConditionalNet {
        &self.net
    }

    /// The network with its parameters off the autodiff graph (for inference).
    pub fn frozen(&self) -> ConditionalNet {
        self.net.valid()
    }

    /// The settings.
    pub fn config(&self) -> &ConditionalTrainConfig {
        &self.config
    }

    /// Parameter steps done so far.
    pub fn steps_done(&self) -> usize {
        self.step
    }

    /// The replay buffer's contents (joint CD).
    pub fn buffer(&self) -> Option<&ReplayBuffer> {
        self.buffer.as_ref()
    }

    /// One parameter step on images `x` (`[n, c, h, w]`) with labels `labels` (`n` values
    /// `< K`). A non-finite loss or energy is [`TrainError::NonFinite`] and leaves the
    /// parameters, the buffer and the step count unchanged.
    pub fn step(
        &mut self,
        x: Tensor<4>,
        labels: &[usize],
    ) -> Result<ConditionalStepMetrics, TrainError> {
        let dims = x.dims();
        let n = dims[0];
        if n == 0 || labels.len() != n {
            return Err(TrainError::Batch {
                got: dims.to_vec(),
                reason: format!("{} labels for a batch of {n}", labels.len()),
            });
        }
        self.net
            .check_labels("conditional training", labels)
            .map_err(|e| TrainError::Batch {
                got: dims.to_vec(),
                reason: e.to_string(),
            })?;
        let device: Device = x.device();
        let x = random_shift(x.inner(), self.config.max_shift, &mut self.rng)?;
        let x = self.noised(x, &device);
        let targets = one_hot(labels, self.net.classes, &device);
        let pass = match self.config.objective {
            Objective::CrossEntropy => self.cross_entropy(x, targets, &device),
            Objective::JointCd => self.joint_cd(x, targets, &device)?,
        };
        self.finish(pass, labels)
    }

    /// The data with Gaussian noise of the configured scale, clamped to `[-1, 1]`.
    fn noised(&mut self, x: Tensor<4>, device: &Device) -> Tensor<4> {
        let sd = self.config.train.data_noise;
        if sd <= 0.0 {
            return x;
        }
        let noise = self.rng.normal(x.dims(), device);
        (x + noise * sd).clamp(-1.0, 1.0)
    }

    /// Cross-entropy `-mean log softmax(f(x))_y`.
    fn cross_entropy(&self, x: Tensor<4>, targets: Tensor<2>, device: &Device) -> Pass {
        let n = x.dims()[0];
        let logits = self.net.logits(x);
        let loss = (log_softmax(logits.clone(), 1) * targets)
            .sum_dim(1)
            .mean()
            .neg();
        let zero = Tensor::<1>::zeros([1], device);
        let predicted = logits.inner().argmax(1).float().reshape([n]);
        Pass {
            stats: vec![loss.clone().inner(), zero.clone(), zero, predicted],
            loss,
            negatives: None,
        }
    }

    /// Joint CD (see the module docs): negatives given buffer labels, the CD loss on
    /// `E(x+, y+)` and the marginal `E(x-)`.
    fn joint_cd(
        &mut self,
        x: Tensor<4>,
        targets: Tensor<2>,
        device: &Device,
    ) -> Result<Pass, TrainError> {
        let n = x.dims()[0];
        let k = self.net.classes;
        let reinit = match self.config.train.negatives {
            NegativeConfig::Persistent { reinit_prob, .. } => reinit_prob,
            _ => 0.0,
        };
        let buffer = self
            .buffer
            .as_ref()
            .ok_or_else(|| TrainError::config("negatives", "joint CD without a replay buffer"))?;
        if self.config.informative_init && self.base.is_none() {
            return Err(TrainError::config(
                "informative_init",
                "the recipe asks for it: hand the fitted base to ConditionalTrainer::with_base",
            ));
        }
        let init = &self.config.train.init;
        let len = buffer.data().len() / buffer.capacity();
        let base = self.base.as_ref();
        let mut fresh = |slot: usize, rng: &mut SeededRng| match base {
            Some(b) => b.draw(slot % k, 1, rng),
            None => draw(init, len, rng),
        };
        let (slots, start) = buffer.sample_with::<4>(n, reinit, &mut fresh, &mut self.rng, device);
        let neg_labels: Vec<usize> = slots.iter().map(|s| s % k).collect();
        let energy = LabelEnergy::new(self.net.valid(), neg_labels)
            .map_err(|e| TrainError::config("negatives", format!("buffer labels: {e}")))?;
        let steps = self.config.train.sampler_steps;
        let sampler = &self.config.train.sampler;
        let (negatives, _) = run_sampler(sampler, &energy, start, steps, &mut self.rng)?;
        let logits = self.net.logits(Tensor::cat(vec![x, negatives.clone()], 0));
        let pos = logits.clone().slice([0..n, 0..k]);
        let neg = logits.slice([n..2 * n, 0..k]);
        let e_pos = (pos.clone() * targets).sum_dim(1).reshape([n]).neg();
        let e_neg = log_sum_exp_rows(neg).neg();
        let gamma = self.config.generative_weight;
        let marginal_pos = (gamma != 1.0).then(|| log_sum_exp_rows(pos.clone()).neg().mean());
        let (mut loss, mp, mn) = contrastive_loss(e_pos, e_neg, self.config.train.alpha);
        if let Some(marginal_pos) = marginal_pos {
            // e+ = cross-entropy + E(x+): scale the CD part E(x+) - E(x-) to gamma.
            loss = loss + (marginal_pos - mn.clone()) * (gamma - 1.0);
        }
        let predicted = pos.inner().argmax(1).float().reshape([n]);
        Ok(Pass {
            stats: vec![loss.clone().inner(), mp.inner(), mn.inner(), predicted],
            loss,
            negatives: Some((slots, negatives)),
        })
    }

    /// Reads the pass's numbers back, refuses a non-finite one, and takes the Adam step.
    fn finish(
        &mut self,
        pass: Pass,
        labels: &[usize],
    ) -> Result<ConditionalStepMetrics, TrainError> {
        let stats = host_values(Tensor::cat(pass.stats, 0).into_data(), "metrics")?;
        let (l, ep, en) = (stats[0] as f64, stats[1] as f64, stats[2] as f64);
        if !(l.is_finite() && ep.is_finite() && en.is_finite()) {
            return Err(TrainError::NonFinite {
                step: self.step + 1,
                loss: l,
                e_pos: ep,
                e_neg: en,
            });
        }
        let correct = stats[3..]
            .iter()
            .zip(labels)
            .filter(|(p, y)| **p as usize == **y)
            .count();
        let grads = GradientsParams::from_grads(pass.loss.backward(), &self.net);
        let grad_norm = grad_norm(&self.net, &grads);
        TrainError::check_finite(self.step + 1, &[("gradient norm", grad_norm)])?;
        let lr = self.config.train.lr_at(self.step);
        self.net = self.optim.step(lr, self.net.clone(), grads);
        if let (Some((slots, negatives)), Some(buffer)) = (pass.negatives, self.buffer.as_mut()) {
            buffer.store(&slots, &host_values(negatives.into_data(), "negatives")?);
        }
        self.step += 1;
        Ok(ConditionalStepMetrics {
            loss: l,
            e_pos: ep,
            e_neg: en,
            batch_accuracy: correct as f64 / labels.len() as f64,
            grad_norm,
            lr,
        })
    }
}
