//! A simple fitted base for fresh chains: a mixture of diagonal Gaussians fitted to the training
//! items by k-means, with no labels.
//!
//! Chains started from uniform noise must first erase it; on digits they reach thin classes
//! (the "1") rarely. Started from this base they begin near a blurred average of one cluster of
//! the data, with the clusters' shares as the mixture weights:
//! `q(x) = sum_c w_c N(x; mu_c, diag(s_c^2))`, draws clamped to the data's range `[lo, hi]`.
//! It is an [`InitDistribution`](crate::InitDistribution) (`{"kind": "mixture", ...}`), so a
//! run's config carries it and every fresh chain of the run (training, grids, `sample`) starts
//! there.

use ebm_core::SeededRng;
use serde::{Deserialize, Serialize};

use crate::error::TrainError;

/// Lloyd rounds of the k-means fit behind `ebm train --base` and `ebm compose --base`.
pub const KMEANS_ROUNDS: usize = 25;

/// A mixture of diagonal Gaussians over items of a fixed length.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GaussianMixture {
    /// Component weights `w_c` (positive, summing to 1).
    pub weights: Vec<f32>,
    /// Component means `mu_c`, one item each.
    pub means: Vec<Vec<f32>>,
    /// Component standard deviations `s_c`, per coordinate.
    pub sds: Vec<Vec<f32>>,
    /// Draws are clamped to `[lo, hi]` (the fitted data's range).
    pub lo: f32,
    /// Upper clamp.
    pub hi: f32,
}

impl GaussianMixture {
    /// Fits `k` components to `items` (`item` values each) by `iters` rounds of Lloyd's k-means
    /// from `k` distinct items chosen with `seed`; each cluster's pixel means, sds and share of the
    /// items make a component. A cluster left empty is re-seeded at the item furthest from its
    /// centre.
    pub fn fit_kmeans(
        items: &[f32],
        item: usize,
        k: usize,
        iters: usize,
        seed: u64,
    ) -> Result<Self, TrainError> {
        let n = items.len().checked_div(item).unwrap_or(0);
        if k == 0 || n < 2 * k || items.len() != n * item {
            return Err(TrainError::config(
                "init mixture",
                format!("k-means of {k} components needs k >= 1 and at least 2k items, got {n}"),
            ));
        }
        if let Some(v) = items.iter().find(|v| !v.is_finite()) {
            return Err(TrainError::config(
                "init mixture",
                format!("the items hold a non-finite value ({v})"),
            ));
        }
        let rows: Vec<&[f32]> = items.chunks_exact(item).collect();
        let mut rng = SeededRng::new(seed);
        let mut centres = distinct_rows(&rows, k, &mut rng);
        let mut assign = vec![0usize; n];
        for _ in 0..iters {
            assign = nearest(&rows, &centres);
            centres = cluster_means(&rows, &assign, k, item);
            reseed_empty(&rows, &assign, &mut centres);
        }
        assign = nearest(&rows, &centres);
        Ok(Self::from_clusters(&rows, &assign, k, items))
    }

