//! Training a tagger: exact maximum likelihood, contrastive divergence, or the softmax baseline.
//!
//! Per batch of `B` padded sentences with `N` real tokens, the loss is a per-token average:
//!
//! - [`Objective::Ml`], exact maximum likelihood: `(1/N) sum_b [E(x_b, y_b) + log Z(x_b)]`, with
//!   `log Z` from the forward algorithm in tensor ops ([`crate::crf::Crf::log_partition`]) and its
//!   gradient `E_data[dE/dθ] - E_p(y|x)[dE/dθ]` by autodiff.
//! - Contrastive divergence, [`Objective::CdFfbs`] and [`Objective::CdGibbs`]:
//!   `(1/N) sum_b [E(x_b, y_b) - E(x_b, y_b^-)]` with the negatives `y^-` drawn on the host from
//!   the current model (its unary scores detached): an exact FFBS draw from `p(y | x)` (the
//!   gradient is then an unbiased one-sample estimate of the ML gradient), or `k` block Gibbs
//!   sweeps started at the gold tags (CD-k, biased for small `k`). No `Z` is computed.
//! - [`Objective::Softmax`], the baseline without transitions: the per-token cross-entropy
//!   `-(1/N) sum_(b,t) log softmax(u(x_b, t))[y_bt]`.
//!
//! One backward pass and one Adam step (gradient norm clipped) per batch.

use std::path::Path;
use std::time::Instant;

use burn::grad_clipping::GradientClippingConfig;
use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Tensor, TensorData};
use ebm_core::SeededRng;
use ebm_train::read_module_record;
use serde::{Deserialize, Serialize};

use crate::crf::{PathIndicators, logsumexp};
use crate::error::TagError;
use crate::features::Batch;
use crate::gibbs::gibbs_chain;
use crate::tagger::{Tagger, TaggerConfig, host_unary};
use crate::vocab::UNK;

/// The training objective.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Objective {
    /// Exact maximum likelihood of the chain energy.
    Ml,
    /// Contrastive divergence with exact FFBS negatives.
    CdFfbs,
    /// Contrastive divergence with negatives from block Gibbs sweeps started at the data.
    CdGibbs,
    /// Independent per-token softmax (no transitions): the baseline.
    Softmax,
}

impl Objective {
    /// Whether the objective trains the transitions (everything but the softmax baseline).
    pub fn structured(self) -> bool {
        self != Objective::Softmax
    }

    /// The word that names the objective (see [`Objective::from_word`]).
    pub fn word(self) -> &'static str {
        match self {
            Self::Ml => "ml",
            Self::CdFfbs => "cd-ffbs",
            Self::CdGibbs => "cd-gibbs",
            Self::Softmax => "softmax",
        }
    }

    /// The objective named by a word: `ml`, `cd-ffbs`, `cd-gibbs`, `softmax`.
    pub fn from_word(word: &str) -> Result<Self, TagError> {
        match word {
            "ml" => Ok(Self::Ml),
            "cd-ffbs" => Ok(Self::CdFfbs),
            "cd-gibbs" => Ok(Self::CdGibbs),
            "softmax" => Ok(Self::Softmax),
            other => Err(TagError::invalid(
                "objective",
                format!("{other:?} (expected ml, cd-ffbs, cd-gibbs or softmax)"),
            )),
        }
    }
}

/// Optimisation settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainSettings {
    /// The objective.
    pub objective: Objective,
    /// Adam learning rate.
    pub lr: f64,
    /// Sentences per batch.
    pub batch_size: usize,
    /// Dropout probability on the token input and the hidden layer.
    pub dropout: f32,
    /// Gibbs sweeps per negative for [`Objective::CdGibbs`].
    pub gibbs_sweeps: usize,
    /// Gradient norm clip.
    pub grad_clip: f32,
    /// Seed of initialisation, batch order, dropout and negatives.
    pub seed: u64,
    /// Probability of replacing a known word by the unknown word in training (so the unknown
    /// word's embedding is trained in context and the affix features are relied on).
    #[serde(default)]
    pub word_dropout: f32,
    /// The learning rate decays linearly from `lr` to `lr * lr_final` over `total_steps` steps
    /// (constant without `total_steps`).
    #[serde(default)]
    pub total_steps: Option<usize>,
    /// The final fraction of the learning rate.
    #[serde(default = "one")]
    pub lr_final: f64,
}

fn one() -> f64 {
    1.0
}

