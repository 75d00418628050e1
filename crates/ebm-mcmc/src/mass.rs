//! The inverse mass matrix `M^{-1}` of HMC, NUTS and preconditioned MALA, and its estimation.
//!
//! A kernel with inverse mass `M^{-1}` (over the flattened event, `d` scalars per chain) draws
//! momenta `p ~ N(0, M)`, moves positions along the velocity `M^{-1} p` and has the kinetic
//! energy `K(p) = p^T M^{-1} p / 2`. With `M^{-1}` close to the target's covariance, every
//! direction of an ill-conditioned Gaussian looks isotropic to the integrator, so one step size
//! fits all. Three forms ([`InverseMass`]):
//!
//! * **identity** (`M = I`),
//! * **diagonal** `M^{-1} = diag(v)`, shared by all chains or one per chain (`[chains, d]`),
//! * **dense** `M^{-1} = S`, symmetric positive definite, shared; its Cholesky factor
//!   `S = L L^T` is kept: `p = L^{-T} z` has covariance `L^{-T} L^{-1} = S^{-1} = M`, and the
//!   preconditioned Langevin noise `L z` has covariance `S`.
//!
//! The estimate from warm-up draws ([`MassEstimator`]) is the sample covariance (or variances) of
//! the draws of one adaptation window, pooled over chains (`n` = chains x window draws), shrunk
//! towards a small multiple of the identity as Stan does:
//! `M^{-1} = (n / (n + 5)) S + 1e-3 (5 / (n + 5)) I`. It accumulates on the chains' device
//! (`sum x`, and `sum x^2` or `X^T X`, shifted by the window's first mean to avoid cancellation),
//! so only the final `d` or `d x d` values are read back.

use burn::tensor::{Device, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use crate::error::McmcError;

/// Which inverse mass matrix warm-up estimates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MassAdapt {
    /// None: the kernel keeps its inverse mass (the identity unless set).
    #[default]
    None,
    /// A diagonal `M^{-1}` (the variances of the warm-up draws).
    Diag,
    /// A dense `M^{-1}` (their covariance).
    Dense,
}

/// An inverse mass matrix over the `d` flattened event scalars of every chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum InverseMass {
    /// `M = I`.
    Identity,
    /// `M^{-1} = diag(values)`, `values` laid out `[rows, d]` with `rows` 1 (shared by all
    /// chains) or the number of chains.
    Diagonal {
        /// 1 or the number of chains.
        rows: usize,
        /// The diagonal(s), row-major `[rows, d]`, finite and positive.
        values: Vec<f64>,
    },
    /// A dense `M^{-1}`, shared by all chains.
    Dense {
        /// The dimension `d`.
        d: usize,
        /// `M^{-1}`, row-major `[d, d]`, symmetric positive definite.
        inverse: Vec<f64>,
        /// Its lower Cholesky factor `L` (`M^{-1} = L L^T`), row-major.
        chol: Vec<f64>,
    },
}

impl InverseMass {
    /// A diagonal inverse mass shared by all chains; every value finite and positive.
    pub fn diagonal(values: Vec<f64>) -> Result<Self, McmcError> {
        Self::per_chain_diagonal(1, values)
    }

    /// One diagonal per chain, `values` laid out `[rows, d]`.
    pub fn per_chain_diagonal(rows: usize, values: Vec<f64>) -> Result<Self, McmcError> {
        if rows == 0 || values.is_empty() || !values.len().is_multiple_of(rows) {
            return Err(McmcError::invalid(
                "inverse mass",
                "values",
                format!("{} values do not fill {rows} rows", values.len()),
            ));
        }
        if let Some(v) = values.iter().find(|v| !(v.is_finite() && **v > 0.0)) {
            return Err(McmcError::invalid(
                "inverse mass",
                "values",
                format!("must be finite and positive, got {v}"),
            ));
        }
        Ok(InverseMass::Diagonal { rows, values })
    }