    /// The components of the clusters `assign`, each with its pixel means and sds.
    fn from_clusters(rows: &[&[f32]], assign: &[usize], k: usize, items: &[f32]) -> Self {
        let item = rows[0].len();
        let means = cluster_means(rows, assign, k, item);
        let mut var = vec![vec![0f64; item]; k];
        let mut count = vec![0usize; k];
        for (x, &c) in rows.iter().zip(assign) {
            count[c] += 1;
            for ((v, &x), &m) in var[c].iter_mut().zip(x.iter()).zip(&means[c]) {
                *v += f64::from(x - m).powi(2);
            }
        }
        let sds = var
            .iter()
            .zip(&count)
            .map(|(v, &c)| {
                v.iter()
                    .map(|v| (v / c.max(1) as f64).sqrt() as f32)
                    .collect()
            })
            .collect();
        let n = rows.len() as f32;
        let (lo, hi) = items
            .iter()
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(l, h), &v| {
                (l.min(v), h.max(v))
            });
        Self {
            weights: count.iter().map(|&c| c as f32 / n).collect(),
            means,
            sds,
            lo,
            hi,
        }
    }

    /// Values per item.
    pub fn item_len(&self) -> usize {
        self.means.first().map_or(0, Vec::len)
    }

    /// Checks the shapes agree, the weights are positive and sum to 1, and `lo < hi`.
    pub fn validate(&self) -> Result<(), TrainError> {
        let bad = |reason: String| Err(TrainError::config("init mixture", reason));
        let (k, item) = (self.weights.len(), self.item_len());
        if k == 0 || item == 0 || self.means.len() != k || self.sds.len() != k {
            return bad(format!(
                "{k} weights, {} means and {} sds of length {item}",
                self.means.len(),
                self.sds.len()
            ));
        }
        if self.means.iter().chain(&self.sds).any(|v| v.len() != item) {
            return bad(format!("a mean or sd is not of length {item}"));
        }
        let sum: f32 = self.weights.iter().sum();
        if self.weights.iter().any(|w| w.is_nan() || *w < 0.0) || (sum - 1.0).abs() > 1e-3 {
            return bad(format!("weights must be >= 0 and sum to 1, sum {sum}"));
        }
        if self.lo.partial_cmp(&self.hi) != Some(std::cmp::Ordering::Less) {
            return bad(format!("needs lo < hi, got [{}, {}]", self.lo, self.hi));
        }
        Ok(())
    }

    /// `n` values: `ceil(n / item)` items drawn from the mixture, concatenated and cut to `n`.
    pub fn draw(&self, n: usize, rng: &mut SeededRng) -> Vec<f32> {
        let item = self.item_len().max(1);
        let items = n.div_ceil(item);
        let z = rng.normal_vec(items * item);
        let mut out = Vec::with_capacity(items * item);
        for z in z.chunks_exact(item) {
            let c = self.component(rng.uniform_f64() as f32);
            let (mean, sd) = (&self.means[c], &self.sds[c]);
            out.extend(
                z.iter()
                    .zip(mean.iter().zip(sd))
                    .map(|(z, (m, s))| (m + s * z).clamp(self.lo, self.hi)),
            );
        }
        out.truncate(n);
        out
    }

    /// The component whose cumulative weight first exceeds `u` in `[0, 1)`.
    fn component(&self, u: f32) -> usize {
        let mut acc = 0.0;
        for (c, w) in self.weights.iter().enumerate() {
            acc += w;
            if u < acc {
                return c;
            }
        }
        self.weights.len() - 1
    }
}

impl std::fmt::Display for GaussianMixture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "a {}-component Gaussian mixture", self.weights.len())
    }
}

/// `k` distinct rows, copied, chosen uniformly with `rng`.
fn distinct_rows(rows: &[&[f32]], k: usize, rng: &mut SeededRng) -> Vec<Vec<f32>> {
    let mut order: Vec<usize> = (0..rows.len()).collect();
    for i in 0..k {
        let j = i + (rng.next_u64() % (rows.len() - i) as u64) as usize;
        order.swap(i, j);
    }
    order[..k].iter().map(|&i| rows[i].to_vec()).collect()
}

fn sq_dist(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(a, b)| (a - b) * (a - b)).sum()
}

/// The index of the nearest centre of every row.
fn nearest(rows: &[&[f32]], centres: &[Vec<f32>]) -> Vec<usize> {
    rows.iter()
        .map(|x| {
            let d = centres.iter().map(|c| sq_dist(x, c));
            d.enumerate()
                .min_by(|a, b| a.1.total_cmp(&b.1))
                .map_or(0, |(i, _)| i)
        })
        .collect()
}

/// The mean row of every cluster (zeros for an empty one).
fn cluster_means(rows: &[&[f32]], assign: &[usize], k: usize, item: usize) -> Vec<Vec<f32>> {
    let mut sum = vec![vec![0f64; item]; k];
    let mut count = vec![0usize; k];
    for (x, &c) in rows.iter().zip(assign) {
        count[c] += 1;
        sum[c]
            .iter_mut()
            .zip(x.iter())
            .for_each(|(s, &v)| *s += f64::from(v));
    }
    sum.iter()
        .zip(&count)
        .map(|(s, &c)| s.iter().map(|s| (s / c.max(1) as f64) as f32).collect())
        .collect()
}

