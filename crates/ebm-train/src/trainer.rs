//! The contrastive-divergence training loop, with checkpoints and resume.

use burn::grad_clipping::GradientClippingConfig;
use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Tensor};
use ebm_core::{Energy, SeededRng};

use crate::buffer::{ReplayBuffer, draw_tensor};
use crate::config::{InitDistribution, NegativeConfig, TrainConfig};
use crate::error::TrainError;
use crate::loss::contrastive_loss;
use crate::metrics::StepMetrics;
use crate::sampler::run_sampler;

/// Trains an energy module by contrastive divergence.
///
/// One [`Trainer::step`]: add `data_noise` to the data batch `x+`; start chains (at the data for
/// CD-k, from the replay buffer for persistent CD, from the initial distribution for short-run);
/// run the configured kernel for `sampler_steps` steps on the frozen model (`Module::valid`) to
/// get `x-`; one forward pass of `[x+; x-]` with the parameters tracked; the loss of
/// [`contrastive_loss`]; one backward pass; an Adam step. The model must live on an autodiff
/// device (`device.autodiff()`).
pub struct Trainer<const D: usize, M> {
    pub(crate) model: M,
    pub(crate) optim: ModuleOptimizer,
    pub(crate) config: TrainConfig,
    pub(crate) buffer: Option<ReplayBuffer>,
    pub(crate) rng: SeededRng,
    pub(crate) step: usize,
    pub(crate) item_dims: Vec<usize>,
}

pub(crate) fn adam(config: &TrainConfig) -> ModuleOptimizer {
    let o = &config.optimizer;
    AdamConfig::new()
        .with_beta_1(o.beta1 as f32)
        .with_beta_2(o.beta2 as f32)
        .with_grad_clipping(
            o.grad_clip_norm
                .map(|c| GradientClippingConfig::Norm(c as f32)),
        )
        .init()
}

impl<const D: usize, M: Module + Energy<D>> Trainer<D, M> {
    /// A new run: `model` on an autodiff device, items of shape `item_dims` (all axes but the batch).
    pub fn new(model: M, config: TrainConfig, item_dims: &[usize]) -> Result<Self, TrainError> {
        config.validate()?;
        if item_dims.len() + 1 != D {
            return Err(TrainError::config(
                "item_dims",
                format!("{} item axes for a rank-{D} model input", item_dims.len()),
            ));
        }
        let item: usize = item_dims.iter().product();
        if let InitDistribution::Mixture(m) = &config.init
            && m.item_len() != item
        {
            return Err(TrainError::config(
                "init mixture",
                format!("components of {} values for items of {item}", m.item_len()),
            ));
        }
        let mut rng = SeededRng::new(config.seed);
        let buffer = match &config.negatives {
            NegativeConfig::Persistent { capacity, .. } => Some(ReplayBuffer::new(
                *capacity,
                item_dims,
                &config.buffer_fill(),
                &mut rng,
            )),
            _ => None,
        };
        Ok(Self {
            optim: adam(&config),
            model,
            config,
            buffer,
            rng,
            step: 0,
            item_dims: item_dims.to_vec(),
        })
    }

    /// The model being trained.
    pub fn model(&self) -> &M {
        &self.model
    }

    /// The run's settings.
    pub fn config(&self) -> &TrainConfig {
        &self.config
    }

    /// Parameter steps done so far.
    pub fn steps_done(&self) -> usize {
        self.step
    }

    /// The replay buffer, for persistent CD.
    pub fn buffer(&self) -> Option<&ReplayBuffer> {
        self.buffer.as_ref()
    }

    /// Fresh samples: chains from the initial distribution run for `steps` sampler steps on the
    /// frozen model. Draws from `rng`, not the run's stream, and leaves the buffer alone, so
    /// sampling never changes the course of training.
    pub fn sample_fresh(
        &self,
        n: usize,
        steps: usize,
        device: &Device,
        rng: &mut SeededRng,
    ) -> Result<Tensor<D>, TrainError> {
        let mut dims = [n; D];
        dims[1..].copy_from_slice(&self.item_dims);
        let start = draw_tensor(&self.config.init, dims, rng, device);
        let (x, _) = run_sampler(&self.config.sampler, &self.model.valid(), start, steps, rng)?;
        Ok(x)
    }