    /// A dense inverse mass from `inverse` (`[d, d]` row-major, symmetric positive definite).
    pub fn dense(d: usize, inverse: Vec<f64>) -> Result<Self, McmcError> {
        let bad = |reason: String| McmcError::invalid("inverse mass", "dense", reason);
        if d == 0 || inverse.len() != d * d {
            return Err(bad(format!(
                "{} values for a {d} x {d} matrix",
                inverse.len()
            )));
        }
        let asymmetric = (0..d).any(|i| {
            (0..i).any(|j| {
                let (a, b) = (inverse[i * d + j], inverse[j * d + i]);
                (a - b).abs() > 1e-9 * (1.0 + a.abs().max(b.abs()))
            })
        });
        if asymmetric {
            return Err(bad("not symmetric".into()));
        }
        let chol = cholesky(&inverse, d).ok_or_else(|| bad("not positive definite".into()))?;
        Ok(InverseMass::Dense { d, inverse, chol })
    }

    /// The event dimension `d` (`None` for the identity, which fits any).
    pub fn dim(&self) -> Option<usize> {
        match self {
            InverseMass::Identity => None,
            InverseMass::Diagonal { rows, values } => Some(values.len() / rows),
            InverseMass::Dense { d, .. } => Some(*d),
        }
    }

    /// Checks that the matrix fits `chains` chains of `d` scalars each.
    pub fn check_fits(&self, chains: usize, d: usize) -> Result<(), McmcError> {
        let bad = |reason: String| McmcError::invalid("inverse mass", "shape", reason);
        if let Some(dim) = self.dim()
            && dim != d
        {
            return Err(bad(format!("built for d = {dim}, the chains have d = {d}")));
        }
        if let InverseMass::Diagonal { rows, .. } = self
            && *rows != 1
            && *rows != chains
        {
            return Err(bad(format!("{rows} rows for {chains} chains")));
        }
        Ok(())
    }
}

/// The lower Cholesky factor of a symmetric positive definite `[d, d]` matrix, or `None`.
pub(crate) fn cholesky(a: &[f64], d: usize) -> Option<Vec<f64>> {
    let mut l = vec![0.0; d * d];
    for i in 0..d {
        for j in 0..=i {
            let s: f64 = (0..j).map(|k| l[i * d + k] * l[j * d + k]).sum();
            if i == j {
                let v = a[i * d + i] - s;
                if !(v.is_finite() && v > 0.0) {
                    return None;
                }
                l[i * d + j] = v.sqrt();
            } else {
                l[i * d + j] = (a[i * d + j] - s) / l[j * d + j];
            }
        }
    }
    Some(l)
}

/// The inverse of a lower-triangular `[d, d]` matrix with a positive diagonal.
fn lower_inverse(l: &[f64], d: usize) -> Vec<f64> {
    let mut inv = vec![0.0; d * d];
    for j in 0..d {
        inv[j * d + j] = 1.0 / l[j * d + j];
        for i in j + 1..d {
            let s: f64 = (j..i).map(|k| l[i * d + k] * inv[k * d + j]).sum();
            inv[i * d + j] = -s / l[i * d + i];
        }
    }
    inv
}

/// `[rows, cols]` host values as a tensor.
fn matrix(
    values: impl Iterator<Item = f64>,
    rows: usize,
    cols: usize,
    device: &Device,
) -> Tensor<2> {
    let v: Vec<f32> = values.map(|x| x as f32).collect();
    Tensor::from_data(TensorData::new(v, [rows, cols]), device)
}

/// An [`InverseMass`] as tensors on the chains' device, built once per kernel step.
// One value per kernel step, never stored in bulk: the variants' sizes do not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub(crate) enum Metric {
    Identity,
    /// `M^{-1}` diagonal `[rows, d]`, and its square root.
    Diagonal {
        inverse: Tensor<2>,
        sqrt: Tensor<2>,
    },
    /// Row vectors times these: `M^{-1}` (symmetric), `L^{-1}` (`z L^{-1}` is a momentum row),
    /// `L^T` (`z L^T` is a noise row with covariance `M^{-1}`).
    Dense {
        inverse: Tensor<2>,
        l_inv: Tensor<2>,
        l_t: Tensor<2>,
    },
}

/// `[N, ...] -> [N, d]`.
fn flat<const D: usize>(x: Tensor<D>) -> Tensor<2> {
    let dims = x.dims();
    let rest: usize = dims[1..].iter().product();
    x.reshape([dims[0], rest])
}

