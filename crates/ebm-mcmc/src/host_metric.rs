//! An [`InverseMass`] on host memory, one chain at a time: what the host transitions of NUTS
//! ([`crate::nuts_host`]) and MALA ([`crate::mala_host`]) need of it, in `f64`. The same maps as
//! the device [`Metric`](crate::mass::Metric): velocity `M^{-1} p`, momentum `p ~ N(0, M)` and
//! noise `L z ~ N(0, M^{-1})` from standard normal `z`, kinetic energy `p^T M^{-1} p / 2`, and
//! the proposal's quadratic form `x^T M x`.

use crate::mass::InverseMass;

/// The inverse mass seen by one chain.
#[derive(Debug, Clone, Copy)]
pub(crate) enum ChainMetric<'a> {
    Identity,
    /// `M^{-1} = diag(inverse)`.
    Diagonal {
        inverse: &'a [f64],
    },
    /// `M^{-1} = S = L L^T` (`[d, d]` row-major, `L` lower).
    Dense {
        d: usize,
        inverse: &'a [f64],
        chol: &'a [f64],
    },
}

impl<'a> ChainMetric<'a> {
    /// Chain `i`'s view of `mass` (its own row of a per-chain diagonal).
    pub(crate) fn of(mass: &'a InverseMass, i: usize) -> Self {
        match mass {
            InverseMass::Identity => Self::Identity,
            InverseMass::Diagonal { rows, values } => {
                let d = values.len() / rows;
                let row = if *rows == 1 { 0 } else { i };
                Self::Diagonal {
                    inverse: &values[row * d..(row + 1) * d],
                }
            }
            InverseMass::Dense { d, inverse, chol } => Self::Dense {
                d: *d,
                inverse,
                chol,
            },
        }
    }

    /// The velocity `M^{-1} p` into `out`.
    pub(crate) fn velocity(&self, p: &[f64], out: &mut [f64]) {
        match self {
            Self::Identity => out.copy_from_slice(p),
            Self::Diagonal { inverse } => {
                for ((o, p), v) in out.iter_mut().zip(p).zip(*inverse) {
                    *o = p * v;
                }
            }
            Self::Dense { d, inverse, .. } => {
                for (o, row) in out.iter_mut().zip(inverse.chunks_exact(*d)) {
                    *o = row.iter().zip(p).map(|(a, b)| a * b).sum();
                }
            }
        }
    }

    /// `a^T M^{-1} b`.
    pub(crate) fn dot(&self, a: &[f64], b: &[f64]) -> f64 {
        match self {
            Self::Identity => a.iter().zip(b).map(|(a, b)| a * b).sum(),
            Self::Diagonal { inverse } => a
                .iter()
                .zip(b)
                .zip(*inverse)
                .map(|((a, b), v)| a * b * v)
                .sum(),
            Self::Dense { d, inverse, .. } => inverse
                .chunks_exact(*d)
                .zip(a)
                .map(|(row, a)| a * row.iter().zip(b).map(|(s, b)| s * b).sum::<f64>())
                .sum(),
        }
    }

    /// The kinetic energy `p^T M^{-1} p / 2`.
    pub(crate) fn kinetic(&self, p: &[f64]) -> f64 {
        0.5 * self.dot(p, p)
    }

    /// Noise `L z ~ N(0, M^{-1})` from standard normal `z`, in place: `sqrt(v) z` (diagonal),
    /// `L z` (dense).
    pub(crate) fn noise(&self, z: &mut [f64]) {
        match self {
            Self::Identity => {}
            Self::Diagonal { inverse } => {
                z.iter_mut().zip(*inverse).for_each(|(z, v)| *z *= v.sqrt());
            }
            Self::Dense { d, chol, .. } => {
                for i in (0..*d).rev() {
                    z[i] = (0..=i).map(|k| chol[i * d + k] * z[k]).sum();
                }
            }
        }
    }

