//! Every training setting in one serialisable config, saved beside the run.

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};

use crate::buffer::BufferFill;
use crate::error::TrainError;
use crate::mixture_base::GaussianMixture;

/// How the negative samples `x-` are started before the sampler runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum NegativeConfig {
    /// CD-k: chains start at the data batch.
    CdK,
    /// Persistent CD: chains start from a replay buffer of past negatives; each start is replaced
    /// by a fresh draw with probability `reinit_prob`. The buffer's fresh draws (its first fill
    /// and its re-initialisations) come from the initial distribution, or with probability
    /// `reinit_noise` from uniform noise on the sampler's domain: a base near the data trains the
    /// energy where fresh chains start, the noise keeps it trained far from the data.
    Persistent {
        /// Buffer capacity (items).
        capacity: usize,
        /// Probability of re-initialising a chain.
        reinit_prob: f64,
        /// Share of the buffer's fresh draws taken from uniform noise on the sampler's domain
        /// instead of the initial distribution (0, the default, for none).
        #[serde(default, skip_serializing_if = "is_zero")]
        reinit_noise: f64,
    },
    /// Short-run chains: every chain starts from the initial distribution.
    ShortRun,
}

/// The initial distribution of fresh chains.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum InitDistribution {
    /// Uniform on `[lo, hi)` in every coordinate.
    Uniform {
        /// Lower bound.
        lo: f32,
        /// Upper bound.
        hi: f32,
    },
    /// `N(0, std^2)` in every coordinate.
    Normal {
        /// Standard deviation.
        std: f32,
    },
    /// A mixture of diagonal Gaussians fitted to the training data
    /// ([`GaussianMixture::fit_kmeans`]), draws clamped to the data's range.
    Mixture(GaussianMixture),
}

impl InitDistribution {
    /// Checks the parameters: `lo < hi`, `std > 0` (NaN fails).
    pub fn validate(&self) -> Result<(), TrainError> {
        match self {
            InitDistribution::Uniform { lo, hi } if lo.partial_cmp(hi) != Some(Ordering::Less) => {
                Err(TrainError::config(
                    "init",
                    format!("uniform needs lo < hi, got [{lo}, {hi}]"),
                ))
            }
            InitDistribution::Normal { std }
                if std.partial_cmp(&0.0) != Some(Ordering::Greater) =>
            {
                Err(TrainError::config(
                    "init",
                    format!("normal needs std > 0, got {std}"),
                ))
            }
            InitDistribution::Mixture(m) => m.validate(),
            _ => Ok(()),
        }
    }
}

/// A short name for messages: `uniform on [lo, hi]`, `normal, sd S`, or the mixture's own.
impl std::fmt::Display for InitDistribution {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InitDistribution::Uniform { lo, hi } => write!(f, "uniform on [{lo}, {hi}]"),
            InitDistribution::Normal { std } => write!(f, "normal, sd {std}"),
            InitDistribution::Mixture(m) => m.fmt(f),
        }
    }
}

/// The sampler that turns starts into negatives: any kernel of `ebm-mcmc`, as its
/// [`KernelSpec`](ebm_mcmc::KernelSpec) (same JSON: tagged by `kind`, e.g.
/// `{"kind": "mala", "eps": 0.02}`).
pub use ebm_mcmc::KernelSpec as SamplerConfig;

/// Adam with step decay and gradient clipping.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OptimizerConfig {
    /// Learning rate.
    pub lr: f64,
    /// Adam's `beta_1` (the tutorial uses 0).
    pub beta1: f64,
    /// Adam's `beta_2`.
    pub beta2: f64,
    /// Multiply the learning rate by `lr_decay` every `lr_decay_every` steps (never if `None`).
    pub lr_decay_every: Option<usize>,
    /// The decay factor.
    pub lr_decay: f64,
    /// Clip each parameter tensor's gradient to this L2 norm (burn's per-parameter norm clipping).
    pub grad_clip_norm: Option<f64>,
}

/// All settings of a contrastive-divergence run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Seed of every random choice of the run.
    pub seed: u64,
    /// Data items per step.
    pub batch_size: usize,
    /// Weight of the energy regulariser `alpha * mean(E(x+)^2 + E(x-)^2)`.
    pub alpha: f64,
    /// Standard deviation of Gaussian noise added to data batches (0 for none).
    pub data_noise: f64,
    /// Sampler steps per parameter step.
    pub sampler_steps: usize,
    /// The sampler.
    pub sampler: SamplerConfig,
    /// How negatives start.
    pub negatives: NegativeConfig,
    /// The initial distribution of fresh chains.
    pub init: InitDistribution,
    /// The optimiser.
    pub optimizer: OptimizerConfig,
    /// Write a checkpoint every this many steps (and at the end).
    pub checkpoint_every: usize,
}

