//! The multivariate Gaussian energy with a full covariance.

use burn::tensor::{Device, Tensor, TensorData};

use super::{HALF_LN_2PI, check_dim, check_values, row};
use crate::energy::Energy;
use crate::error::EnergyError;
use crate::rng::SeededRng;

/// `E(x) = 1/2 (x - m)^T S^{-1} (x - m)`, with `log Z = d/2 log(2 pi) + 1/2 log det S`.
///
/// The covariance `S` is factorised once as `S = L L^T` (Cholesky, in `f64` on the host):
/// `log det S = 2 sum_i log L_ii`, exact draws are `m + L z`, `z ~ N(0, I)`.
#[derive(Debug, Clone)]
pub struct Gaussian {
    mean: Tensor<2>,
    precision: Tensor<2>,
    chol_t: Tensor<2>,
    mean_host: Vec<f64>,
    cov_host: Vec<f64>,
    log_z: f64,
}

impl Gaussian {
    /// A Gaussian with mean `mean` (`d` values) and covariance `cov` (`d * d` values, row-major,
    /// symmetric positive definite).
    pub fn new(mean: &[f64], cov: &[f64], device: &Device) -> Result<Self, EnergyError> {
        let d = mean.len();
        check_values("Gaussian", "mean", mean, false)?;
        check_values("Gaussian", "cov", cov, false)?;
        let bad = |reason: String| EnergyError::InvalidParameter {
            energy: "Gaussian".into(),
            parameter: "cov".into(),
            reason,
        };
        if cov.len() != d * d {
            return Err(bad(format!(
                "expected {d} x {d} = {} values, got {}",
                d * d,
                cov.len()
            )));
        }
        for i in 0..d {
            for j in 0..i {
                let (a, b) = (cov[i * d + j], cov[j * d + i]);
                if (a - b).abs() > 1e-9 * (1.0 + a.abs().max(b.abs())) {
                    return Err(bad(format!(
                        "not symmetric: entry ({i}, {j}) = {a} but ({j}, {i}) = {b}"
                    )));
                }
            }
        }
        let l = cholesky(cov, d).map_err(|k| bad(format!("not positive definite (pivot {k})")))?;
        let l_inv = lower_inverse(&l, d);
        // S^{-1} = L^{-T} L^{-1}
        let mut precision = vec![0.0; d * d];
        for i in 0..d {
            for j in 0..d {
                precision[i * d + j] = (0..d).map(|k| l_inv[k * d + i] * l_inv[k * d + j]).sum();
            }
        }
        let log_det: f64 = 2.0 * (0..d).map(|i| l[i * d + i].ln()).sum::<f64>();
        let mut l_t = vec![0.0; d * d];
        for i in 0..d {
            for j in 0..d {
                l_t[i * d + j] = l[j * d + i];
            }
        }
        Ok(Self {
            mean: row(mean, device),
            precision: matrix(&precision, d, device),
            chol_t: matrix(&l_t, d, device),
            mean_host: mean.to_vec(),
            cov_host: cov.to_vec(),
            log_z: d as f64 * HALF_LN_2PI + 0.5 * log_det,
        })
    }

    /// The dimension `d`.
    pub fn dim(&self) -> usize {
        self.mean_host.len()
    }

    /// The mean `m`.
    pub fn mean(&self) -> &[f64] {
        &self.mean_host
    }

    /// The covariance `S`, row-major.
    pub fn cov(&self) -> &[f64] {
        &self.cov_host
    }

    /// `n` exact draws, `[n, d]`.
    pub fn sample(&self, n: usize, rng: &mut SeededRng) -> Tensor<2> {
        let z = rng.normal([n, self.dim()], &self.mean.device());
        z.matmul(self.chol_t.clone()) + self.mean.clone()
    }
}

/// The Cholesky factor `L` (row-major, lower) of an SPD matrix, or the failing pivot.
pub(crate) fn cholesky(a: &[f64], d: usize) -> Result<Vec<f64>, usize> {
    let mut l = vec![0.0; d * d];
    for j in 0..d {
        let s = a[j * d + j] - (0..j).map(|k| l[j * d + k] * l[j * d + k]).sum::<f64>();
        if s.is_nan() || s <= 0.0 {
            return Err(j);
        }
        l[j * d + j] = s.sqrt();
        for i in j + 1..d {
            let s = a[i * d + j] - (0..j).map(|k| l[i * d + k] * l[j * d + k]).sum::<f64>();
            l[i * d + j] = s / l[j * d + j];
        }
    }
    Ok(l)
}

