//! Sampling the restoration posterior: MALA on the free pixels, annealed from a higher
//! temperature, then run at the posterior itself to collect a posterior mean and a minimum-energy
//! estimate.
//!
//! Every image gets `chains` chains (one batch of `chains * n` rows, chain-major). The run has
//! two phases:
//!
//! 1. **Annealing** (`steps - keep` steps in `stages` equal stages): the energy is `U / tau` with
//!    `tau` falling geometrically from `tau_start` to 1 stage by stage. MALA's step size is
//!    adapted chain by chain, `log eps_i += rate (a_i - 0.574)` after every step (`a_i` the
//!    chain's acceptance probability), toward MALA's optimal acceptance rate.
//! 2. **Sampling** (`keep` steps at `tau = 1`, step sizes frozen): exact MALA on `exp(-U)`. The
//!    posterior mean is the average of the kept states over steps and chains; the minimum-energy
//!    estimate is the kept state of lowest `U` over steps and chains. The final state of every
//!    chain is returned too, to show the posterior's spread.

use anyhow::{Result, bail};
use burn::tensor::{Device, Tensor, TensorData};
use ebm_core::SeededRng;
use ebm_mcmc::{ChainState, Kernel, Mala, StepSize};

use super::posterior::Posterior;
use crate::output::host_images;

/// The sampler's settings.
#[derive(Debug, Clone, Copy)]
pub struct AnnealConfig {
    /// Chains per image.
    pub chains: usize,
    /// MALA steps in all.
    pub steps: usize,
    /// Steps of the sampling phase, at the end.
    pub keep: usize,
    /// Annealing stages.
    pub stages: usize,
    /// The first stage's temperature multiplier `tau_start >= 1`.
    pub tau_start: f64,
    /// The initial MALA step size.
    pub step_size: f64,
    /// Rate of the step-size adaptation.
    pub adapt_rate: f64,
}

/// What the chains give for a batch of `n` images.
pub struct Restored {
    /// Posterior mean, `[n, c, h, w]` flattened, clamped to `[-1, 1]`.
    pub mean: Vec<f32>,
    /// Minimum-energy estimate, `[n, c, h, w]`.
    pub min_energy: Vec<f32>,
    /// Every chain's final image, `[chains, n, c, h, w]`.
    pub finals: Vec<f32>,
    /// Mean acceptance probability of the sampling phase.
    pub acceptance: f64,
    /// Mean step size at the end of annealing.
    pub step_size: f64,
}

/// Running sums of the sampling phase.
struct Tally {
    sum: Vec<f64>,
    best: Vec<f32>,
    best_u: Vec<f64>,
    accept: f64,
    count: usize,
}

fn read(x: Tensor<1>) -> Result<Vec<f64>> {
    x.try_to_vec_as::<f64>()
        .map_err(|e| anyhow::anyhow!("reading chain values back: {e:?}"))
}

impl Tally {
    fn new(rows: usize, len: usize) -> Self {
        Self {
            sum: vec![0.0; rows * len],
            best: vec![0.0; rows * len],
            best_u: vec![f64::INFINITY; rows],
            accept: 0.0,
            count: 0,
        }
    }

    fn add(&mut self, image: &[f32], energy: &[f64], accept: f64) {
        let len = image.len() / energy.len().max(1);
        for (s, v) in self.sum.iter_mut().zip(image) {
            *s += f64::from(v.clamp(-1.0, 1.0));
        }
        for (r, &u) in energy.iter().enumerate() {
            if u < self.best_u[r] {
                self.best_u[r] = u;
                self.best[r * len..(r + 1) * len].copy_from_slice(&image[r * len..(r + 1) * len]);
            }
        }
        self.accept += accept;
        self.count += 1;
    }
}

/// The per-image posterior mean and minimum-energy image from a tally over `chains * n` rows.
fn summarise(t: &Tally, chains: usize, n: usize, len: usize) -> (Vec<f32>, Vec<f32>) {
    let mut mean = vec![0.0f64; n * len];
    let mut min_energy = vec![0.0f32; n * len];
    for i in 0..n {
        let rows = (0..chains).map(|c| c * n + i);
        for r in rows.clone() {
            for (m, s) in mean[i * len..(i + 1) * len]
                .iter_mut()
                .zip(&t.sum[r * len..(r + 1) * len])
            {
                *m += s;
            }
        }
        let best = rows
            .min_by(|&a, &b| t.best_u[a].total_cmp(&t.best_u[b]))
            .unwrap_or(i);
        min_energy[i * len..(i + 1) * len].copy_from_slice(&t.best[best * len..(best + 1) * len]);
    }
    let scale = 1.0 / (chains * t.count.max(1)) as f64;
    let mean = mean.into_iter().map(|v| (v * scale) as f32).collect();
    let min_energy = min_energy.into_iter().map(|v| v.clamp(-1.0, 1.0)).collect();
    (mean, min_energy)
}

