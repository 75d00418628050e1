//! The product of one-dimensional kernel density estimates: an energy that treats columns as
//! independent, with exact draws.

use serde::{Deserialize, Serialize};

use super::robust_scale::spreads;
use crate::rng::SeededRng;

/// `E(z) = -sum_j log p_j(z_j)`, `p_j(t) = 1/n sum_i N(t; z_ij, h_j^2)`: each column's Gaussian
/// kernel density estimate, with Silverman's bandwidth `h_j = f * 0.9 min(sd_j, IQR_j / 1.349)
/// n^(-1/5)` times a factor `f`.
///
/// Each density is tabulated once, on `grid` points spanning the column's range widened by
/// `4 h_j` on both sides (values binned to the nearest point, then convolved with the kernel),
/// and read back by linear interpolation of `log p_j`; beyond the grid it falls off as the
/// kernel does, `log p_j(edge) - d^2 / (2 h_j^2)` at a distance `d` from the edge. A density
/// is floored at `1e-300`, so an energy is always finite. Scoring a row costs `O(d)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MarginalKde {
    columns: Vec<Column>,
}

/// One column's tabulated log density.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Column {
    lo: f64,
    hi: f64,
    bandwidth: f64,
    log_density: Vec<f64>,
}

impl MarginalKde {
    /// Fits the product of marginal densities on `rows` rows of `cols` values (row-major), with
    /// bandwidth factor `factor` and `grid` points per column (at least 2).
    pub fn fit(values: &[f64], rows: usize, cols: usize, factor: f64, grid: usize) -> Self {
        let columns = (0..cols)
            .map(|j| {
                let col: Vec<f64> = (0..rows).map(|i| values[i * cols + j]).collect();
                Column::fit(col, factor, grid.max(2))
            })
            .collect();
        Self { columns }
    }

    /// The number of columns.
    pub fn cols(&self) -> usize {
        self.columns.len()
    }

    /// The kernel bandwidth of each column.
    pub fn bandwidths(&self) -> Vec<f64> {
        self.columns.iter().map(|c| c.bandwidth).collect()
    }

    /// `d M / d z_j` at `z` for column `j`: minus the slope of its interpolated log density.
    pub fn column_slope(&self, j: usize, z: f64) -> f64 {
        -self.columns[j].log_density_slope(z)
    }

    /// The energy of one row, `-sum_j log p_j(z_j)`.
    pub fn energy(&self, row: &[f64]) -> f64 {
        -row.iter()
            .zip(&self.columns)
            .map(|(&z, c)| c.log_density_at(z))
            .sum::<f64>()
    }
}

impl Column {
    fn fit(mut col: Vec<f64>, factor: f64, grid: usize) -> Self {
        col.sort_by(f64::total_cmp);
        let bandwidth = factor * silverman(&col);
        let lo = col[0] - 4.0 * bandwidth;
        let hi = col[col.len() - 1] + 4.0 * bandwidth;
        let dx = (hi - lo) / (grid - 1) as f64;
        let mut counts = vec![0.0f64; grid];
        for &v in &col {
            let k = (((v - lo) / dx).round() as usize).min(grid - 1);
            counts[k] += 1.0;
        }
        let reach = ((8.0 * bandwidth / dx).ceil() as usize).min(grid);
        let kernel: Vec<f64> = (0..=reach)
            .map(|k| (-0.5 * (k as f64 * dx / bandwidth).powi(2)).exp())
            .collect();
        let norm = col.len() as f64 * bandwidth * (2.0 * std::f64::consts::PI).sqrt();
        let log_density = (0..grid)
            .map(|k| {
                let from = k.saturating_sub(reach);
                let to = (k + reach).min(grid - 1);
                let sum: f64 = (from..=to).map(|m| counts[m] * kernel[k.abs_diff(m)]).sum();
                (sum / norm).max(1e-300).ln()
            })
            .collect();
        Self {
            lo,
            hi,
            bandwidth,
            log_density,
        }
    }

    fn log_density_slope(&self, z: f64) -> f64 {
        let last = self.log_density.len() - 1;
        let h2 = self.bandwidth * self.bandwidth;
        if z <= self.lo {
            return (self.lo - z) / h2;
        }
        if z >= self.hi {
            return -(z - self.hi) / h2;
        }
        let dx = (self.hi - self.lo) / last as f64;
        let k = (((z - self.lo) / dx) as usize).min(last - 1);
        (self.log_density[k + 1] - self.log_density[k]) / dx
    }

