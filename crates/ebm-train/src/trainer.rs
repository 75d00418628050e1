//! The contrastive-divergence training loop, with checkpoints and resume.

use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::grad_clipping::GradientClippingConfig;
use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::store::ModuleRecord;
use burn::tensor::{Device, Tensor};
use ebm_core::{Energy, SeededRng};
use serde::{Deserialize, Serialize};

use crate::buffer::{ReplayBuffer, draw_tensor};
use crate::config::{NegativeConfig, TrainConfig};
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
    model: M,
    optim: ModuleOptimizer,
    config: TrainConfig,
    buffer: Option<ReplayBuffer>,
    rng: SeededRng,
    step: usize,
    item_dims: Vec<usize>,
}

/// What a checkpoint stores besides the model, optimiser and buffer tensors.
#[derive(Debug, Serialize, Deserialize)]
struct CheckpointState {
    step: usize,
    rng: SeededRng,
    config: TrainConfig,
    item_dims: Vec<usize>,
    buffer_capacity: Option<usize>,
}

const LATEST: &str = "latest";
const KEEP: usize = 2;

fn adam(config: &TrainConfig) -> ModuleOptimizer {
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
        let mut rng = SeededRng::new(config.seed);
        let buffer = match &config.negatives {
            NegativeConfig::Persistent { capacity, .. } => Some(ReplayBuffer::new(
                *capacity,
                item_dims,
                &config.init,
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
    pub fn step(&mut self, data: Tensor<D>) -> Result<StepMetrics, TrainError> {
        let t0 = Instant::now();
        let dims = data.dims();
        if dims[1..] != self.item_dims[..] || dims[0] == 0 {
            return Err(TrainError::Batch {
                got: dims.to_vec(),
                reason: format!("expected [n >= 1, {:?}] items", self.item_dims),
            });
        }
        let n = dims[0];
        let device = data.device();
        let mut data = data.inner();
        if self.config.data_noise > 0.0 {
            data = data + self.rng.normal(dims, &device) * self.config.data_noise;
            if let Some((lo, hi)) = self.config.sampler.domain() {
                data = data.clamp(lo, hi);
            }
        }
        let (slots, start) = match &self.config.negatives {
            NegativeConfig::CdK => (None, data.clone()),
            NegativeConfig::ShortRun => (
                None,
                draw_tensor(&self.config.init, dims, &mut self.rng, &device),
            ),
            NegativeConfig::Persistent { reinit_prob, .. } => {
                let buffer = self.buffer.as_ref().expect("persistent CD has a buffer");
                let (slots, start) =
                    buffer.sample::<D>(n, *reinit_prob, &self.config.init, &mut self.rng, &device);
                (Some(slots), start)
            }
        };
        let frozen = self.model.valid();
        let (negatives, acceptance) = run_sampler(
            &self.config.sampler,
            &frozen,
            start,
            self.config.sampler_steps,
            &mut self.rng,
        )?;

        let both = Tensor::cat(vec![data, negatives.clone()], 0);
        let alpha = self.config.alpha;
        // dL/dE_i of the loss of `contrastive_loss`: (+-1 + 2 alpha E_i) / n.
        let weight = move |i: usize, e: f32| {
            let sign = if i < n { 1.0 } else { -1.0 };
            ((sign + 2.0 * alpha * e as f64) / n as f64) as f32
        };
        let (stats, grads) = match self.model.weighted_param_grads(both.clone(), &weight) {
            // The energy formed its parameter gradient itself (the CNN on the CPU): the loss
            // statistics come from its energies, on the host.
            Some((energies, grads)) => {
                let e = energies.try_to_vec_as::<f64>().unwrap_or_default();
                let acceptance = acceptance.try_to_vec_as::<f64>().unwrap_or_default();
                (host_loss(&e, n, alpha, acceptance.first().copied()), grads)
            }
            None => {
                let energies = self.model.energy(both);
                let e_pos = energies.clone().slice(0..n);
                let e_neg = energies.slice(n..2 * n);
                let (loss, mean_pos, mean_neg) = contrastive_loss(e_pos, e_neg, alpha);
                let stats = Tensor::cat(
                    vec![
                        loss.clone().inner(),
                        mean_pos.inner(),
                        mean_neg.inner(),
                        acceptance,
                    ],
                    0,
                )
                .into_data()
                .try_to_vec_as::<f64>()
                .unwrap_or_default();
                (
                    stats,
                    GradientsParams::from_grads(loss.backward(), &self.model),
                )
            }
        };
        let (l, ep, en) = (
            stats.first().copied().unwrap_or(f64::NAN),
            stats.get(1).copied().unwrap_or(f64::NAN),
            stats.get(2).copied().unwrap_or(f64::NAN),
        );
        if !(l.is_finite() && ep.is_finite() && en.is_finite()) {
            return Err(TrainError::NonFinite {
                step: self.step + 1,
                loss: l,
                e_pos: ep,
                e_neg: en,
            });
        }
        let grad_norm = grad_norm(&self.model, &grads);
        let lr = self.config.lr_at(self.step);
        self.model = self.optim.step(lr, self.model.clone(), grads);
        if let (Some(slots), Some(buffer)) = (slots, self.buffer.as_mut()) {
            let values = negatives
                .into_data()
                .try_to_vec_as::<f32>()
                .unwrap_or_default();
            buffer.store(&slots, &values);
        }
        self.step += 1;
        Ok(StepMetrics {
            step: self.step,
            loss: l,
            e_pos: ep,
            e_neg: en,
            acceptance: if self.config.sampler.is_adjusted() {
                stats.get(3).copied()
            } else {
                None
            },
            grad_norm,
            lr,
            seconds: t0.elapsed().as_secs_f64(),
        })
    }

    /// Writes a checkpoint under `dir` atomically: everything goes to a temporary directory that
    /// is renamed into place, then the `latest` pointer is replaced by rename. An interruption at
    /// any point leaves the previous checkpoint and pointer intact. Keeps the two newest.
    pub fn save_checkpoint(&self, dir: &Path) -> Result<PathBuf, TrainError> {
        let err = |p: &Path, e: &dyn std::fmt::Display| TrainError::checkpoint(p, e);
        std::fs::create_dir_all(dir).map_err(|e| err(dir, &e))?;
        let name = format!("step-{:08}", self.step);
        let tmp = dir.join(format!(".{name}.tmp"));
        let _ = std::fs::remove_dir_all(&tmp);
        std::fs::create_dir_all(&tmp).map_err(|e| err(&tmp, &e))?;
        save_model_and_optimizer(&tmp, &self.model, &self.optim)?;
        if let Some(buffer) = &self.buffer {
            let bytes: Vec<u8> = buffer.data().iter().flat_map(|v| v.to_le_bytes()).collect();
            write_synced(&tmp.join("buffer.f32"), &bytes)?;
        }
        let state = CheckpointState {
            step: self.step,
            rng: self.rng.clone(),
            config: self.config.clone(),
            item_dims: self.item_dims.clone(),
            buffer_capacity: self.buffer.as_ref().map(ReplayBuffer::capacity),
        };
        write_synced(
            &tmp.join("state.json"),
            serde_json::to_string_pretty(&state)
                .expect("state serialises")
                .as_bytes(),
        )?;
        let target = dir.join(&name);
        let _ = std::fs::remove_dir_all(&target);
        std::fs::rename(&tmp, &target).map_err(|e| err(&target, &e))?;
        let pointer_tmp = dir.join(".latest.tmp");
        write_synced(&pointer_tmp, name.as_bytes())?;
        std::fs::rename(&pointer_tmp, dir.join(LATEST)).map_err(|e| err(&dir.join(LATEST), &e))?;
        prune(dir, KEEP);
        Ok(target)
    }

    /// Resumes from the newest checkpoint under `dir`. `model` is a freshly built model of the
    /// same architecture on the training (autodiff) device; its parameters are replaced.
    pub fn resume(model: M, dir: &Path) -> Result<Self, TrainError> {
        let pointer = dir.join(LATEST);
        let name = std::fs::read_to_string(&pointer).map_err(|e| {
            TrainError::checkpoint(&pointer, format!("no checkpoint to resume from ({e})"))
        })?;
        let ckpt = dir.join(name.trim());
        let state_path = ckpt.join("state.json");
        let text = std::fs::read_to_string(&state_path)
            .map_err(|e| TrainError::checkpoint(&state_path, e))?;
        let state: CheckpointState = serde_json::from_str(&text)
            .map_err(|e| TrainError::checkpoint(&state_path, format!("corrupt: {e}")))?;
        state.config.validate()?;
        let model_path = ckpt.join("model.bpk");
        let record = ModuleRecord::load(&model_path).map_err(|e| {
            TrainError::checkpoint(&model_path, format!("corrupt or unreadable: {e}"))
        })?;
        let model = model.try_load_record(record).map_err(|e| {
            TrainError::checkpoint(&model_path, format!("does not fit this model: {e}"))
        })?;
        let optim_path = ckpt.join("optimizer.bpk");
        let optim = adam(&state.config).load(&optim_path).map_err(|e| {
            TrainError::checkpoint(&optim_path, format!("corrupt or unreadable: {e}"))
        })?;
        let buffer = match state.buffer_capacity {
            None => None,
            Some(capacity) => {
                let path = ckpt.join("buffer.f32");
                let bytes = std::fs::read(&path).map_err(|e| TrainError::checkpoint(&path, e))?;
                let data = bytes
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect();
                Some(
                    ReplayBuffer::from_parts(capacity, state.item_dims.clone(), data).ok_or_else(
                        || {
                            TrainError::checkpoint(
                                &path,
                                format!(
                                    "size {} bytes does not match the buffer's capacity",
                                    bytes.len()
                                ),
                            )
                        },
                    )?,
                )
            }
        };
        Ok(Self {
            model,
            optim,
            config: state.config,
            buffer,
            rng: state.rng,
            step: state.step,
            item_dims: state.item_dims,
        })
    }
}

/// Writes and fsyncs a file.
/// Writes `model.bpk` and `optimizer.bpk` into the checkpoint directory `dir`.
pub(crate) fn save_model_and_optimizer<M: Module>(
    dir: &Path,
    model: &M,
    optim: &ModuleOptimizer,
) -> Result<(), TrainError> {
    let model_path = dir.join("model.bpk");
    model
        .clone()
        .into_record()
        .save(&model_path)
        .map_err(|e| TrainError::checkpoint(&model_path, e))?;
    let optim_path = dir.join("optimizer.bpk");
    optim
        .save(&optim_path)
        .map_err(|e| TrainError::checkpoint(&optim_path, e))
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), TrainError> {
    use std::io::Write;
    let mut f = std::fs::File::create(path).map_err(|e| TrainError::checkpoint(path, e))?;
    f.write_all(bytes)
        .and_then(|_| f.sync_all())
        .map_err(|e| TrainError::checkpoint(path, e))
}

/// Removes all but the `keep` newest `step-*` checkpoints.
fn prune(dir: &Path, keep: usize) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with("step-"))
        .collect();
    names.sort();
    let excess = names.len().saturating_sub(keep);
    for n in &names[..excess] {
        let _ = std::fs::remove_dir_all(dir.join(n));
    }
}

/// The global L2 norm of the parameter gradients (one host read).
/// `[loss, mean E+, mean E-, acceptance]` of [`contrastive_loss`] from host energies `[E+; E-]`.
fn host_loss(e: &[f64], n: usize, alpha: f64, acceptance: Option<f64>) -> Vec<f64> {
    if e.len() != 2 * n {
        return vec![f64::NAN; 4];
    }
    let (pos, neg) = e.split_at(n);
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let mean_sq = |v: &[f64]| v.iter().map(|x| x * x).sum::<f64>() / v.len() as f64;
    let (ep, en) = (mean(pos), mean(neg));
    let loss = ep - en + alpha * (mean_sq(pos) + mean_sq(neg));
    vec![loss, ep, en, acceptance.unwrap_or(f64::NAN)]
}

fn grad_norm<M: Module>(model: &M, grads: &GradientsParams) -> f64 {
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