/// `tau` of annealing stage `s` of `stages`: geometric from `tau_start` to 1 (the last stage).
pub fn stage_tau(tau_start: f64, s: usize, stages: usize) -> f64 {
    if stages <= 1 {
        return 1.0;
    }
    tau_start.powf(1.0 - s as f64 / (stages - 1) as f64)
}

/// Runs the chains. `post` holds the batch's tensors (`[chains * n, ...]`, its `beta` is
/// overwritten), `start` the initial positions.
pub fn sample(
    post: &mut Posterior<'_>,
    start: Tensor<4>,
    cfg: &AnnealConfig,
    rng: &mut SeededRng,
) -> Result<Restored> {
    let dims = start.dims();
    let rows = dims[0];
    let len = dims[1] * dims[2] * dims[3];
    if cfg.chains == 0 || !rows.is_multiple_of(cfg.chains) || cfg.keep == 0 || cfg.keep > cfg.steps
    {
        bail!("need chains >= 1 dividing the batch and 1 <= keep <= steps");
    }
    let mut eps = vec![cfg.step_size; rows];
    let mut position = start;
    let anneal = cfg.steps - cfg.keep;
    let stages = cfg.stages.max(1);
    for s in 0..stages {
        let n_steps = anneal * (s + 1) / stages - anneal * s / stages;
        post.beta = 1.0 / stage_tau(cfg.tau_start, s, stages);
        position = run_stage(post, position, &mut eps, n_steps, cfg.adapt_rate, rng, None)?;
    }
    post.beta = 1.0;
    let mut tally = Tally::new(rows, len);
    position = run_stage(
        post,
        position,
        &mut eps,
        cfg.keep,
        0.0,
        rng,
        Some(&mut tally),
    )?;
    let (finals, _) = host_images(post.compose(position))?;
    let finals = finals.into_iter().map(|v| v.clamp(-1.0, 1.0)).collect();
    let n = rows / cfg.chains;
    let (mean, min_energy) = summarise(&tally, cfg.chains, n, len);
    Ok(Restored {
        mean,
        min_energy,
        finals,
        acceptance: tally.accept / tally.count.max(1) as f64,
        step_size: eps.iter().sum::<f64>() / rows as f64,
    })
}

/// `steps` MALA steps at the posterior's current `beta`, adapting `eps` at `rate` (0: frozen)
/// and adding the kept states to `tally` when given.
fn run_stage(
    post: &Posterior<'_>,
    position: Tensor<4>,
    eps: &mut [f64],
    steps: usize,
    rate: f64,
    rng: &mut SeededRng,
    mut tally: Option<&mut Tally>,
) -> Result<Tensor<4>> {
    if steps == 0 {
        return Ok(position);
    }
    let mut state = ChainState::new(post, position);
    for _ in 0..steps {
        let kernel = Mala::new(StepSize::PerChain(eps.to_vec()))?;
        let (next, info) = kernel.step(post, state, rng);
        state = next;
        let accept = read(info.accept_prob)?;
        if rate > 0.0 {
            for (e, a) in eps.iter_mut().zip(&accept) {
                *e *= (rate * (a - Mala::TARGET_ACCEPT)).exp();
            }
        }
        if let Some(t) = tally.as_deref_mut() {
            let (image, _) = host_images(post.compose(state.position.clone()))?;
            let energy = read(state.energy.clone())?;
            t.add(
                &image,
                &energy,
                accept.iter().sum::<f64>() / accept.len() as f64,
            );
        }
    }
    let energy = read(state.energy.clone())?;
    if let Some(chain) = energy.iter().position(|u| !u.is_finite()) {
        return Err(Diverged {
            chain,
            energy: energy[chain],
        }
        .into());
    }
    Ok(state.position)
}

/// A chain whose posterior energy stopped being finite (the settings let it run off).
#[derive(Debug)]
pub struct Diverged {
    /// The chain.
    pub chain: usize,
    /// Its energy.
    pub energy: f64,
}

