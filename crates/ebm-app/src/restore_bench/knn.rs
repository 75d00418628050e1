//! The baselines: completion from the nearest training images on the observed pixels, and the
//! 3x3 median filter.
//!
//! k-nearest-neighbour completion of a query `y` with weights `m` (1 on the pixels that count,
//! 0 elsewhere) against a bank of clean images `b_j`:
//!
//! ```text
//! d_j = sum_i m_i (y_i - b_ji)^2,    N = the k smallest d_j,    x_i = mean_{j in N} b_ji
//! ```
//!
//! For inpainting the observed pixels are then put back; for denoising (all weights 1) the mean
//! itself is the restoration, a projection onto the training set. `k` is chosen on a validation
//! split ([`choose_k`]).

use std::cmp::Ordering;

/// The values of `k` tried on the validation split.
pub const K_GRID: [usize; 8] = [1, 2, 3, 5, 8, 13, 21, 34];

/// A bank of clean images of `len` values each.
pub struct Bank<'a> {
    /// The images, flattened.
    pub images: &'a [f32],
    /// Values per image.
    pub len: usize,
}

impl Bank<'_> {
    /// The bank indices sorted by weighted distance to `query`, nearest first (at most `k`).
    pub fn nearest(&self, query: &[f32], weights: &[f32], k: usize) -> Vec<usize> {
        let mut d: Vec<(f32, usize)> = self
            .images
            .chunks(self.len)
            .enumerate()
            .map(|(j, b)| {
                let s = query
                    .iter()
                    .zip(b)
                    .zip(weights)
                    .map(|((q, v), w)| w * (q - v) * (q - v))
                    .sum::<f32>();
                (s, j)
            })
            .collect();
        let k = k.clamp(1, d.len());
        let by =
            |a: &(f32, usize), b: &(f32, usize)| a.0.partial_cmp(&b.0).unwrap_or(Ordering::Equal);
        d.select_nth_unstable_by(k - 1, by);
        d.truncate(k);
        d.sort_by(by);
        d.into_iter().map(|(_, j)| j).collect()
    }

    /// For every `k` in `ks`, the completion of one query: the mean of its `k` nearest images,
    /// with the pixels where `keep` is 1 taken from `query` instead.
    pub fn complete_all_k(
        &self,
        query: &[f32],
        weights: &[f32],
        keep: &[f32],
        ks: &[usize],
    ) -> Vec<Vec<f32>> {
        let kmax = ks.iter().copied().max().unwrap_or(1);
        let order = self.nearest(query, weights, kmax);
        let mut sum = vec![0.0f32; self.len];
        let mut out = Vec::with_capacity(ks.len());
        let mut used = 0;
        let mut wanted: Vec<usize> = ks.to_vec();
        wanted.sort_unstable();
        let mut by_k = std::collections::BTreeMap::new();
        for k in wanted {
            while used < k.min(order.len()) {
                let j = order[used];
                for (s, v) in sum
                    .iter_mut()
                    .zip(&self.images[j * self.len..(j + 1) * self.len])
                {
                    *s += v;
                }
                used += 1;
            }
            let mean: Vec<f32> = sum
                .iter()
                .zip(query)
                .zip(keep)
                .map(|((s, q), m)| if *m > 0.5 { *q } else { s / used.max(1) as f32 })
                .collect();
            by_k.insert(k, mean);
        }
        for k in ks {
            out.push(by_k[k].clone());
        }
        out
    }

    /// For every query of a batch, its completions by each of its `count` nearest images alone,
    /// chain-major: `[count, n, len]` (row `c` holds every query's `c`-th neighbour).
    pub fn neighbours(
        &self,
        queries: &[f32],
        weights: &[f32],
        keep: &[f32],
        count: usize,
    ) -> Vec<f32> {
        let n = queries.len() / self.len.max(1);
        let mut out = vec![0.0f32; count * n * self.len];
        let rows = queries
            .chunks(self.len)
            .zip(weights.chunks(self.len))
            .zip(keep.chunks(self.len));
        for (i, ((q, w), m)) in rows.enumerate() {
            for (c, j) in self.nearest(q, w, count).into_iter().enumerate() {
                let b = &self.images[j * self.len..(j + 1) * self.len];
                let o = &mut out[(c * n + i) * self.len..(c * n + i + 1) * self.len];
                for (((o, q), v), m) in o.iter_mut().zip(q).zip(b).zip(m) {
                    *o = if *m > 0.5 { *q } else { *v };
                }
            }
        }
        out
    }

    /// The completion of every query of a batch with one `k`.
    pub fn complete(&self, queries: &[f32], weights: &[f32], keep: &[f32], k: usize) -> Vec<f32> {
        let mut out = Vec::with_capacity(queries.len());
        for ((q, w), m) in queries
            .chunks(self.len)
            .zip(weights.chunks(self.len))
            .zip(keep.chunks(self.len))
        {
            out.extend(self.complete_all_k(q, w, m, &[k]).remove(0));
        }
        out
    }
}