impl Metric {
    /// The tensors of `mass` on `device`.
    pub(crate) fn new(mass: &InverseMass, device: &Device) -> Self {
        match mass {
            InverseMass::Identity => Metric::Identity,
            InverseMass::Diagonal { rows, values } => {
                let d = values.len() / rows;
                Metric::Diagonal {
                    inverse: matrix(values.iter().copied(), *rows, d, device),
                    sqrt: matrix(values.iter().map(|v| v.sqrt()), *rows, d, device),
                }
            }
            InverseMass::Dense { d, inverse, chol } => {
                let d = *d;
                let l_inv = lower_inverse(chol, d);
                let l_t = (0..d * d).map(|k| chol[(k % d) * d + k / d]);
                Metric::Dense {
                    inverse: matrix(inverse.iter().copied(), d, d, device),
                    l_inv: matrix(l_inv.into_iter(), d, d, device),
                    l_t: matrix(l_t, d, d, device),
                }
            }
        }
    }

    /// The velocity `M^{-1} p` (also the preconditioned gradient `M^{-1} g`).
    pub(crate) fn velocity<const D: usize>(&self, p: Tensor<D>) -> Tensor<D> {
        let dims = p.dims();
        match self {
            Metric::Identity => p,
            Metric::Diagonal { inverse, .. } => (flat(p) * inverse.clone()).reshape(dims),
            Metric::Dense { inverse, .. } => flat(p).matmul(inverse.clone()).reshape(dims),
        }
    }

    /// A momentum `p ~ N(0, M)` from standard normal `z`.
    pub(crate) fn momentum<const D: usize>(&self, z: Tensor<D>) -> Tensor<D> {
        let dims = z.dims();
        match self {
            Metric::Identity => z,
            Metric::Diagonal { sqrt, .. } => (flat(z) / sqrt.clone()).reshape(dims),
            Metric::Dense { l_inv, .. } => flat(z).matmul(l_inv.clone()).reshape(dims),
        }
    }

    /// Noise `M^{-1/2} z ~ N(0, M^{-1})` from standard normal `z`.
    pub(crate) fn noise<const D: usize>(&self, z: Tensor<D>) -> Tensor<D> {
        let dims = z.dims();
        match self {
            Metric::Identity => z,
            Metric::Diagonal { sqrt, .. } => (flat(z) * sqrt.clone()).reshape(dims),
            Metric::Dense { l_t, .. } => flat(z).matmul(l_t.clone()).reshape(dims),
        }
    }

    /// `a^T M^{-1} b` per chain.
    pub(crate) fn dot<const D: usize>(&self, a: Tensor<D>, b: Tensor<D>) -> Tensor<1> {
        let n = a.dims()[0];
        (flat(self.velocity(a)) * flat(b)).sum_dim(1).reshape([n])
    }

    /// The kinetic energy `p^T M^{-1} p / 2` per chain.
    pub(crate) fn kinetic<const D: usize>(&self, p: Tensor<D>) -> Tensor<1> {
        match self {
            Metric::Identity => crate::kernel::sum_per_chain(p.powi_scalar(2)).mul_scalar(0.5),
            _ => self.dot(p.clone(), p).mul_scalar(0.5),
        }
    }

    /// `|x|^2_M = x^T M x` per chain: the quadratic form of the preconditioned Langevin
    /// proposal density, `x` a difference of positions.
    pub(crate) fn mass_norm2<const D: usize>(&self, x: Tensor<D>) -> Tensor<1> {
        let n = x.dims()[0];
        let w = match self {
            Metric::Identity => flat(x),
            Metric::Diagonal { sqrt, .. } => flat(x) / sqrt.clone(),
            // |x|^2_M = |L^{-1} x|^2, as a row: x L^{-T}.
            Metric::Dense { l_inv, .. } => flat(x).matmul(l_inv.clone().transpose()),
        };
        w.powi_scalar(2).sum_dim(1).reshape([n])
    }
}

