//! The linear-chain energy over tag sequences, exact inference and exact sampling.
//!
//! For a sentence `x` of `n` tokens with unary scores `u(x, t) in R^K` (from the network) and a tag
//! sequence `y in {0..K}^n`,
//!
//! ```text
//! E(x, y) = -sum_t u(x, t)[y_t] - start[y_0] - sum_{t>=1} T[y_(t-1), y_t] - end[y_(n-1)]
//! p(y | x) = exp(-E(x, y)) / Z(x),   log Z(x) = logsumexp_y -E(x, y)
//! ```
//!
//! `Z` sums `K^n` terms but factorises along the chain, so it is exact in `O(n K^2)`:
//!
//! - forward: `alpha_0 = start + u_0`, `alpha_t[j] = u_t[j] + logsumexp_i (alpha_(t-1)[i] + T[i, j])`,
//!   `log Z = logsumexp_j (alpha_(n-1)[j] + end[j])`;
//! - backward: `beta_(n-1) = end`, `beta_t[i] = logsumexp_j (T[i, j] + u_(t+1)[j] + beta_(t+1)[j])`;
//! - marginals: `p(y_t = j | x) = exp(alpha_t[j] + beta_t[j] - log Z)`;
//! - Viterbi: the same recursion with `max` for `logsumexp`, then back-pointers: the most likely
//!   tags, `argmin_y E(x, y)`, which needs no `Z`;
//! - forward-filtering backward-sampling (FFBS): `y_(n-1) ~ exp(alpha_(n-1) + end)`, then
//!   `y_t ~ exp(alpha_t[i] + T[i, y_(t+1)])` going left: an exact draw from `p(y | x)`.
//!
//! [`Crf`] is the burn module holding `T`, `start` and `end`, with the batched, masked forward
//! algorithm in tensor ops (so `log Z` is differentiable by autodiff) and the path score. The
//! host-side algorithms on one sentence in `f64` are on [`Transitions`].

use burn::module::{Module, Param, ParamId};
use burn::tensor::{Device, Tensor, TensorData};
use ebm_core::SeededRng;

/// `logsumexp` over `dim`, keeping it (size 1); the shift by the max is detached, which leaves
/// value and gradient exact.
pub fn logsumexp<const D: usize>(x: Tensor<D>, dim: usize) -> Tensor<D> {
    let m = x.clone().max_dim(dim).detach();
    (x - m.clone()).exp().sum_dim(dim).log() + m
}

/// Host `logsumexp` of a slice in `f64`.
pub fn logsumexp_f64(v: &[f64]) -> f64 {
    let m = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if m == f64::NEG_INFINITY {
        return m;
    }
    m + v.iter().map(|x| (x - m).exp()).sum::<f64>().ln()
}

/// Draws an index with probability proportional to `exp(logw[i])`.
pub fn sample_log_weights(logw: &[f64], rng: &mut SeededRng) -> usize {
    let lz = logsumexp_f64(logw);
    let mut u = rng.uniform_f64();
    for (i, &w) in logw.iter().enumerate() {
        u -= (w - lz).exp();
        if u < 0.0 {
            return i;
        }
    }
    logw.len() - 1
}

/// The transition, start and end scores of a linear chain on the host, in `f64`: the part of
/// the energy shared by all sentences. `unary` arguments are row-major `[n, K]` score tables.
#[derive(Debug, Clone, PartialEq)]
pub struct Transitions {
    /// Tags `K`.
    pub k: usize,
    /// `T[i, j]`, row-major `[K, K]`: the score of tag `j` following tag `i`.
    pub trans: Vec<f64>,
    /// `start[j]`: the score of a sentence beginning with `j`.
    pub start: Vec<f64>,
    /// `end[j]`: the score of a sentence ending with `j`.
    pub end: Vec<f64>,
}

impl Transitions {
    /// All-zero scores: the chain without transitions (independent tags).
    pub fn zeros(k: usize) -> Self {
        Self {
            k,
            trans: vec![0.0; k * k],
            start: vec![0.0; k],
            end: vec![0.0; k],
        }
    }

    fn n(&self, unary: &[f64]) -> usize {
        unary.len() / self.k
    }

