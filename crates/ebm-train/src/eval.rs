//! Exact evaluation of 2-D densities: held-out NLL by quadrature, a Gaussian KDE baseline and
//! the kernel two-sample statistic MMD².
//!
//! All arithmetic is on the host in `f64`; points are `[f64; 2]` rows.
//!
//! - [`exact_nll`]: `NLL = mean_i E(x_i) + log Z` with `log Z` from `ebm_core`'s trapezoid
//!   quadrature over a box ([`eval_half_width`] picks the box from the data); reports the mass on
//!   the box's edge so that a box too small is visible.
//! - [`Kde`]: `p_h(x) = (1/n) sum_i N(x; x_i, h^2 I)`, the bandwidth `h` chosen on a validation
//!   split by held-out log-likelihood ([`Kde::fit`]).
//! - [`mmd`]: the unbiased MMD² with a Gaussian kernel of median-heuristic bandwidth, with the
//!   standard deviation of the statistic when both samples come from one distribution.

use std::f64::consts::PI;

use burn::tensor::{Device, Tensor, TensorData};
use ebm_core::{Energy, EnergyError, Grid, Normalisation, normalise};
use thiserror::Error;

/// What can stop an evaluation.
#[derive(Debug, Error)]
pub enum EvalError {
    /// The energy failed on the grid or on the points (NaN, wrong shape, no mass in the box).
    #[error(transparent)]
    Energy(#[from] EnergyError),
    /// An input is unusable (empty, non-finite, mismatched sizes, bad bandwidth).
    #[error("invalid {what}: {reason}")]
    Input {
        /// The input at fault.
        what: String,
        /// What is wrong.
        reason: String,
    },
}

fn input(what: &str, reason: impl Into<String>) -> EvalError {
    EvalError::Input {
        what: what.into(),
        reason: reason.into(),
    }
}

fn check_points(what: &str, points: &[[f64; 2]], min: usize) -> Result<(), EvalError> {
    if points.len() < min {
        return Err(input(
            what,
            format!("need at least {min} points, got {}", points.len()),
        ));
    }
    if let Some(i) = points
        .iter()
        .position(|p| !(p[0].is_finite() && p[1].is_finite()))
    {
        return Err(input(
            what,
            format!("point {i} is not finite: {:?}", points[i]),
        ));
    }
    Ok(())
}

/// A mean with its Monte-Carlo standard error `sd / sqrt(n)` (sample sd, `n - 1` divisor).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MeanSe {
    /// `(1/n) sum_i v_i`.
    pub mean: f64,
    /// `sqrt( sum_i (v_i - mean)^2 / (n - 1) / n )` (0 for a single value).
    pub se: f64,
}

impl MeanSe {
    /// The mean and standard error of `values` (`None` if empty).
    pub fn of(values: &[f64]) -> Option<Self> {
        if values.is_empty() {
            return None;
        }
        let n = values.len() as f64;
        let mean = values.iter().sum::<f64>() / n;
        let se = if values.len() > 1 {
            (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0) / n).sqrt()
        } else {
            0.0
        };
        Some(Self { mean, se })
    }
}

/// Converts host points to a `[n, 2]` tensor (`f32`) on `device`.
pub fn points_tensor(points: &[[f64; 2]], device: &Device) -> Tensor<2> {
    let flat: Vec<f32> = points.iter().flatten().map(|&v| v as f32).collect();
    Tensor::<2>::from_data(TensorData::new(flat, [points.len(), 2]), device)
}

/// Half-width of the square evaluation box `[-a, a]^2`:
/// `a = max(min_half_width, max_i max(|x_i1|, |x_i2|) + margin)`.
///
/// For the FFJORD toy sets (all within about `[-4, 4]^2`), `margin = 0.5, min_half_width = 4.5`
/// gives `[-4.5, 4.5]^2`.
pub fn eval_half_width(
    points: &[[f64; 2]],
    margin: f64,
    min_half_width: f64,
) -> Result<f64, EvalError> {
    check_points("points", points, 1)?;
    if !(margin.is_finite() && margin >= 0.0 && min_half_width.is_finite() && min_half_width > 0.0)
    {
        return Err(input(
            "box",
            format!("need margin >= 0 and min_half_width > 0, got {margin} and {min_half_width}"),
        ));
    }
    let reach = points
        .iter()
        .map(|p| p[0].abs().max(p[1].abs()))
        .fold(0.0, f64::max);
    Ok(min_half_width.max(reach + margin))
}