impl Default for TrainSettings {
    fn default() -> Self {
        Self {
            objective: Objective::Ml,
            lr: 2e-3,
            batch_size: 32,
            dropout: 0.25,
            gibbs_sweeps: 1,
            grad_clip: 5.0,
            seed: 0,
            word_dropout: 0.0,
            total_steps: None,
            lr_final: 1.0,
        }
    }
}

impl TrainSettings {
    /// The learning rate at step `step`: `lr * (1 - (1 - lr_final) * min(step / total_steps, 1))`.
    pub fn lr_at(&self, step: usize) -> f64 {
        match self.total_steps {
            Some(total) if total > 0 => {
                let f = (step as f64 / total as f64).min(1.0);
                self.lr * (1.0 - (1.0 - self.lr_final) * f)
            }
            _ => self.lr,
        }
    }

    /// Checks the settings are in range.
    pub fn validate(&self) -> Result<(), TagError> {
        if !self.lr.is_finite() || self.lr <= 0.0 {
            return Err(TagError::invalid(
                "lr",
                format!("{} (must be > 0)", self.lr),
            ));
        }
        if self.batch_size == 0 {
            return Err(TagError::invalid("batch size", "must be >= 1"));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(TagError::invalid(
                "dropout",
                format!("{} (must be in [0, 1))", self.dropout),
            ));
        }
        if !(0.0..1.0).contains(&self.word_dropout) {
            return Err(TagError::invalid(
                "word dropout",
                format!("{} (must be in [0, 1))", self.word_dropout),
            ));
        }
        if !(0.0..=1.0).contains(&self.lr_final) {
            return Err(TagError::invalid(
                "lr_final",
                format!("{} (must be in [0, 1])", self.lr_final),
            ));
        }
        if self.objective == Objective::CdGibbs && self.gibbs_sweeps == 0 {
            return Err(TagError::invalid("gibbs sweeps", "must be >= 1"));
        }
        Ok(())
    }
}

/// What one step reports.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct StepReport {
    /// The per-token loss.
    pub loss: f64,
    /// Real tokens in the batch.
    pub tokens: usize,
    /// Seconds spent drawing negatives on the host (CD only).
    pub sample_seconds: f64,
}

/// A tagger being trained on an autodiff device, with its optimiser and random stream.
pub struct TagTrainer {
    pub(crate) model: Tagger,
    pub(crate) optim: ModuleOptimizer,
    pub(crate) settings: TrainSettings,
    pub(crate) config: TaggerConfig,
    pub(crate) rng: SeededRng,
    pub(crate) device: Device,
    pub(crate) steps: usize,
}

impl TagTrainer {
    /// A fresh tagger of shape `config` on `device` (the autodiff device is derived from it).
    pub fn new(
        config: TaggerConfig,
        settings: TrainSettings,
        device: &Device,
    ) -> Result<Self, TagError> {
        settings.validate()?;
        if config.structured != settings.objective.structured() {
            return Err(TagError::invalid(
                "tagger config",
                "`structured` must match the objective (false only for softmax)",
            ));
        }
        let device = device.clone().autodiff();
        let mut rng = SeededRng::new(settings.seed);
        let model = config.init(&device, rng.next_u64())?;
        let optim = adam(&settings);
        Ok(Self {
            model,
            optim,
            settings,
            config,
            rng,
            device,
            steps: 0,
        })
    }

    /// The model (on the autodiff device).
    pub fn model(&self) -> &Tagger {
        &self.model
    }

    /// The model without autodiff tracking, for evaluation.
    pub fn eval_model(&self) -> Tagger {
        self.model.valid()
    }

    /// The settings.
    pub fn settings(&self) -> &TrainSettings {
        &self.settings
    }

    /// The tagger's shape.
    pub fn config(&self) -> &TaggerConfig {
        &self.config
    }

    /// Parameter steps done.
    pub fn steps(&self) -> usize {
        self.steps
    }