impl std::fmt::Display for Diverged {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Self { chain, energy } = self;
        write!(f, "chain {chain} reached a non-finite energy {energy}")
    }
}

impl std::error::Error for Diverged {}

/// `values` (`[n, ...]`) repeated `chains` times along the first axis, as a tensor of `dims`.
pub fn repeat_chains(
    values: &[f32],
    chains: usize,
    dims: [usize; 4],
    device: &Device,
) -> Tensor<4> {
    let mut v = Vec::with_capacity(values.len() * chains);
    for _ in 0..chains {
        v.extend_from_slice(values);
    }
    Tensor::from_data(TensorData::new(v, dims), device)
}

#[cfg(test)]
mod tests {
    use super::*;

    use super::super::test_energy::Quadratic;

    /// Prior N(0, 0.1) per pixel (E = |z|^2 / 2 at T = 0.1), Gaussian likelihood of y = 0.4 with
    /// s^2 = 0.1 on the free pixels: the posterior there is N(0.2, 0.05) (precision 10 + 10, mean
    /// 10 * 0.4 / 20), far enough inside [-1, 1] (3.6 sd) for the clamping not to matter; the
    /// known pixels stay at y.
    fn posterior_mean(likelihood: bool) -> (f64, f64, Restored) {
        let device = Device::default();
        let (n, chains, side) = (1, 8, 10);
        let d = [n * chains, 1, side, side];
        let y = vec![0.4f32; side * side];
        let mut known = vec![0.0f32; side * side];
        known[..10].fill(1.0);
        let prior = Quadratic;
        let mut post = Posterior {
            prior: &prior,
            observed: repeat_chains(&y, chains, d, &device),
            known: repeat_chains(&known, chains, d, &device),
            half_precision: likelihood.then_some(5.0),
            temperature: 0.1,
            wall: 0.0,
            beta: 1.0,
        };
        let cfg = AnnealConfig {
            chains,
            steps: 400,
            keep: 300,
            stages: 2,
            tau_start: 4.0,
            step_size: 0.01,
            adapt_rate: 0.1,
        };
        let x0 = Tensor::<4>::zeros(d, &device);
        let r = sample(&mut post, x0, &cfg, &mut SeededRng::new(7)).unwrap();
        let free = &r.mean[10..];
        let mean = free.iter().map(|v| f64::from(*v)).sum::<f64>() / free.len() as f64;
        // Variance of the final states over chains and free pixels.
        let finals: Vec<f64> = r
            .finals
            .chunks(side * side)
            .flat_map(|img| img[10..].iter().map(|v| f64::from(*v)))
            .collect();
        let m = finals.iter().sum::<f64>() / finals.len() as f64;
        let var = finals.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (finals.len() - 1) as f64;
        (mean, var, r)
    }

    #[test]
    fn chains_sample_a_known_gaussian_posterior() {
        let (mean, var, r) = posterior_mean(true);
        // The estimate averages 90 pixels x 8 chains x 300 correlated steps of N(0.2, 0.05). Even
        // with an integrated autocorrelation time of 20 steps its error's sd is
        // sqrt(0.05 * 20 / (90 * 8 * 300)) = 0.0022; tolerance 0.015 (7 sd).
        assert!((mean - 0.2).abs() < 0.015, "posterior mean {mean}");
        // 720 final draws, independent across pixels and chains: the sample variance's sd is
        // 0.05 sqrt(2 / 720) = 0.0026; tolerance 0.015 (6 sd).
        assert!((var - 0.05).abs() < 0.015, "posterior variance {var}");
        assert!(
            r.acceptance > 0.3 && r.acceptance < 0.95,
            "{}",
            r.acceptance
        );
        // Known pixels are exactly the observation in every estimate.
        assert!(
            r.mean[..10]
                .iter()
                .chain(&r.min_energy[..10])
                .all(|v| *v == 0.4)
        );
        // Negative control: without the likelihood the posterior is N(0, 0.1), mean 0, and the
        // same check fails.
        let (wrong, _, _) = posterior_mean(false);
        assert!((wrong - 0.2).abs() > 0.1, "{wrong}");
    }

    #[test]
    fn annealing_schedule_ends_at_the_posterior() {
        assert_eq!(stage_tau(100.0, 0, 5), 100.0);
        assert!((stage_tau(100.0, 2, 5) - 10.0).abs() < 1e-9);
        assert_eq!(stage_tau(100.0, 4, 5), 1.0);
        assert_eq!(stage_tau(100.0, 0, 1), 1.0);
    }
}