/// The exact held-out negative log-likelihood of an energy, from quadrature.
#[derive(Debug, Clone)]
pub struct ExactNll {
    /// `NLL = -(1/m) sum_i log p(x_i) = (1/m) sum_i E(x_i) + log Z` in nats.
    pub nll: MeanSe,
    /// `log Z` over the box (trapezoid rule).
    pub log_z: f64,
    /// Probability mass on the box's boundary cells ([`Normalisation::edge_mass`]); well below
    /// 1e-3 means the box holds the model's mass.
    pub edge_mass: f64,
    /// Held-out points outside the box (their log-density is still `-E(x) - log Z`).
    pub outside: usize,
    /// The normalisation (grid, energies; [`Normalisation::density`] for plots).
    pub normalisation: Normalisation,
}

/// The exact NLL of `points` under `p(x) = exp(-E(x)) / Z`, `Z = ∫_box exp(-E)` computed on
/// `grid` by the trapezoid rule (`ebm_core::normalise`):
/// `NLL = (1/m) sum_i E(x_i) + log Z`, with its Monte-Carlo standard error over the points.
pub fn exact_nll<E: Energy<2> + ?Sized>(
    energy: &E,
    grid: &Grid,
    points: &[[f64; 2]],
    device: &Device,
) -> Result<ExactNll, EvalError> {
    check_points("held-out points", points, 1)?;
    if grid.dim() != 2 {
        return Err(input(
            "grid",
            format!("need a 2-D grid, got {}-D", grid.dim()),
        ));
    }
    let normalisation = normalise(energy, grid, device)?;
    let log_p = normalisation.log_prob(energy, points_tensor(points, device))?;
    let nll_terms: Vec<f64> = log_p.iter().map(|l| -l).collect();
    if let Some(i) = nll_terms.iter().position(|v| !v.is_finite()) {
        return Err(input(
            "held-out points",
            format!("log p at point {i} {:?} is {}", points[i], -nll_terms[i]),
        ));
    }
    let (xs, ys) = (grid.axis(0), grid.axis(1));
    let (x0, x1, y0, y1) = (xs[0], xs[xs.len() - 1], ys[0], ys[ys.len() - 1]);
    let outside = points
        .iter()
        .filter(|p| !(x0..=x1).contains(&p[0]) || !(y0..=y1).contains(&p[1]))
        .count();
    Ok(ExactNll {
        nll: MeanSe::of(&nll_terms).expect("at least one point"),
        log_z: normalisation.log_z,
        edge_mass: normalisation.edge_mass(),
        outside,
        normalisation,
    })
}

/// `log sum_i exp(v_i)`, stable; `-inf` for no terms.
fn log_sum_exp(values: impl Iterator<Item = f64> + Clone) -> f64 {
    let max = values.clone().fold(f64::NEG_INFINITY, f64::max);
    if !max.is_finite() {
        return max;
    }
    max + values.map(|v| (v - max).exp()).sum::<f64>().ln()
}

/// Applies `f` to every item on all available cores (scoped threads, order kept).
fn par_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(items.len().max(1));
    if threads <= 1 {
        return items.iter().map(&f).collect();
    }
    let chunk = items.len().div_ceil(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|c| s.spawn(|| c.iter().map(&f).collect::<Vec<R>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("evaluation thread panicked"))
            .collect()
    })
}

fn sq_dist(a: [f64; 2], b: [f64; 2]) -> f64 {
    (a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)
}

/// A Gaussian kernel density estimate with isotropic bandwidth `h`:
///
/// ```text
/// p_h(x) = (1/n) sum_i N(x; x_i, h^2 I)
/// log p_h(x) = logsumexp_i( -|x - x_i|^2 / (2 h^2) ) - log n - log(2 pi h^2)
/// ```
#[derive(Debug, Clone)]
pub struct Kde {
    points: Vec<[f64; 2]>,
    bandwidth: f64,
}

/// A KDE with its bandwidth chosen on a validation split.
#[derive(Debug, Clone)]
pub struct KdeFit {
    /// The KDE at the best bandwidth.
    pub kde: Kde,
    /// Every candidate `(h, mean validation log-likelihood)`, in the order given.
    pub scores: Vec<(f64, f64)>,
}

impl Kde {
    /// A KDE on `points` (at least one, finite) with bandwidth `h > 0`.
    pub fn new(points: Vec<[f64; 2]>, bandwidth: f64) -> Result<Self, EvalError> {
        check_points("KDE points", &points, 1)?;
        if !(bandwidth.is_finite() && bandwidth > 0.0) {
            return Err(input(
                "bandwidth",
                format!("must be finite and > 0, got {bandwidth}"),
            ));
        }
        Ok(Self { points, bandwidth })
    }

    /// The bandwidth `h`.
    pub fn bandwidth(&self) -> f64 {
        self.bandwidth
    }

    /// The kernel centres.
    pub fn points(&self) -> &[[f64; 2]] {
        &self.points
    }