    /// One parameter step on the data batch `data` (`[n, item...]`, any device; values are
    /// moved to the model's device).
    ///
    /// A non-finite loss or energy is [`TrainError::NonFinite`] and leaves the parameters, the
    /// buffer and the step count unchanged.
    pub fn step(&mut self, data: Tensor<D>) -> Result<StepMetrics, TrainError> {
        let dims = data.dims();
        if dims[1..] != self.item_dims[..] || dims[0] == 0 {
            return Err(TrainError::Batch {
                got: dims.to_vec(),
                reason: format!("expected [n >= 1, {:?}] items", self.item_dims),
            });
        }
        let n = dims[0];
        let data = self.noised(data.inner());
        let (slots, start) = self.starts(&data)?;
        let frozen = self.model.valid();
        let (negatives, acceptance) = run_sampler(
            &self.config.sampler,
            &frozen,
            start,
            self.config.sampler_steps,
            &mut self.rng,
        )?;
        let both = Tensor::cat(vec![data, negatives.clone()], 0);
        let (stats, grads) = self.loss_and_grads(both, n, acceptance)?;
        let [l, ep, en, acc] = stats;
        if !(l.is_finite() && ep.is_finite() && en.is_finite()) {
            return Err(TrainError::NonFinite {
                step: self.step + 1,
                loss: l,
                e_pos: ep,
                e_neg: en,
            });
        }
        let grad_norm = grad_norm(&self.model, &grads);
        TrainError::check_finite(self.step + 1, &[("gradient norm", grad_norm)])?;
        let lr = self.config.lr_at(self.step);
        self.model = self.optim.step(lr, self.model.clone(), grads);
        if let (Some(slots), Some(buffer)) = (slots, self.buffer.as_mut()) {
            buffer.store(&slots, &host_values(negatives.into_data(), "negatives")?);
        }
        self.step += 1;
        Ok(StepMetrics {
            loss: l,
            e_pos: ep,
            e_neg: en,
            acceptance: self.config.sampler.is_adjusted().then_some(acc),
            grad_norm,
            lr,
        })
    }

    /// The data batch with the configured noise added (and clamped to the sampler's domain).
    fn noised(&mut self, data: Tensor<D>) -> Tensor<D> {
        if self.config.data_noise <= 0.0 {
            return data;
        }
        let noisy =
            data.clone() + self.rng.normal(data.dims(), &data.device()) * self.config.data_noise;
        match self.config.sampler.domain() {
            Some((lo, hi)) => noisy.clamp(lo, hi),
            None => noisy,
        }
    }

    /// Where the chains start, and the buffer slots they came from (persistent CD).
    fn starts(&mut self, data: &Tensor<D>) -> Result<(Option<Vec<usize>>, Tensor<D>), TrainError> {
        let dims = data.dims();
        let device = data.device();
        Ok(match &self.config.negatives {
            NegativeConfig::CdK => (None, data.clone()),
            NegativeConfig::ShortRun => (
                None,
                draw_tensor(&self.config.init, dims, &mut self.rng, &device),
            ),
            NegativeConfig::Persistent { reinit_prob, .. } => {
                let buffer = self.buffer.as_ref().ok_or_else(|| {
                    TrainError::config("negatives", "persistent CD without a replay buffer")
                })?;
                let (slots, start) = buffer.sample::<D>(
                    dims[0],
                    *reinit_prob,
                    &self.config.buffer_fill(),
                    &mut self.rng,
                    &device,
                );
                (Some(slots), start)
            }
        })
    }