    /// `|x|^2_M = x^T M x`: `|x|^2` (identity), `sum x^2 / v` (diagonal), `|L^{-1} x|^2` (dense,
    /// by forward substitution).
    pub(crate) fn mass_norm2(&self, x: &[f64]) -> f64 {
        match self {
            Self::Identity => x.iter().map(|v| v * v).sum(),
            Self::Diagonal { inverse } => x.iter().zip(*inverse).map(|(x, v)| x * x / v).sum(),
            Self::Dense { d, chol, .. } => {
                let mut w = vec![0.0; *d];
                for i in 0..*d {
                    let s: f64 = (0..i).map(|k| chol[i * d + k] * w[k]).sum();
                    w[i] = (x[i] - s) / chol[i * d + i];
                }
                w.iter().map(|v| v * v).sum()
            }
        }
    }

    /// A momentum `p ~ N(0, M)` from standard normal `z`, in place: `z / sqrt(v)` (diagonal),
    /// `L^{-T} z` (dense: back substitution with `L^T`).
    pub(crate) fn momentum(&self, z: &mut [f64]) {
        match self {
            Self::Identity => {}
            Self::Diagonal { inverse } => {
                z.iter_mut().zip(*inverse).for_each(|(z, v)| *z /= v.sqrt());
            }
            Self::Dense { d, chol, .. } => {
                for i in (0..*d).rev() {
                    let s: f64 = (i + 1..*d).map(|k| chol[k * d + i] * z[k]).sum();
                    z[i] = (z[i] - s) / chol[i * d + i];
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use burn::tensor::{Device, Tensor, TensorData};

    use super::*;
    use crate::mass::Metric;

    /// Each host map equals the device [`Metric`]'s on the same numbers, for all three forms.
    #[test]
    fn host_maps_match_the_device_metric() {
        let d = 3;
        let dense = InverseMass::dense(d, vec![2.0, 0.3, 0.1, 0.3, 1.0, -0.2, 0.1, -0.2, 0.5]);
        let masses = [
            InverseMass::Identity,
            InverseMass::per_chain_diagonal(2, vec![0.5, 2.0, 3.0, 1.0, 0.1, 4.0]).unwrap(),
            dense.unwrap(),
        ];
        let device = Device::flex();
        let z = [0.3, -1.2, 0.7, 1.1, 0.4, -0.9];
        let tensor = Tensor::<2>::from_data(
            TensorData::new(z.map(|v| v as f32).to_vec(), [2, d]),
            &device,
        );
        for mass in &masses {
            let metric = Metric::new(mass, &device);
            let read = |t: Tensor<2>| -> Vec<f32> { t.to_data().try_to_vec::<f32>().unwrap() };
            let velocity = read(metric.velocity(tensor.clone()));
            let momentum = read(metric.momentum(tensor.clone()));
            let noise = read(metric.noise(tensor.clone()));
            let norm: Vec<f32> = metric
                .mass_norm2(tensor.clone())
                .to_data()
                .try_to_vec::<f32>()
                .unwrap();
            let kinetic: Vec<f32> = metric
                .kinetic(tensor.clone())
                .to_data()
                .try_to_vec::<f32>()
                .unwrap();
            for i in 0..2 {
                let m = ChainMetric::of(mass, i);
                let row = &z[i * d..(i + 1) * d];
                let mut v = vec![0.0; d];
                m.velocity(row, &mut v);
                let mut p = row.to_vec();
                m.momentum(&mut p);
                let mut l = row.to_vec();
                m.noise(&mut l);
                for j in 0..d {
                    assert!((v[j] - velocity[i * d + j] as f64).abs() < 1e-5, "{mass:?}");
                    assert!((p[j] - momentum[i * d + j] as f64).abs() < 1e-5, "{mass:?}");
                    assert!((l[j] - noise[i * d + j] as f64).abs() < 1e-5, "{mass:?}");
                }
                assert!(
                    (m.mass_norm2(row) - norm[i] as f64).abs() < 1e-5,
                    "{mass:?}"
                );
                assert!(
                    (m.kinetic(row) - kinetic[i] as f64).abs() < 1e-5,
                    "{mass:?}"
                );
            }
        }
    }
}