    /// The score `-E(x, y) = sum_t u_t[y_t] + start[y_0] + sum T[y_(t-1), y_t] + end[y_(n-1)]`.
    pub fn score(&self, unary: &[f64], y: &[usize]) -> f64 {
        let k = self.k;
        if y.is_empty() {
            return 0.0;
        }
        let mut s = self.start[y[0]] + self.end[y[y.len() - 1]];
        for (t, &yt) in y.iter().enumerate() {
            s += unary[t * k + yt];
            if t > 0 {
                s += self.trans[y[t - 1] * k + yt];
            }
        }
        s
    }

    /// The energy `E(x, y) = -score`.
    pub fn energy(&self, unary: &[f64], y: &[usize]) -> f64 {
        -self.score(unary, y)
    }

    /// The forward table `alpha`, row-major `[n, K]` (see the module docs).
    pub fn forward(&self, unary: &[f64]) -> Vec<f64> {
        let (k, n) = (self.k, self.n(unary));
        let mut alpha = vec![0.0; n * k];
        let mut buf = vec![0.0; k];
        for t in 0..n {
            for j in 0..k {
                alpha[t * k + j] = unary[t * k + j]
                    + if t == 0 {
                        self.start[j]
                    } else {
                        for i in 0..k {
                            buf[i] = alpha[(t - 1) * k + i] + self.trans[i * k + j];
                        }
                        logsumexp_f64(&buf)
                    };
            }
        }
        alpha
    }

    /// The backward table `beta`, row-major `[n, K]` (see the module docs).
    pub fn backward(&self, unary: &[f64]) -> Vec<f64> {
        let (k, n) = (self.k, self.n(unary));
        let mut beta = vec![0.0; n * k];
        let mut buf = vec![0.0; k];
        for t in (0..n).rev() {
            for i in 0..k {
                beta[t * k + i] = if t == n - 1 {
                    self.end[i]
                } else {
                    for j in 0..k {
                        buf[j] =
                            self.trans[i * k + j] + unary[(t + 1) * k + j] + beta[(t + 1) * k + j];
                    }
                    logsumexp_f64(&buf)
                };
            }
        }
        beta
    }

    /// `log Z(x)` by the forward algorithm (0 for an empty sentence).
    pub fn log_partition(&self, unary: &[f64]) -> f64 {
        let (k, n) = (self.k, self.n(unary));
        if n == 0 {
            return 0.0;
        }
        let alpha = self.forward(unary);
        let last: Vec<f64> = (0..k)
            .map(|j| alpha[(n - 1) * k + j] + self.end[j])
            .collect();
        logsumexp_f64(&last)
    }

    /// The tag marginals `p(y_t = j | x)`, row-major `[n, K]`, by forward-backward.
    pub fn marginals(&self, unary: &[f64]) -> Vec<f64> {
        let lz = self.log_partition(unary);
        let alpha = self.forward(unary);
        let beta = self.backward(unary);
        alpha
            .iter()
            .zip(&beta)
            .map(|(a, b)| (a + b - lz).exp())
            .collect()
    }

    /// The most likely tags `argmax_y -E(x, y)` by Viterbi.
    pub fn viterbi(&self, unary: &[f64]) -> Vec<usize> {
        let (k, n) = (self.k, self.n(unary));
        if n == 0 {
            return Vec::new();
        }
        let mut delta: Vec<f64> = (0..k).map(|j| self.start[j] + unary[j]).collect();
        let mut back = vec![0usize; n * k];
        for t in 1..n {
            let mut next = vec![0.0; k];
            for j in 0..k {
                let (mut best, mut arg) = (f64::NEG_INFINITY, 0);
                for (i, d) in delta.iter().enumerate() {
                    let v = d + self.trans[i * k + j];
                    if v > best {
                        (best, arg) = (v, i);
                    }
                }
                next[j] = best + unary[t * k + j];
                back[t * k + j] = arg;
            }
            delta = next;
        }
        let mut y = vec![0usize; n];
        let (mut best, mut arg) = (f64::NEG_INFINITY, 0);
        for (j, (d, e)) in delta.iter().zip(&self.end).enumerate() {
            let v = d + e;
            if v > best {
                (best, arg) = (v, j);
            }
        }
        y[n - 1] = arg;
        for t in (1..n).rev() {
            y[t - 1] = back[t * k + y[t]];
        }
        y
    }