    fn log_density_at(&self, z: f64) -> f64 {
        let last = self.log_density.len() - 1;
        let fall = |d: f64| -0.5 * (d / self.bandwidth).powi(2);
        if z <= self.lo {
            return self.log_density[0] + fall(self.lo - z);
        }
        if z >= self.hi {
            return self.log_density[last] + fall(z - self.hi);
        }
        let t = (z - self.lo) / (self.hi - self.lo) * last as f64;
        let k = (t as usize).min(last - 1);
        let f = t - k as f64;
        self.log_density[k] * (1.0 - f) + self.log_density[k + 1] * f
    }
}

/// Silverman's rule `0.9 min(sd, IQR / 1.349) n^(-1/5)` on sorted values, with the standard
/// deviation where the IQR is zero and 1 for a constant column.
fn silverman(sorted: &[f64]) -> f64 {
    let (sd, iqr) = spreads(sorted);
    let spread = if iqr > 0.0 { sd.min(iqr) } else { sd };
    let spread = if spread > 0.0 { spread } else { 1.0 };
    0.9 * spread * (sorted.len() as f64).powf(-0.2)
}

/// Exact draws from a [`MarginalKde`]'s density (before tabulation): each column of a draw is
/// an independently chosen training value of that column plus `h_j` times a standard normal.
#[derive(Debug, Clone)]
pub struct KdeSampler {
    values: Vec<f64>,
    rows: usize,
    bandwidths: Vec<f64>,
}

impl KdeSampler {
    /// The sampler of `kde`, fitted on these `rows` rows (row-major).
    pub fn new(kde: &MarginalKde, values: Vec<f64>, rows: usize) -> Self {
        Self {
            values,
            rows,
            bandwidths: kde.bandwidths(),
        }
    }

    /// The number of columns.
    pub fn cols(&self) -> usize {
        self.bandwidths.len()
    }

    /// `n` draws, row-major `[n, cols]`.
    pub fn sample(&self, n: usize, rng: &mut SeededRng) -> Vec<f32> {
        let cols = self.cols();
        let noise = rng.normal_vec(n * cols);
        noise
            .iter()
            .enumerate()
            .map(|(k, &e)| {
                let j = k % cols;
                let i = ((rng.next_u64() as u128 * self.rows as u128) >> 64) as usize;
                (self.values[i * cols + j] + self.bandwidths[j] * f64::from(e)) as f32
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// On standard normal data the KDE's energy approaches the normal's, `z^2/2 + ln sqrt(2 pi)`
    /// per column, up to the kernel's smoothing (variance `1 + h^2`) and sampling error.
    #[test]
    fn normal_data_gives_normal_energy() {
        let mut rng = SeededRng::new(1);
        let n = 20_000;
        let values: Vec<f64> = rng.normal_vec(n).iter().map(|&v| f64::from(v)).collect();
        let kde = MarginalKde::fit(&values, n, 1, 1.0, 1024);
        let h = kde.bandwidths()[0];
        let var = 1.0 + h * h;
        for z in [-2.0, -1.0, 0.0, 0.5, 1.5, 3.0] {
            let exact = z * z / (2.0 * var) + 0.5 * (2.0 * std::f64::consts::PI * var).ln();
            let e = kde.energy(&[z]);
            assert!(
                (e - exact).abs() < 0.05 + 0.05 * z * z,
                "z {z}: {e} vs {exact}"
            );
        }
        // The negative control: a far point is far less likely than the centre.
        assert!(kde.energy(&[8.0]) > kde.energy(&[0.0]) + 25.0);
    }

    /// Draws from the sampler have the data's mean and variance plus the kernel's, within
    /// 4 standard errors of the mean estimate (se = sqrt(var / m)).
    #[test]
    fn draws_follow_the_marginals() {
        let values: Vec<f64> = (0..400).flat_map(|i| [f64::from(i % 2), 10.0]).collect();
        let kde = MarginalKde::fit(&values, 400, 2, 1.0, 256);
        let draws = KdeSampler::new(&kde, values, 400).sample(20_000, &mut SeededRng::new(3));
        let col0: Vec<f64> = draws.iter().step_by(2).map(|&v| f64::from(v)).collect();
        let m = col0.len() as f64;
        let mean = col0.iter().sum::<f64>() / m;
        let h = kde.bandwidths()[0];
        let var = 0.25 + h * h;
        assert!((mean - 0.5).abs() < 4.0 * (var / m).sqrt(), "mean {mean}");
        let h1 = kde.bandwidths()[1] as f32;
        assert!(
            draws
                .iter()
                .skip(1)
                .step_by(2)
                .all(|&v| (v - 10.0).abs() < 6.0 * h1)
        );
    }
}