    /// `log p_h(x)` (formula on [`Kde`]).
    pub fn log_density(&self, x: [f64; 2]) -> f64 {
        let inv = -0.5 / (self.bandwidth * self.bandwidth);
        log_sum_exp(self.points.iter().map(|&p| sq_dist(x, p) * inv))
            - (self.points.len() as f64).ln()
            - (2.0 * PI * self.bandwidth * self.bandwidth).ln()
    }

    /// `log p_h(x)` of every point, on all cores (O(n m)).
    pub fn log_densities(&self, xs: &[[f64; 2]]) -> Vec<f64> {
        par_map(xs, |&x| self.log_density(x))
    }

    /// The held-out NLL `-(1/m) sum_j log p_h(x_j)` with its standard error.
    pub fn nll(&self, xs: &[[f64; 2]]) -> Result<MeanSe, EvalError> {
        check_points("held-out points", xs, 1)?;
        let terms: Vec<f64> = self.log_densities(xs).into_iter().map(|l| -l).collect();
        Ok(MeanSe::of(&terms).expect("at least one point"))
    }

    /// Fits the bandwidth: for every candidate `h`, the mean log-likelihood of `validation`
    /// under `p_h` built on `train`; keeps the `h` with the highest. The squared distances of a
    /// validation point are computed once and reused across candidates.
    pub fn fit(
        train: Vec<[f64; 2]>,
        validation: &[[f64; 2]],
        bandwidths: &[f64],
    ) -> Result<KdeFit, EvalError> {
        check_points("KDE training points", &train, 1)?;
        check_points("KDE validation points", validation, 1)?;
        if bandwidths.is_empty() || bandwidths.iter().any(|h| !(h.is_finite() && *h > 0.0)) {
            return Err(input(
                "bandwidths",
                format!("need at least one, all finite and > 0, got {bandwidths:?}"),
            ));
        }
        let log_n = (train.len() as f64).ln();
        let per_point: Vec<Vec<f64>> = par_map(validation, |&x| {
            let d2: Vec<f64> = train.iter().map(|&p| sq_dist(x, p)).collect();
            bandwidths
                .iter()
                .map(|&h| {
                    let inv = -0.5 / (h * h);
                    log_sum_exp(d2.iter().map(|d| d * inv)) - log_n - (2.0 * PI * h * h).ln()
                })
                .collect()
        });
        let m = validation.len() as f64;
        let scores: Vec<(f64, f64)> = bandwidths
            .iter()
            .enumerate()
            .map(|(k, &h)| (h, per_point.iter().map(|v| v[k]).sum::<f64>() / m))
            .collect();
        let best = scores
            .iter()
            .copied()
            .filter(|s| s.1.is_finite())
            .fold(None, |b: Option<(f64, f64)>, s| match b {
                Some(b) if b.1 >= s.1 => Some(b),
                _ => Some(s),
            })
            .ok_or_else(|| input("bandwidths", "no candidate gives a finite likelihood"))?;
        Ok(KdeFit {
            kde: Kde::new(train, best.0)?,
            scores,
        })
    }
}

/// `k` bandwidths spaced evenly in `log h` from `lo` to `hi` (both included).
pub fn log_spaced(lo: f64, hi: f64, k: usize) -> Vec<f64> {
    if k <= 1 {
        return vec![lo];
    }
    let (a, b) = (lo.ln(), hi.ln());
    (0..k)
        .map(|i| (a + (b - a) * i as f64 / (k - 1) as f64).exp())
        .collect()
}

/// The default bandwidth candidates for the toy sets: 25 values log-spaced over `[0.01, 1]`.
pub fn default_bandwidths() -> Vec<f64> {
    log_spaced(0.01, 1.0, 25)
}

/// The unbiased MMD² between two samples, with its kernel and null standard deviation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Mmd {
    /// The unbiased estimate `MMD²_u` (can be slightly negative).
    pub mmd2: f64,
    /// The Gaussian kernel's bandwidth `sigma`.
    pub bandwidth: f64,
    /// Standard deviation of `MMD²_u` when both samples come from one distribution:
    /// `sqrt( 2 / (n (n-1)) * mean_{i != j} h_ij^2 )` (Gretton et al. 2012, the degenerate
    /// U-statistic), `h_ij = k(x_i,x_j) + k(y_i,y_j) - k(x_i,y_j) - k(x_j,y_i)`.
    pub null_sd: f64,
}

