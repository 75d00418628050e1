//! A seeded random source that makes every random path of the toolkit reproducible.
//!
//! burn's device RNG is one global stream per backend, so two users of it on different threads
//! interleave and neither is reproducible. [`SeededRng`] is a ChaCha8 stream owned by whoever
//! draws from it: the same seed gives the same tensors on one backend, whatever else runs. Draws
//! are made on the host in `f32` and uploaded; its state serialises (for checkpoints).

use burn::tensor::{Device, Shape, Tensor, TensorData};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::box_muller;

/// Values per block of [`SeededRng::normal_vec_parallel`].
pub const PARALLEL_BLOCK: usize = 8192;

/// A seeded, serialisable random stream that draws tensors.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SeededRng {
    inner: ChaCha8Rng,
}

impl SeededRng {
    /// A stream from a seed.
    pub fn new(seed: u64) -> Self {
        Self {
            inner: ChaCha8Rng::seed_from_u64(seed),
        }
    }

    /// An independent stream derived from this one (for example one per worker), advancing this one.
    pub fn fork(&mut self) -> Self {
        Self::new(self.inner.random())
    }

    /// `n` standard normal draws as `f32`.
    pub fn normal_vec(&mut self, n: usize) -> Vec<f32> {
        (0..n).map(|_| self.inner.sample(StandardNormal)).collect()
    }

    /// `n` standard normal draws as `f32`, made on all threads.
    ///
    /// One draw from this stream seeds a ChaCha8 generator whose stream `b` gives the raw words
    /// of block `b` of [`PARALLEL_BLOCK`] values, so the values depend on the seed alone, not on
    /// the thread count. Each pair of words becomes two normals by the Box-Muller transform, in
    /// SIMD lanes (`box_muller.rs`: a few `f32` ulps, no draw beyond 6.76 standard deviations,
    /// where the normal has 1.4e-11 of its mass), faster than the ziggurat of
    /// [`Self::normal_vec`] (BENCHMARKS.md's roofline: 518 against 310 M draws/s on 2 cores),
    /// whose values these are not.
    pub fn normal_vec_parallel(&mut self, n: usize) -> Vec<f32> {
        let seed: u64 = self.inner.random();
        let mut out = vec![0.0; n];
        out.par_chunks_mut(PARALLEL_BLOCK)
            .enumerate()
            .for_each_init(
                || vec![0u32; PARALLEL_BLOCK],
                |words, (b, block)| {
                    let mut rng = ChaCha8Rng::seed_from_u64(seed);
                    rng.set_stream(b as u64);
                    let words = &mut words[..block.len().next_multiple_of(2)];
                    rng.fill(words);
                    box_muller::fill(words, block);
                },
            );
        out
    }

    /// `n` uniform draws on `[lo, hi)` as `f32`.
    pub fn uniform_vec(&mut self, n: usize, lo: f32, hi: f32) -> Vec<f32> {
        (0..n).map(|_| self.inner.random_range(lo..hi)).collect()
    }

    /// A tensor of standard normal draws.
    pub fn normal<const D: usize>(&mut self, shape: [usize; D], device: &Device) -> Tensor<D> {
        let n = shape.iter().product();
        Tensor::from_data(
            TensorData::new(self.normal_vec(n), Shape::from(shape)),
            device,
        )
    }

    /// A tensor of uniform draws on `[lo, hi)`.
    pub fn uniform<const D: usize>(
        &mut self,
        shape: [usize; D],
        lo: f32,
        hi: f32,
        device: &Device,
    ) -> Tensor<D> {
        let n = shape.iter().product();
        Tensor::from_data(
            TensorData::new(self.uniform_vec(n, lo, hi), Shape::from(shape)),
            device,
        )
    }

    /// One uniform draw on `[0, 1)` as `f64`.
    pub fn uniform_f64(&mut self) -> f64 {
        self.inner.random()
    }

    /// One standard normal draw as `f64`.
    pub fn normal_f64(&mut self) -> f64 {
        self.inner.sample(StandardNormal)
    }

    /// The next raw 64-bit value (for seeding other generators).
    pub fn next_u64(&mut self) -> u64 {
        self.inner.random()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_draws_other_seed_other_draws() {
        let device = Device::flex();
        let a = SeededRng::new(7).normal([3, 4], &device).into_data();
        let b = SeededRng::new(7).normal([3, 4], &device).into_data();
        let c = SeededRng::new(8).normal([3, 4], &device).into_data();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn normal_draws_have_unit_moments() {
        // 100,000 iid N(0, 1): the mean has sd 1/sqrt(n) ~ 0.0032, the variance sd sqrt(2/n) ~ 0.0045.
        for v in [
            SeededRng::new(1).normal_vec(100_000),
            SeededRng::new(1).normal_vec_parallel(100_000),
        ] {
            let n = v.len() as f64;
            let mean = v.iter().map(|&x| x as f64).sum::<f64>() / n;
            let var = v.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / n;
            assert!(mean.abs() < 4.0 / n.sqrt(), "mean {mean}");
            assert!((var - 1.0).abs() < 4.0 * (2.0 / n).sqrt(), "var {var}");
            // Neighbouring values are uncorrelated (lag-1 correlation sd 1/sqrt(n)).
            let lag1 = v.windows(2).map(|w| (w[0] * w[1]) as f64).sum::<f64>() / n;
            assert!(lag1.abs() < 4.0 / n.sqrt(), "lag-1 correlation {lag1}");
        }
    }

    #[test]
    fn parallel_normals_depend_on_the_seed_not_the_thread_count() {
        let n = 5 * PARALLEL_BLOCK + 17;
        let draw = |threads: usize| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| SeededRng::new(3).normal_vec_parallel(n))
        };
        let one = draw(1);
        assert_eq!(one, draw(3));
        // Each block has its own stream: the same positions of two blocks are uncorrelated
        // (correlation sd 1/sqrt(block)), as they would not be if a block repeated another.
        let b = PARALLEL_BLOCK;
        for (i, j) in [(0, 1), (1, 4)] {
            let corr = (0..b)
                .map(|k| (one[i * b + k] * one[j * b + k]) as f64)
                .sum::<f64>()
                / b as f64;
            assert!(
                corr.abs() < 4.0 / (b as f64).sqrt(),
                "blocks {i}, {j}: {corr}"
            );
        }
        assert_ne!(one, SeededRng::new(4).normal_vec_parallel(n));
    }
}