    /// `[loss, mean E+, mean E-, acceptance]` and the parameter gradient of the CD loss on the
    /// batch `[x+; x-]` (`n` of each): from the energy's own host path where it has one, else by
    /// autodiff.
    fn loss_and_grads(
        &self,
        both: Tensor<D>,
        n: usize,
        acceptance: Tensor<1>,
    ) -> Result<([f64; 4], GradientsParams), TrainError> {
        let alpha = self.config.alpha;
        // dL/dE_i of the loss of `contrastive_loss`: (+-1 + 2 alpha E_i) / n.
        let weight = move |i: usize, e: f32| {
            let sign = if i < n { 1.0 } else { -1.0 };
            ((sign + 2.0 * alpha * e as f64) / n as f64) as f32
        };
        let acc = host_values(acceptance.into_data(), "acceptance")?[0] as f64;
        let fast = self
            .model
            .host()
            .and_then(|h| h.weighted_param_grads(both.clone(), &weight))
            .transpose()
            .map_err(|err| TrainError::Batch {
                got: both.dims().to_vec(),
                reason: err.to_string(),
            })?;
        if let Some((energies, grads)) = fast {
            let e = host_values(energies.into_data(), "energies")?;
            return Ok((host_loss(&e, n, alpha, acc), grads));
        }
        let energies = self.model.energy(both);
        let e_pos = energies.clone().slice(0..n);
        let e_neg = energies.slice(n..2 * n);
        let (loss, mean_pos, mean_neg) = contrastive_loss(e_pos, e_neg, alpha);
        let stats = Tensor::cat(
            vec![loss.clone().inner(), mean_pos.inner(), mean_neg.inner()],
            0,
        );
        let s = host_values(stats.into_data(), "loss")?;
        let grads = GradientsParams::from_grads(loss.backward(), &self.model);
        Ok(([s[0] as f64, s[1] as f64, s[2] as f64, acc], grads))
    }
}

/// A tensor's values on the host as `f32`; a failed read is an error naming `what`.
pub(crate) fn host_values(
    data: burn::tensor::TensorData,
    what: &str,
) -> Result<Vec<f32>, TrainError> {
    data.convert::<f32>()
        .try_into_vec::<f32>()
        .map_err(|e| TrainError::Diverged {
            step: 0,
            what: format!("{what} (unreadable: {e:?})"),
            value: f64::NAN,
        })
}

/// The global L2 norm of the parameter gradients (one host read).
/// `[loss, mean E+, mean E-, acceptance]` of [`contrastive_loss`] from host energies `[E+; E-]`.
fn host_loss(e: &[f32], n: usize, alpha: f64, acceptance: f64) -> [f64; 4] {
    if e.len() != 2 * n {
        return [f64::NAN; 4];
    }
    let (pos, neg) = e.split_at(n);
    let mean = |v: &[f32]| v.iter().map(|&x| x as f64).sum::<f64>() / v.len() as f64;
    let mean_sq = |v: &[f32]| v.iter().map(|&x| (x as f64).powi(2)).sum::<f64>() / v.len() as f64;
    let (ep, en) = (mean(pos), mean(neg));
    [
        ep - en + alpha * (mean_sq(pos) + mean_sq(neg)),
        ep,
        en,
        acceptance,
    ]
}

/// The global L2 norm of the parameter gradients (one host read).
pub(crate) fn grad_norm<M: Module>(model: &M, grads: &GradientsParams) -> f64 {
    struct SumSquares<'a> {
        grads: &'a GradientsParams,
        total: Option<Tensor<1>>,
    }
    impl ModuleVisitor for SumSquares<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            if let Some(g) = self.grads.get::<D>(param.id) {
                let s = g.powi_scalar(2).sum();
                self.total = Some(match self.total.take() {
                    Some(t) => t + s,
                    None => s,
                });
            }
        }
    }
    let mut v = SumSquares { grads, total: None };
    model.visit(&mut v);
    v.total
        .map_or(0.0, |t| t.into_scalar::<f32>() as f64)
        .sqrt()
}