    /// The per-token loss of a batch under the objective, as a differentiable scalar, and the
    /// seconds spent sampling negatives.
    pub fn loss(&mut self, batch: &Batch) -> Result<(Tensor<1>, f64), TagError> {
        let tags = batch
            .tags
            .as_ref()
            .ok_or_else(|| TagError::invalid("batch", "training needs gold tags"))?;
        let k = self.config.net.n_tags;
        let (b, s) = (batch.batch, batch.seq);
        let n = batch.n_tokens() as f32;
        let p = self.settings.dropout;
        let dropped;
        let input = if self.settings.word_dropout > 0.0 {
            let mut b = batch.clone();
            for w in b.words.iter_mut() {
                if *w > UNK as i64 && self.rng.uniform_f64() < f64::from(self.settings.word_dropout)
                {
                    *w = UNK as i64;
                }
            }
            dropped = b;
            &dropped
        } else {
            batch
        };
        let unary = self
            .model
            .net
            .forward(input, &self.device, Some((p, &mut self.rng)));
        let gold = PathIndicators::new(tags, &batch.lens, s, k);
        let mut sample_seconds = 0.0;
        let loss = match self.settings.objective {
            Objective::Ml => {
                let mask =
                    Tensor::<2>::from_data(TensorData::new(batch.mask(), [b, s]), &self.device);
                self.model.crf.nll(unary, mask, &gold).sum() / n
            }
            Objective::CdFfbs | Objective::CdGibbs => {
                let t0 = Instant::now();
                let tr = self.model.crf.to_host();
                let host = host_unary(unary.clone().detach(), &batch.lens);
                let mut neg = vec![0usize; b * s];
                for (i, u) in host.iter().enumerate() {
                    let y = if self.settings.objective == Objective::CdFfbs {
                        tr.sample_ffbs(u, &mut self.rng)
                    } else {
                        let init = &tags[i * s..i * s + batch.lens[i]];
                        gibbs_chain(&tr, u, init, self.settings.gibbs_sweeps, &mut self.rng)
                    };
                    neg[i * s..i * s + y.len()].copy_from_slice(&y);
                }
                sample_seconds = t0.elapsed().as_secs_f64();
                let negatives = PathIndicators::new(&neg, &batch.lens, s, k);
                // E(y+) - E(y-) = score(y-) - score(y+) = -score of the indicator difference.
                -self
                    .model
                    .crf
                    .path_score(unary, &gold.minus(&negatives))
                    .sum()
                    / n
            }
            Objective::Softmax => {
                let logp = unary.clone() - logsumexp(unary, 2);
                let onehot =
                    Tensor::<3>::from_data(TensorData::new(gold.onehot, [b, s, k]), &self.device);
                -(logp * onehot).sum() / n
            }
        };
        Ok((loss, sample_seconds))
    }

    /// One parameter step on a batch.
    pub fn step(&mut self, batch: &Batch) -> Result<StepReport, TagError> {
        let (loss, sample_seconds) = self.loss(batch)?;
        let value = loss
            .clone()
            .into_data()
            .try_to_vec::<f32>()
            .ok()
            .and_then(|v| v.first().copied())
            .map(f64::from)
            .unwrap_or(f64::NAN);
        if !value.is_finite() {
            return Err(TagError::Diverged {
                step: self.steps,
                loss: value,
            });
        }
        let grads = GradientsParams::from_grads(loss.backward(), &self.model);
        let lr = self.settings.lr_at(self.steps);
        self.model = self.optim.step(lr, self.model.clone(), grads);
        self.steps += 1;
        Ok(StepReport {
            loss: value,
            tokens: batch.n_tokens(),
            sample_seconds,
        })
    }

    /// Writes the model's parameters to `path` (a `.bpk` file) through a temporary file and a
    /// rename, so an interrupted write leaves the previous file intact.
    pub fn save_model(&self, path: &Path) -> Result<(), TagError> {
        save_model(&self.model, path)
    }
}

/// The optimiser of a run: Adam with the gradient norm clipped at `settings.grad_clip`.
pub(crate) fn adam(settings: &TrainSettings) -> ModuleOptimizer {
    AdamConfig::new()
        .with_grad_clipping(Some(GradientClippingConfig::Norm(settings.grad_clip)))
        .init()
}

/// Writes a tagger's parameters to `path` atomically (temporary file, then rename).
pub fn save_model(model: &Tagger, path: &Path) -> Result<(), TagError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| TagError::checkpoint(dir, e))?;
    }
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("model.bpk");
    let tmp = path.with_file_name(format!(".{name}.tmp"));
    model
        .clone()
        .into_record()
        .save(&tmp)
        .map_err(|e| TagError::checkpoint(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| TagError::checkpoint(path, e))
}

/// Loads a tagger of shape `config` from `path` onto `device`.
pub fn load_model(config: &TaggerConfig, path: &Path, device: &Device) -> Result<Tagger, TagError> {
    let record = read_module_record(path).map_err(|e| TagError::checkpoint(path, e))?;
    config
        .init(device, 0)?
        .try_load_record(record)
        .map_err(|e| TagError::checkpoint(path, format!("does not fit the configured tagger: {e}")))
}