impl TrainConfig {
    /// The UvA tutorial's recipe for 28x28 digits in `[-1, 1]`: persistent CD with a buffer of
    /// 8192 and 5% re-initialisation, 60 clipped-SGLD steps (step 10, noise 0.005, gradient clamp
    /// 0.03), alpha 0.1, Adam 1e-4 with betas (0, 0.999), batch 128.
    pub fn uva_images() -> Self {
        Self {
            seed: 42,
            batch_size: 128,
            alpha: 0.1,
            data_noise: 0.005,
            sampler_steps: 60,
            sampler: SamplerConfig::Sgld {
                step_size: 10.0,
                noise: 0.005,
                grad_clip: Some(0.03),
                domain: Some((-1.0, 1.0)),
            },
            negatives: NegativeConfig::Persistent {
                capacity: 8192,
                reinit_prob: 0.05,
                reinit_noise: 0.0,
            },
            init: InitDistribution::Uniform { lo: -1.0, hi: 1.0 },
            optimizer: OptimizerConfig {
                lr: 1e-4,
                beta1: 0.0,
                beta2: 0.999,
                lr_decay_every: None,
                lr_decay: 1.0,
                grad_clip_norm: Some(0.1),
            },
            checkpoint_every: 50,
        }
    }

    /// Checks every setting; the error names the one at fault.
    pub fn validate(&self) -> Result<(), TrainError> {
        let positive = |name: &str, v: f64| {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                Err(TrainError::config(
                    name,
                    format!("must be finite and > 0, got {v}"),
                ))
            }
        };
        if self.batch_size == 0 {
            return Err(TrainError::config("batch_size", "must be >= 1"));
        }
        if !(self.alpha.is_finite() && self.alpha >= 0.0) {
            return Err(TrainError::config(
                "alpha",
                format!("must be finite and >= 0, got {}", self.alpha),
            ));
        }
        if !(self.data_noise.is_finite() && self.data_noise >= 0.0) {
            return Err(TrainError::config("data_noise", "must be finite and >= 0"));
        }
        if self.checkpoint_every == 0 {
            return Err(TrainError::config("checkpoint_every", "must be >= 1"));
        }
        self.sampler.validate()?;
        positive("optimizer.lr", self.optimizer.lr)?;
        for (name, b) in [
            ("optimizer.beta1", self.optimizer.beta1),
            ("optimizer.beta2", self.optimizer.beta2),
        ] {
            if !(0.0..1.0).contains(&b) {
                return Err(TrainError::config(
                    name,
                    format!("must be in [0, 1), got {b}"),
                ));
            }
        }
        positive("optimizer.lr_decay", self.optimizer.lr_decay)?;
        if let Some(c) = self.optimizer.grad_clip_norm {
            positive("optimizer.grad_clip_norm", c)?;
        }
        if let NegativeConfig::Persistent {
            capacity,
            reinit_prob,
            reinit_noise,
        } = &self.negatives
        {
            if *capacity < self.batch_size {
                return Err(TrainError::config(
                    "negatives.capacity",
                    format!(
                        "the replay buffer ({capacity}) must hold at least one batch ({})",
                        self.batch_size
                    ),
                ));
            }
            if !(0.0..=1.0).contains(reinit_prob) {
                return Err(TrainError::config(
                    "negatives.reinit_prob",
                    format!("must be in [0, 1], got {reinit_prob}"),
                ));
            }
            if !(0.0..=1.0).contains(reinit_noise) {
                return Err(TrainError::config(
                    "negatives.reinit_noise",
                    format!("must be in [0, 1], got {reinit_noise}"),
                ));
            }
            if *reinit_noise > 0.0 && self.sampler.domain().is_none() {
                return Err(TrainError::config(
                    "negatives.reinit_noise",
                    "noise is drawn on the sampler's domain, and the sampler has none",
                ));
            }
        }
        self.init.validate()
    }

    /// Where the replay buffer's fresh items come from (persistent CD): the initial distribution,
    /// a share `reinit_noise` of them uniform noise on the sampler's domain.
    pub fn buffer_fill(&self) -> BufferFill<'_> {
        let noise = match (&self.negatives, self.sampler.domain()) {
            (NegativeConfig::Persistent { reinit_noise, .. }, Some(range))
                if *reinit_noise > 0.0 =>
            {
                Some((*reinit_noise, range))
            }
            _ => None,
        };
        BufferFill::new(&self.init, noise)
    }

    /// The learning rate at `step` (step decay).
    pub fn lr_at(&self, step: usize) -> f64 {
        match self.optimizer.lr_decay_every {
            Some(every) if every > 0 => {
                self.optimizer.lr * self.optimizer.lr_decay.powi((step / every) as i32)
            }
            _ => self.optimizer.lr,
        }
    }
}

/// `serde`'s test for leaving a zero share out of the saved config.
fn is_zero(v: &f64) -> bool {
    *v == 0.0
}