/// The median heuristic: `sigma = median_{i < j} |z_i - z_j|` over the pooled sample `z = x ∪ y`
/// (the first 500 points of each, so the cost stays O(1000²)).
pub fn median_heuristic(x: &[[f64; 2]], y: &[[f64; 2]]) -> Result<f64, EvalError> {
    let pooled: Vec<[f64; 2]> = x
        .iter()
        .take(500)
        .chain(y.iter().take(500))
        .copied()
        .collect();
    check_points("MMD samples", &pooled, 2)?;
    let mut d: Vec<f64> = (0..pooled.len())
        .flat_map(|i| (i + 1..pooled.len()).map(move |j| (i, j)))
        .map(|(i, j)| sq_dist(pooled[i], pooled[j]).sqrt())
        .collect();
    d.sort_by(f64::total_cmp);
    let mid = d.len() / 2;
    let median = if d.len().is_multiple_of(2) {
        0.5 * (d[mid - 1] + d[mid])
    } else {
        d[mid]
    };
    if median > 0.0 {
        Ok(median)
    } else {
        Err(input("MMD samples", "the median pairwise distance is 0"))
    }
}

/// The unbiased MMD² of two equal-size samples with the Gaussian kernel
/// `k(a, b) = exp(-|a - b|^2 / (2 sigma^2))`:
///
/// ```text
/// MMD²_u = 1/(n(n-1)) sum_{i != j} [k(x_i,x_j) + k(y_i,y_j) - k(x_i,y_j) - k(x_j,y_i)]
/// ```
///
/// (Gretton et al. 2012, eq. 4: the U-statistic over pairs; unbiased like the three-sum form,
/// from which it differs only by leaving out the cross terms `k(x_i, y_i)`). O(n²), on all cores.
pub fn mmd2_unbiased(x: &[[f64; 2]], y: &[[f64; 2]], sigma: f64) -> Result<Mmd, EvalError> {
    check_points("MMD sample x", x, 2)?;
    check_points("MMD sample y", y, 2)?;
    if x.len() != y.len() {
        return Err(input(
            "MMD samples",
            format!("need equal sizes, got {} and {}", x.len(), y.len()),
        ));
    }
    if !(sigma.is_finite() && sigma > 0.0) {
        return Err(input(
            "MMD bandwidth",
            format!("must be finite and > 0, got {sigma}"),
        ));
    }
    let n = x.len();
    let inv = -0.5 / (sigma * sigma);
    let k = |a: [f64; 2], b: [f64; 2]| (sq_dist(a, b) * inv).exp();
    let rows: Vec<usize> = (0..n).collect();
    let sums: Vec<(f64, f64)> = par_map(&rows, |&i| {
        let (mut s, mut s2) = (0.0, 0.0);
        for j in 0..n {
            if j != i {
                let h = k(x[i], x[j]) + k(y[i], y[j]) - k(x[i], y[j]) - k(x[j], y[i]);
                s += h;
                s2 += h * h;
            }
        }
        (s, s2)
    });
    let pairs = (n * (n - 1)) as f64;
    let mmd2 = sums.iter().map(|s| s.0).sum::<f64>() / pairs;
    let mean_h2 = sums.iter().map(|s| s.1).sum::<f64>() / pairs;
    Ok(Mmd {
        mmd2,
        bandwidth: sigma,
        null_sd: (2.0 / pairs * mean_h2).sqrt(),
    })
}

/// [`mmd2_unbiased`] with the [`median_heuristic`] bandwidth.
pub fn mmd(x: &[[f64; 2]], y: &[[f64; 2]]) -> Result<Mmd, EvalError> {
    let sigma = median_heuristic(x, y)?;
    mmd2_unbiased(x, y, sigma)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_inputs_are_rejected_with_a_reason() {
        assert!(Kde::new(vec![], 0.1).is_err());
        assert!(Kde::new(vec![[0.0, 0.0]], 0.0).is_err());
        assert!(Kde::new(vec![[f64::NAN, 0.0]], 0.1).is_err());
        let a = [[0.0, 0.0], [1.0, 0.0]];
        let b = [[0.0, 0.0], [1.0, 0.0], [2.0, 0.0]];
        assert!(
            mmd2_unbiased(&a, &b, 1.0)
                .unwrap_err()
                .to_string()
                .contains("equal sizes")
        );
        assert!(mmd2_unbiased(&a, &a, -1.0).is_err());
        assert!(Kde::fit(a.to_vec(), &a, &[]).is_err());
        assert_eq!(eval_half_width(&[[1.0, -5.0]], 0.5, 4.5).unwrap(), 5.5);
        assert_eq!(eval_half_width(&[[1.0, -2.0]], 0.5, 4.5).unwrap(), 4.5);
    }

    #[test]
    fn kde_of_one_point_is_the_gaussian_density() {
        let kde = Kde::new(vec![[0.5, -1.0]], 0.3).unwrap();
        let x = [0.9, -0.7];
        let exact = -(0.4f64.powi(2) + 0.3f64.powi(2)) / (2.0 * 0.09) - (2.0 * PI * 0.09).ln();
        assert!((kde.log_density(x) - exact).abs() < 1e-12);
    }
}