/// The inverse of a lower-triangular matrix by forward substitution.
fn lower_inverse(l: &[f64], d: usize) -> Vec<f64> {
    let mut inv = vec![0.0; d * d];
    for c in 0..d {
        for i in c..d {
            let rhs = if i == c { 1.0 } else { 0.0 };
            let s: f64 = (c..i).map(|k| l[i * d + k] * inv[k * d + c]).sum();
            inv[i * d + c] = (rhs - s) / l[i * d + i];
        }
    }
    inv
}

fn matrix(values: &[f64], d: usize, device: &Device) -> Tensor<2> {
    let v: Vec<f32> = values.iter().map(|&x| x as f32).collect();
    Tensor::from_data(TensorData::new(v, [d, d]), device)
}

impl Energy<2> for Gaussian {
    fn energy(&self, x: Tensor<2>) -> Tensor<1> {
        let diff = x - self.mean.clone();
        let scaled = diff.clone().matmul(self.precision.clone());
        let [n, _] = diff.dims();
        (scaled * diff).sum_dim(1).reshape([n]) * 0.5
    }

    fn name(&self) -> String {
        format!("Gaussian (d = {})", self.dim())
    }

    fn check_input(&self, dims: [usize; 2]) -> Result<(), EnergyError> {
        check_dim(&self.name(), self.dim(), dims)
    }

    fn log_z(&self) -> Option<f64> {
        Some(self.log_z)
    }

    /// `dE/dx = S^{-1} (x - m)`.
    fn energy_and_grad(&self, x: Tensor<2>) -> (Tensor<1>, Tensor<2>) {
        let x = x.inner();
        let diff = x - self.mean.clone();
        let grad = diff.clone().matmul(self.precision.clone());
        let [n, _] = diff.dims();
        let e = (grad.clone() * diff).sum_dim(1).reshape([n]) * 0.5;
        (e, grad)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cholesky_reconstructs_and_rejects_indefinite() {
        let a = [4.0, 2.0, 0.4, 2.0, 5.0, 1.0, 0.4, 1.0, 3.0];
        let l = cholesky(&a, 3).unwrap();
        for i in 0..3 {
            for j in 0..3 {
                let s: f64 = (0..3).map(|k| l[i * 3 + k] * l[j * 3 + k]).sum();
                assert!((s - a[i * 3 + j]).abs() < 1e-12);
            }
        }
        assert_eq!(cholesky(&[1.0, 2.0, 2.0, 1.0], 2), Err(1));
    }

    #[test]
    fn bad_covariances_are_named() {
        let device = Device::flex();
        let err = Gaussian::new(&[0.0, 0.0], &[1.0, 2.0, 2.0, 1.0], &device).unwrap_err();
        assert!(err.to_string().contains("positive definite"), "{err}");
        let err = Gaussian::new(&[0.0, 0.0], &[1.0, 0.5, 0.0, 1.0], &device).unwrap_err();
        assert!(err.to_string().contains("symmetric"), "{err}");
        let err = Gaussian::new(&[0.0, 0.0], &[1.0, 0.0, 0.0], &device).unwrap_err();
        assert!(err.to_string().contains("2 x 2"), "{err}");
        assert!(Gaussian::new(&[f64::NAN], &[1.0], &device).is_err());
    }

    #[test]
    fn exact_draws_have_the_right_mean_and_covariance() {
        let device = Device::flex();
        let cov = [2.0, 0.6, 0.6, 0.5];
        let g = Gaussian::new(&[1.0, -2.0], &cov, &device).unwrap();
        let n = 200_000;
        let x = g
            .sample(n, &mut SeededRng::new(3))
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        let mut m = [0.0f64; 2];
        for p in x.chunks(2) {
            m[0] += p[0] as f64 / n as f64;
            m[1] += p[1] as f64 / n as f64;
        }
        let mut c = [0.0f64; 4];
        for p in x.chunks(2) {
            let d = [p[0] as f64 - m[0], p[1] as f64 - m[1]];
            for i in 0..2 {
                for j in 0..2 {
                    c[i * 2 + j] += d[i] * d[j] / n as f64;
                }
            }
        }
        // Monte-Carlo standard errors: sd(mean_i) = sqrt(S_ii / n); sd(S_ij hat) = sqrt((S_ii S_jj + S_ij^2) / n).
        for i in 0..2 {
            let truth = [1.0, -2.0][i];
            assert!(
                (m[i] - truth).abs() < 4.0 * (cov[i * 3] / n as f64).sqrt(),
                "mean {m:?}"
            );
            for j in 0..2 {
                let se = ((cov[i * 3] * cov[j * 3] + cov[i * 2 + j].powi(2)) / n as f64).sqrt();
                assert!(
                    (c[i * 2 + j] - cov[i * 2 + j]).abs() < 4.0 * se,
                    "cov {c:?}"
                );
            }
        }
    }
}