/// Pooled sample moments of the draws of one adaptation window, kept on the device.
#[derive(Debug, Clone)]
pub struct MassEstimator {
    kind: MassAdapt,
    /// One diagonal per chain from its own draws (diagonal only).
    per_chain: bool,
    shift: Option<Tensor<2>>,
    sum: Option<Tensor<2>>,
    second: Option<Tensor<2>>,
    n: usize,
}

impl MassEstimator {
    /// An empty estimator of a `kind` inverse mass ([`MassAdapt::None`] estimates nothing).
    pub fn new(kind: MassAdapt) -> Self {
        Self {
            kind,
            per_chain: false,
            shift: None,
            sum: None,
            second: None,
            n: 0,
        }
    }

    /// The estimator of one diagonal per chain, each from its own chain's draws (`n` = the
    /// window's draws per chain), as blackjax's `window_adaptation` vmapped over chains and
    /// Stan's per-chain runs do; a dense estimate stays pooled.
    pub fn per_chain(mut self) -> Self {
        self.per_chain = self.kind == MassAdapt::Diag;
        self
    }

    /// Adds the positions `[N, ...]` of one step (every chain one draw).
    pub fn add<const D: usize>(&mut self, position: Tensor<D>) {
        if self.kind == MassAdapt::None {
            return;
        }
        let x = flat(position);
        let [n, d] = x.dims();
        let per_chain = self.per_chain;
        let shift = self
            .shift
            .get_or_insert_with(|| {
                if per_chain {
                    x.clone()
                } else {
                    x.clone().mean_dim(0)
                }
            })
            .clone();
        let y = x - shift;
        let (s, q) = match self.kind {
            _ if per_chain => (y.clone(), y.powi_scalar(2)),
            MassAdapt::Dense => (y.clone().sum_dim(0), y.clone().transpose().matmul(y)),
            _ => (y.clone().sum_dim(0), y.powi_scalar(2).sum_dim(0)),
        };
        self.sum = Some(match self.sum.take() {
            Some(t) => t + s,
            None => s,
        });
        self.second = Some(match self.second.take() {
            Some(t) => t + q,
            None => q,
        });
        self.n += if per_chain { 1 } else { n };
        debug_assert!(d > 0);
    }

    /// The number of draws added.
    pub fn count(&self) -> usize {
        self.n
    }

    /// Stan's regularised estimate `(n/(n+5)) S + 1e-3 (5/(n+5)) I` from the draws added, or
    /// `None` with fewer than 2 draws or nothing to estimate.
    pub fn estimate(&self) -> Result<Option<InverseMass>, McmcError> {
        let (Some(sum), Some(second)) = (&self.sum, &self.second) else {
            return Ok(None);
        };
        if self.n < 2 {
            return Ok(None);
        }
        let read = |t: &Tensor<2>| {
            t.to_data()
                .try_into_vec_as::<f64>()
                .map_err(|e| McmcError::Readback(format!("{e:?}")))
        };
        let (s, q) = (read(sum)?, read(second)?);
        if self.per_chain {
            return per_chain_diagonal(&s, &q, sum.dims(), self.n).map(Some);
        }
        let d = s.len();
        let n = self.n as f64;
        let mean: Vec<f64> = s.iter().map(|v| v / n).collect();
        let w = n / (n + 5.0);
        let ridge = 1e-3 * 5.0 / (n + 5.0);
        let cov = |i: usize, j: usize, qij: f64| (qij - n * mean[i] * mean[j]) / (n - 1.0);
        match self.kind {
            MassAdapt::None => Ok(None),
            MassAdapt::Diag => {
                let v = (0..d)
                    .map(|i| w * cov(i, i, q[i]).max(0.0) + ridge)
                    .collect();
                InverseMass::diagonal(v).map(Some)
            }
            MassAdapt::Dense => {
                let mut m = vec![0.0; d * d];
                for i in 0..d {
                    for j in 0..d {
                        let c = 0.5 * (cov(i, j, q[i * d + j]) + cov(j, i, q[j * d + i]));
                        m[i * d + j] = w * c + if i == j { ridge } else { 0.0 };
                    }
                }
                InverseMass::dense(d, m).map(Some)
            }
        }
    }
}