/// Moves the centre of every empty cluster to the row furthest from its own centre.
fn reseed_empty(rows: &[&[f32]], assign: &[usize], centres: &mut [Vec<f32>]) {
    for c in 0..centres.len() {
        if assign.contains(&c) {
            continue;
        }
        let far = (0..rows.len())
            .max_by(|&a, &b| {
                let da = sq_dist(rows[a], &centres[assign[a]]);
                da.total_cmp(&sq_dist(rows[b], &centres[assign[b]]))
            })
            .unwrap_or(0);
        centres[c] = rows[far].to_vec();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two well-separated clusters in 2-D: 300 items near (-3, 0) with sd 0.5, 100 near (3, 1)
    /// with sd 0.2.
    fn two_blobs() -> Vec<f32> {
        let mut rng = SeededRng::new(7);
        let z = rng.normal_vec(800);
        z.chunks(2)
            .enumerate()
            .flat_map(|(i, z)| {
                if i < 300 {
                    [-3.0 + 0.5 * z[0], 0.5 * z[1]]
                } else {
                    [3.0 + 0.2 * z[0], 1.0 + 0.2 * z[1]]
                }
            })
            .collect()
    }

    #[test]
    fn k_means_finds_the_clusters_and_their_spread() {
        let m = GaussianMixture::fit_kmeans(&two_blobs(), 2, 2, 20, 0).unwrap();
        m.validate().unwrap();
        let big = usize::from(m.means[0][0] > 0.0);
        // Weights are counts: exactly 0.75 and 0.25 when the clusters are recovered.
        assert_eq!((m.weights[big], m.weights[1 - big]), (0.75, 0.25));
        // 300 draws of sd 0.5: the mean's standard error is 0.029, the sd's about 0.02.
        assert!((m.means[big][0] + 3.0).abs() < 0.15, "{:?}", m.means);
        assert!((m.sds[big][0] - 0.5).abs() < 0.1, "{:?}", m.sds);
        assert!((m.sds[1 - big][1] - 0.2).abs() < 0.05, "{:?}", m.sds);
    }

    #[test]
    fn draws_follow_the_weights_and_stay_in_range() {
        let m = GaussianMixture::fit_kmeans(&two_blobs(), 2, 2, 20, 0).unwrap();
        let d = m.draw(2 * 4000, &mut SeededRng::new(1));
        assert_eq!(d.len(), 8000);
        assert!(d.iter().all(|v| (m.lo..=m.hi).contains(v)));
        let right = d.chunks(2).filter(|x| x[0] > 0.0).count() as f64 / 4000.0;
        // Binomial(4000, 0.25): sd 0.0068; 5 sd.
        assert!((right - 0.25).abs() < 0.035, "{right}");
        // Control: equal weights would put half the draws on the right.
        let mut even = m.clone();
        even.weights = vec![0.5, 0.5];
        let d = even.draw(8000, &mut SeededRng::new(1));
        let right = d.chunks(2).filter(|x| x[0] > 0.0).count() as f64 / 4000.0;
        assert!((right - 0.25).abs() > 0.2, "{right}");
    }

    #[test]
    fn bad_fits_and_shapes_are_errors() {
        let blobs = two_blobs();
        assert!(GaussianMixture::fit_kmeans(&blobs, 2, 0, 5, 0).is_err());
        assert!(GaussianMixture::fit_kmeans(&blobs[..6], 2, 2, 5, 0).is_err());
        let mut nan = blobs.clone();
        nan[3] = f32::NAN;
        assert!(GaussianMixture::fit_kmeans(&nan, 2, 2, 5, 0).is_err());
        let mut m = GaussianMixture::fit_kmeans(&blobs, 2, 2, 5, 0).unwrap();
        m.sds[1].pop();
        assert!(m.validate().is_err());
    }
}
