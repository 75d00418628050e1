//! Energy-weighted nearest neighbours: the posterior mean over candidate completions.
//!
//! Each of an image's `k` nearest training images (on the observed pixels) completes it,
//! the observed pixels kept: candidates `z_1 .. z_count`. The model weighs them by its
//! Boltzmann factor at temperature `tau`,
//!
//! ```text
//! w_c = exp(-E(z_c) / tau) / sum_c' exp(-E(z_c') / tau),      x = sum_c w_c z_c
//! ```
//!
//! a self-normalised importance-sampling estimate of the posterior mean under `exp(-E / tau)`
//! with the neighbours as the proposal. `tau = inf` is the plain mean of the `count` nearest (the
//! kNN baseline); `tau -> 0` keeps the candidate of lowest energy. `tau` is
//! chosen on a validation split ([`choose_tau`]), so the energy can only be trusted as far as it
//! helps there. For noise (all weights 1, nothing kept) the candidates are the neighbours
//! themselves.

use anyhow::Result;
use burn::tensor::{Device, Tensor, TensorData};
use ebm_core::Energy;

use super::knn::Bank;

/// The temperatures tried on the validation split (`inf`: the energy ignored).
pub const TAU_GRID: [f64; 9] = [1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, f64::INFINITY];
/// Images per energy evaluation.
const CHUNK: usize = 1024;

/// The candidates of a batch of queries and their energies.
pub struct Candidates {
    /// `[count, n, len]`: row `c` holds every query's completion by its `c`-th neighbour.
    pub images: Vec<f32>,
    /// `E(z)` of each candidate, in the same order.
    pub energies: Vec<f64>,
    /// Candidates per query.
    pub count: usize,
    /// Values per image.
    pub len: usize,
}

impl Candidates {
    /// The `count` candidates of every query (`[n, c, h, w]` with `dims` = `[c, h, w]`) and
    /// their energies under `prior`.
    pub fn new(
        bank: &Bank<'_>,
        (queries, weights, keep): (&[f32], &[f32], &[f32]),
        count: usize,
        prior: &dyn Energy<4>,
        dims: [usize; 3],
        device: &Device,
    ) -> Result<Self> {
        let images = bank.neighbours(queries, weights, keep, count);
        let len = bank.len;
        let mut energies = Vec::with_capacity(images.len() / len);
        for chunk in images.chunks(CHUNK * len) {
            let shape = [chunk.len() / len, dims[0], dims[1], dims[2]];
            let x = Tensor::<4>::from_data(TensorData::new(chunk.to_vec(), shape), device);
            let e = prior.energy(x).into_data().try_to_vec_as::<f64>();
            energies.extend(e.map_err(|e| anyhow::anyhow!("reading energies: {e:?}"))?);
        }
        if let Some(bad) = energies.iter().find(|e| !e.is_finite()) {
            anyhow::bail!("the model gave a candidate completion the energy {bad}");
        }
        Ok(Self {
            images,
            energies,
            count,
            len,
        })
    }

    /// The weighted mean of every query's candidates at temperature `tau`.
    pub fn mean(&self, tau: f64) -> Vec<f32> {
        let n = self.images.len() / (self.count * self.len);
        let mut out = vec![0.0f32; n * self.len];
        for (i, o) in out.chunks_mut(self.len).enumerate() {
            let e: Vec<f64> = (0..self.count).map(|c| self.energies[c * n + i]).collect();
            let lo = e.iter().copied().fold(f64::INFINITY, f64::min);
            let w: Vec<f64> = e
                .iter()
                .map(|e| {
                    if tau.is_finite() {
                        (-(e - lo) / tau).exp()
                    } else {
                        1.0
                    }
                })
                .collect();
            let total: f64 = w.iter().sum();
            for (c, wc) in w.iter().enumerate() {
                let z = &self.images[(c * n + i) * self.len..(c * n + i + 1) * self.len];
                let f = (wc / total) as f32;
                for (o, z) in o.iter_mut().zip(z) {
                    *o += f * z;
                }
            }
        }
        out
    }
}

/// The `tau` of [`TAU_GRID`] whose weighted means are closest to `clean` (mean squared error).
pub fn choose_tau(candidates: &Candidates, clean: &[f32]) -> f64 {
    let err = |tau: f64| -> f64 {
        let x = candidates.mean(tau);
        x.iter()
            .zip(clean)
            .map(|(a, b)| f64::from(a - b).powi(2))
            .sum()
    };
    TAU_GRID
        .into_iter()
        .map(|tau| (err(tau), tau))
        .min_by(|a, b| a.0.total_cmp(&b.0))
        .map_or(f64::INFINITY, |(_, tau)| tau)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidates(energies: Vec<f64>) -> Candidates {
        // One query, two candidates of one pixel each: 0 and 1.
        Candidates {
            images: vec![0.0, 1.0],
            energies,
            count: 2,
            len: 1,
        }
    }

    #[test]
    fn infinite_tau_is_the_plain_mean_and_small_tau_the_lowest_energy() {
        let c = candidates(vec![0.0, 1.0]);
        assert_eq!(c.mean(f64::INFINITY), vec![0.5]);
        assert!(c.mean(1e-3)[0] < 1e-6, "the low-energy candidate (0) wins");
        let w1 = 1.0 / (1.0 + 1f64.exp()); // exp(-1) / (1 + exp(-1))
        assert!((f64::from(c.mean(1.0)[0]) - w1).abs() < 1e-6);
    }

    #[test]
    fn tau_is_chosen_by_validation_error() {
        // The clean pixel is 1: the high-energy candidate. A misleading energy must be ignored.
        assert_eq!(
            choose_tau(&candidates(vec![0.0, 1.0]), &[1.0]),
            f64::INFINITY
        );
        // Here the energy points at the truth: the smallest tau wins.
        assert_eq!(choose_tau(&candidates(vec![1.0, 0.0]), &[1.0]), TAU_GRID[0]);
    }
}