/// One regularised diagonal per row of the per-chain sums `s`, `q` (`dims = [N, d]`) of `n`
/// draws each.
fn per_chain_diagonal(
    s: &[f64],
    q: &[f64],
    [rows, _]: [usize; 2],
    n: usize,
) -> Result<InverseMass, McmcError> {
    let n = n as f64;
    let (w, ridge) = (n / (n + 5.0), 1e-3 * 5.0 / (n + 5.0));
    let values = s
        .iter()
        .zip(q)
        .map(|(s, q)| w * ((q - s * s / n) / (n - 1.0)).max(0.0) + ridge)
        .collect();
    InverseMass::per_chain_diagonal(rows, values)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ebm_core::SeededRng;

    #[test]
    fn dense_metric_draws_momenta_of_covariance_m_and_inverts_it() {
        let device = Device::flex();
        // M^{-1} = [[2, 0.6], [0.6, 1]].
        let mass = InverseMass::dense(2, vec![2.0, 0.6, 0.6, 1.0]).unwrap();
        let metric = Metric::new(&mass, &device);
        let z = SeededRng::new(1).normal([20000, 2], &device);
        // The velocity of a momentum draw has covariance M^{-1} M M^{-1} = M^{-1}.
        let v = metric.velocity(metric.momentum(z.clone()));
        let mut est = MassEstimator::new(MassAdapt::Dense);
        est.add(v);
        let InverseMass::Dense { inverse, .. } = est.estimate().unwrap().unwrap() else {
            panic!("dense")
        };
        for (got, want) in inverse.iter().zip([2.0, 0.6, 0.6, 1.0]) {
            assert!((got - want).abs() < 0.06, "{inverse:?}");
        }
        // The Langevin noise has covariance M^{-1} too, and |M^{-1/2} z|^2_M = |z|^2.
        let noise = metric.noise(z.clone());
        let a = metric.mass_norm2(noise).sum().into_scalar::<f32>();
        let b = z.powi_scalar(2).sum().into_scalar::<f32>();
        assert!((a - b).abs() / b < 1e-4, "{a} vs {b}");
        assert!(InverseMass::dense(2, vec![1.0, 2.0, 2.0, 1.0]).is_err());
        assert!(InverseMass::dense(2, vec![1.0, 0.5, 0.4, 1.0]).is_err());
        assert!(InverseMass::diagonal(vec![1.0, -1.0]).is_err());
    }

    #[test]
    fn diagonal_estimate_is_regularised_as_stan() {
        let device = Device::flex();
        let x = Tensor::<2>::from_data(
            TensorData::new(vec![0.0f32, 1.0, 2.0, 3.0], [2, 2]),
            &device,
        );
        let mut est = MassEstimator::new(MassAdapt::Diag);
        est.add(x);
        let InverseMass::Diagonal { values, .. } = est.estimate().unwrap().unwrap() else {
            panic!("diag")
        };
        // n = 2, sample variance 2 in both coordinates.
        let want = 2.0 / 7.0 * 2.0 + 1e-3 * 5.0 / 7.0;
        assert!(values.iter().all(|v| (v - want).abs() < 1e-9), "{values:?}");
        // Per chain: chain 0 draws (0, 1) then (2, 3), chain 1 draws (2, 3) then (6, 3): the
        // variances of two draws are 2, 2 and 8, 0.
        let step = |v: Vec<f32>| Tensor::<2>::from_data(TensorData::new(v, [2, 2]), &device);
        let mut est = MassEstimator::new(MassAdapt::Diag).per_chain();
        est.add(step(vec![0.0, 1.0, 2.0, 3.0]));
        est.add(step(vec![2.0, 3.0, 6.0, 3.0]));
        let Some(InverseMass::Diagonal { rows, values }) = est.estimate().unwrap() else {
            panic!("per-chain diag")
        };
        assert_eq!(rows, 2);
        let want: Vec<f64> = [2.0, 2.0, 8.0, 0.0]
            .iter()
            .map(|v| 2.0 / 7.0 * v + 1e-3 * 5.0 / 7.0)
            .collect();
        for (g, w) in values.iter().zip(&want) {
            assert!((g - w).abs() < 1e-6, "{values:?} vs {want:?}");
        }
    }
}