/// The `k` of [`K_GRID`] with the lowest mean squared error against `clean` over a validation
/// batch, with that error per `k` (in grid order).
pub fn choose_k(
    bank: &Bank<'_>,
    queries: &[f32],
    weights: &[f32],
    keep: &[f32],
    clean: &[f32],
) -> (usize, Vec<f64>) {
    let len = bank.len;
    let mut err = vec![0.0f64; K_GRID.len()];
    for (((q, w), m), c) in queries
        .chunks(len)
        .zip(weights.chunks(len))
        .zip(keep.chunks(len))
        .zip(clean.chunks(len))
    {
        for (e, x) in err.iter_mut().zip(bank.complete_all_k(q, w, m, &K_GRID)) {
            *e += x
                .iter()
                .zip(c)
                .map(|(a, b)| f64::from(a - b).powi(2))
                .sum::<f64>();
        }
    }
    let best = (0..K_GRID.len())
        .min_by(|&a, &b| err[a].total_cmp(&err[b]))
        .unwrap_or(0);
    (K_GRID[best], err)
}

/// The 3x3 median filter of every `h x w` plane of `images` (edges replicated).
pub fn median3(images: &[f32], h: usize, w: usize) -> Vec<f32> {
    let mut out = Vec::with_capacity(images.len());
    for plane in images.chunks(h * w) {
        for y in 0..h {
            for x in 0..w {
                let mut v = [0.0f32; 9];
                for (i, (dy, dx)) in (0..3).flat_map(|a| (0..3).map(move |b| (a, b))).enumerate() {
                    let yy = (y + dy).saturating_sub(1).min(h - 1);
                    let xx = (x + dx).saturating_sub(1).min(w - 1);
                    v[i] = plane[yy * w + xx];
                }
                v.sort_by(f32::total_cmp);
                out.push(v[4]);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bank_images() -> Vec<f32> {
        // Four 2x2 "images".
        vec![
            1.0, 1.0, -1.0, -1.0, //
            -1.0, -1.0, 1.0, 1.0, //
            1.0, -1.0, 1.0, -1.0, //
            0.9, 0.9, -0.9, -0.8,
        ]
    }

    #[test]
    fn completion_recovers_an_image_of_the_bank() {
        let images = bank_images();
        let bank = Bank {
            images: &images,
            len: 4,
        };
        // The top half of image 1 observed, the bottom half missing.
        let query = [-1.0, -1.0, 0.0, 0.0];
        let m = [1.0, 1.0, 0.0, 0.0];
        assert_eq!(bank.nearest(&query, &m, 1), vec![1]);
        assert_eq!(bank.complete(&query, &m, &m, 1), vec![-1.0, -1.0, 1.0, 1.0]);
        // k = 2: the mean of images 0 and 3 on the missing pixels of a query near both.
        let query = [1.0, 1.0, 0.0, 0.0];
        let x = bank.complete(&query, &m, &m, 2);
        assert_eq!(x[..2], [1.0, 1.0]);
        assert!(
            (x[2] + 0.95).abs() < 1e-6 && (x[3] + 0.9).abs() < 1e-6,
            "{x:?}"
        );
        // Each of the two nearest alone, chain-major.
        let x = bank.neighbours(&query, &m, &m, 2);
        assert_eq!(x, vec![1.0, 1.0, -1.0, -1.0, 1.0, 1.0, -0.9, -0.8]);
    }

    #[test]
    fn k_is_chosen_by_validation_error() {
        let images = bank_images();
        let bank = Bank {
            images: &images,
            len: 4,
        };
        // Image 0 itself, half observed: k = 1 recovers it exactly and must win.
        let m = [1.0, 1.0, 0.0, 0.0];
        let (k, err) = choose_k(&bank, &[1.0, 1.0, 0.0, 0.0], &m, &m, &images[..4]);
        assert_eq!((k, err[0]), (1, 0.0));
        assert!(err[1] > 0.0);
    }

    #[test]
    fn median_removes_an_isolated_speck() {
        let mut img = vec![-1.0f32; 25];
        img[12] = 1.0;
        assert!(median3(&img, 5, 5).iter().all(|v| *v == -1.0));
        let flat = vec![0.25f32; 9];
        assert_eq!(median3(&flat, 3, 3), flat);
    }
}