    /// One exact draw from `p(y | x)` by forward-filtering backward-sampling.
    pub fn sample_ffbs(&self, unary: &[f64], rng: &mut SeededRng) -> Vec<usize> {
        let (k, n) = (self.k, self.n(unary));
        if n == 0 {
            return Vec::new();
        }
        let alpha = self.forward(unary);
        let mut y = vec![0usize; n];
        let last: Vec<f64> = (0..k)
            .map(|j| alpha[(n - 1) * k + j] + self.end[j])
            .collect();
        y[n - 1] = sample_log_weights(&last, rng);
        let mut w = vec![0.0; k];
        for t in (0..n - 1).rev() {
            for (i, wi) in w.iter_mut().enumerate() {
                *wi = alpha[t * k + i] + self.trans[i * k + y[t + 1]];
            }
            y[t] = sample_log_weights(&w, rng);
        }
        y
    }
}

/// The learned chain scores `T [K, K]`, `start [K]`, `end [K]` as a burn module.
#[derive(Module, Debug)]
pub struct Crf {
    /// `T[i, j]`: the score of tag `j` following tag `i`.
    pub transitions: Param<Tensor<2>>,
    /// The score of the first tag.
    pub start: Param<Tensor<1>>,
    /// The score of the last tag.
    pub end: Param<Tensor<1>>,
}

/// Host-built indicator tensors of tag paths in a padded batch, so that the path score
/// `-E(x, y)` is a sum of products: `sum(u * onehot) + counts . vec(T) + start . first + end . last`.
#[derive(Debug, Clone)]
pub struct PathIndicators {
    /// `[B, S, K]`: 1 where `y_t = j` at a real position.
    pub onehot: Vec<f32>,
    /// `[B, K*K]`: the number of times `(y_(t-1), y_t) = (i, j)` in each sentence.
    pub counts: Vec<f32>,
    /// `[B, K]`: one-hot of `y_0`.
    pub first: Vec<f32>,
    /// `[B, K]`: one-hot of `y_(n-1)`.
    pub last: Vec<f32>,
    batch: usize,
    seq: usize,
    k: usize,
}

impl PathIndicators {
    /// The indicators of the paths `tags` (`[B, S]` row-major, only the first `lens[b]` of row `b`
    /// read) for `K` tags.
    pub fn new(tags: &[usize], lens: &[usize], seq: usize, k: usize) -> Self {
        let batch = lens.len();
        let mut onehot = vec![0.0; batch * seq * k];
        let mut counts = vec![0.0; batch * k * k];
        let mut first = vec![0.0; batch * k];
        let mut last = vec![0.0; batch * k];
        for (b, &len) in lens.iter().enumerate() {
            let y = &tags[b * seq..b * seq + len];
            for (t, &yt) in y.iter().enumerate() {
                onehot[(b * seq + t) * k + yt] = 1.0;
                if t > 0 {
                    counts[b * k * k + y[t - 1] * k + yt] += 1.0;
                }
            }
            if len > 0 {
                first[b * k + y[0]] = 1.0;
                last[b * k + y[len - 1]] = 1.0;
            }
        }
        Self {
            onehot,
            counts,
            first,
            last,
            batch,
            seq,
            k,
        }
    }

    /// The difference `self - other` of two path sets of the same shape (for contrastive losses).
    pub fn minus(&self, other: &Self) -> Self {
        let sub = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| x - y).collect();
        Self {
            onehot: sub(&self.onehot, &other.onehot),
            counts: sub(&self.counts, &other.counts),
            first: sub(&self.first, &other.first),
            last: sub(&self.last, &other.last),
            ..*self
        }
    }
}

impl Crf {
    /// Zero-initialised scores for `k` tags.
    pub fn new(k: usize, device: &Device) -> Self {
        Self {
            transitions: Param::from_tensor(Tensor::zeros([k, k], device)),
            start: Param::from_tensor(Tensor::zeros([k], device)),
            end: Param::from_tensor(Tensor::zeros([k], device)),
        }
    }

    /// The same scores with parameter ids drawn from `rng` ([`Crf::new`] leaves burn's random
    /// ids), so that a seeded model saves to the same bytes every time.
    pub fn with_seeded_ids(mut self, rng: &mut SeededRng) -> Self {
        self.transitions.id = ParamId::from(rng.next_u64());
        self.start.id = ParamId::from(rng.next_u64());
        self.end.id = ParamId::from(rng.next_u64());
        self
    }

    /// Tags `K`.
    pub fn n_tags(&self) -> usize {
        self.start.dims()[0]
    }

    /// `log Z(x_b)` for each sentence of a padded batch: the forward algorithm over the time axis
    /// in tensor ops (`S - 1` steps of `logsumexp` over `[B, K, K]`), differentiable. `unary` is
    /// `[B, S, K]`, `mask` is `[B, S]` with 1 at real positions (a prefix of each row, at least
    /// one); padded positions leave `alpha` unchanged.
    pub fn log_partition(&self, unary: Tensor<3>, mask: Tensor<2>) -> Tensor<1> {
        let [b, s, k] = unary.dims();
        let trans = self.transitions.val().unsqueeze_dim::<3>(0); // [1, K, K]
        let mut alpha = unary.clone().slice([0..b, 0..1, 0..k]).reshape([b, k])
            + self.start.val().unsqueeze_dim::<2>(0);
        for t in 1..s {
            let ut = unary.clone().slice([0..b, t..t + 1, 0..k]).reshape([b, k]);
            let scores = alpha.clone().unsqueeze_dim::<3>(2) + trans.clone(); // [B, K(i), K(j)]
            let next = logsumexp(scores, 1).reshape([b, k]) + ut;
            let m = mask.clone().slice([0..b, t..t + 1]); // [B, 1]
            alpha = alpha.clone() + (next - alpha) * m;
        }
        logsumexp(alpha + self.end.val().unsqueeze_dim::<2>(0), 1).reshape([b])
    }

    /// The path score `-E(x_b, y_b)` of each sentence for the paths in `paths` (`[B]`).
    pub fn path_score(&self, unary: Tensor<3>, paths: &PathIndicators) -> Tensor<1> {
        let device = unary.device();
        let (b, s, k) = (paths.batch, paths.seq, paths.k);
        let t = |v: &[f32], shape: Vec<usize>| {
            Tensor::<2>::from_data(TensorData::new(v.to_vec(), shape), &device)
        };
        let onehot =
            Tensor::<3>::from_data(TensorData::new(paths.onehot.clone(), [b, s, k]), &device);
        let unary_part = (unary * onehot).sum_dim(2).sum_dim(1).reshape([b]);
        let trans =
            t(&paths.counts, vec![b, k * k]).matmul(self.transitions.val().reshape([k * k, 1]));
        let start = t(&paths.first, vec![b, k]).matmul(self.start.val().reshape([k, 1]));
        let end = t(&paths.last, vec![b, k]).matmul(self.end.val().reshape([k, 1]));
        unary_part + (trans + start + end).reshape([b])
    }

    /// The energy `E(x_b, y_b) = -path_score` of each sentence (`[B]`).
    pub fn energy(&self, unary: Tensor<3>, paths: &PathIndicators) -> Tensor<1> {
        -self.path_score(unary, paths)
    }

    /// The negative log-likelihood `E(x_b, y_b) + log Z(x_b)` of each sentence (`[B]`).
    pub fn nll(&self, unary: Tensor<3>, mask: Tensor<2>, paths: &PathIndicators) -> Tensor<1> {
        self.log_partition(unary.clone(), mask) - self.path_score(unary, paths)
    }

    /// The scores copied to the host in `f64`, for exact inference and sampling.
    pub fn to_host(&self) -> Transitions {
        let host = |t: Tensor<1>| -> Vec<f64> {
            t.into_data()
                .try_to_vec::<f32>()
                .unwrap_or_default()
                .into_iter()
                .map(f64::from)
                .collect()
        };
        let k = self.n_tags();
        Transitions {
            k,
            trans: host(self.transitions.val().reshape([k * k])),
            start: host(self.start.val()),
            end: host(self.end.val()),
        }
    }
}
