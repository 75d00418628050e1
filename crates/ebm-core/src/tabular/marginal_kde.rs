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
///
/// With a [`Background`] each column's density becomes `(1 - eps) p_j + eps N(0, s^2)`: far
/// from the data a column's energy then grows as `z^2 / (2 s^2)` instead of `d^2 / (2 h_j^2)`,
/// so one extreme column does not outweigh every other.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MarginalKde {
    columns: Vec<Column>,
    /// The broad component mixed into every column (absent in detectors fitted without it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    background: Option<Background>,
}

/// A broad Gaussian `N(0, scale^2)` (standardised units) mixed into each column's density with
/// weight `weight`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Background {
    /// The mixture weight `eps`, in `(0, 1)`.
    pub weight: f64,
    /// The standard deviation `s`.
    pub scale: f64,
}

impl Background {
    /// Whether `0 < weight < 1` and `0 < scale < inf`.
    pub fn is_valid(&self) -> bool {
        self.weight > 0.0 && self.weight < 1.0 && self.scale > 0.0 && self.scale.is_finite()
    }

    /// `log((1 - eps) p + eps N(z; 0, s^2))` from the KDE's `log p` at `z`.
    fn mix(&self, kde_log: f64, z: f64) -> f64 {
        log_add_exp((-self.weight).ln_1p() + kde_log, self.log_density(z))
    }

    /// `log(eps N(z; 0, s^2))`.
    fn log_density(&self, z: f64) -> f64 {
        self.weight.ln()
            - 0.5 * (z / self.scale).powi(2)
            - (self.scale * (2.0 * std::f64::consts::PI).sqrt()).ln()
    }
}

/// One column's tabulated log density.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Column {
    lo: f64,
    hi: f64,
    bandwidth: f64,
    log_density: Vec<f64>,
    /// With a background: the mixture's log density on the same grid (so scoring inside the
    /// grid costs one interpolation either way); empty without.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    mixed: Vec<f64>,
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
        Self {
            columns,
            background: None,
        }
    }

    /// The same densities with `background` mixed into each (see [`Background`]); `None`
    /// unless it [is valid](Background::is_valid).
    pub fn with_background(mut self, background: Background) -> Option<Self> {
        if !background.is_valid() {
            return None;
        }
        for c in &mut self.columns {
            let dx = (c.hi - c.lo) / (c.log_density.len() - 1) as f64;
            c.mixed = (c.log_density.iter().enumerate())
                .map(|(k, &lp)| background.mix(lp, c.lo + k as f64 * dx))
                .collect();
        }
        self.background = Some(background);
        Some(self)
    }

    /// The column's log density `log p_j(z)`, with the background where there is one: inside
    /// the grid interpolated from the tabulated mixture, beyond it (or if the table is missing
    /// from a hand-edited file) the mixture of the KDE's value and the background's.
    fn log_density(&self, j: usize, z: f64) -> f64 {
        let c = &self.columns[j];
        match &self.background {
            None => c.log_density_at(z),
            Some(_) if c.has_mixed(z) => c.interpolate(&c.mixed, z),
            Some(b) => b.mix(c.log_density_at(z), z),
        }
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
    /// With a background, inside the grid the tabulated mixture's; beyond it each component's,
    /// weighed by its share of the density at `z`.
    pub fn column_slope(&self, j: usize, z: f64) -> f64 {
        let c = &self.columns[j];
        match &self.background {
            None => -c.log_density_slope(&c.log_density, z),
            Some(_) if c.has_mixed(z) => -c.log_density_slope(&c.mixed, z),
            Some(b) => {
                let kde_slope = c.log_density_slope(&c.log_density, z);
                let share = (b.log_density(z) - self.log_density(j, z)).exp();
                -((1.0 - share) * kde_slope - share * z / (b.scale * b.scale))
            }
        }
    }

    /// The energy of one row, `-sum_j log p_j(z_j)`.
    pub fn energy(&self, row: &[f64]) -> f64 {
        -row.iter()
            .enumerate()
            .map(|(j, &z)| self.log_density(j, z))
            .sum::<f64>()
    }
}

/// `log(e^a + e^b)` without overflow.
fn log_add_exp(a: f64, b: f64) -> f64 {
    let (hi, lo) = if a > b { (a, b) } else { (b, a) };
    hi + (lo - hi).exp().ln_1p()
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
            mixed: Vec::new(),
        }
    }

    /// Whether `z` lies strictly inside the grid and the mixture is tabulated there.
    fn has_mixed(&self, z: f64) -> bool {
        z > self.lo && z < self.hi && self.mixed.len() == self.log_density.len()
    }

    /// The slope of the log density tabulated in `table` (the KDE's or the mixture's) at `z`;
    /// beyond the grid, the KDE's Gaussian tail.
    fn log_density_slope(&self, table: &[f64], z: f64) -> f64 {
        let last = table.len() - 1;
        let h2 = self.bandwidth * self.bandwidth;
        if z <= self.lo {
            return (self.lo - z) / h2;
        }
        if z >= self.hi {
            return -(z - self.hi) / h2;
        }
        let dx = (self.hi - self.lo) / last as f64;
        let k = (((z - self.lo) / dx) as usize).min(last - 1);
        (table[k + 1] - table[k]) / dx
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
        self.interpolate(&self.log_density, z)
    }

    /// The grid values `table` linearly interpolated at `z` (inside the grid).
    fn interpolate(&self, table: &[f64], z: f64) -> f64 {
        let last = table.len() - 1;
        let t = (z - self.lo) / (self.hi - self.lo) * last as f64;
        let k = (t as usize).min(last - 1);
        let f = t - k as f64;
        table[k] * (1.0 - f) + table[k + 1] * f
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

    /// With a background, a far value costs the broad Gaussian's energy,
    /// `-log(eps N(z; 0, s^2))`, where the KDE alone charges `d^2 / (2 h^2)` (the negative control:
    /// without it the far energy is hundreds of times larger); near the data the energy is the
    /// mixture's, `-log((1 - eps) p + eps N)`, up to the grid's interpolation; the slope matches
    /// central differences inside and beyond the grid.
    #[test]
    fn background_bounds_the_tails() {
        let mut rng = SeededRng::new(2);
        let n = 5_000;
        let values: Vec<f64> = rng.normal_vec(n).iter().map(|&v| f64::from(v)).collect();
        let kde = MarginalKde::fit(&values, n, 1, 1.0, 1024);
        let b = Background {
            weight: 0.01,
            scale: 5.0,
        };
        let mixed = kde.clone().with_background(b).unwrap();
        let far = 20.0;
        let want = -(0.01f64.ln()
            - 0.5 * (far / 5.0f64).powi(2)
            - (5.0 * (2.0 * std::f64::consts::PI).sqrt()).ln());
        assert!(
            (mixed.energy(&[far]) - want).abs() < 1e-6,
            "{}",
            mixed.energy(&[far])
        );
        assert!(kde.energy(&[far]) > 100.0 * want);
        // Inside the grid the mixture is tabulated: exact up to the interpolation's error.
        let (p, bg) = ((-kde.energy(&[0.3])).exp(), b.log_density(0.3).exp());
        let near = mixed.energy(&[0.3]) - kde.energy(&[0.3]);
        assert!((near + (0.99 + bg / p).ln()).abs() < 1e-5, "{near}");
        for z in [-6.0, -0.7, 0.2, 3.5, 9.0] {
            let h = 1e-4;
            let fd = (mixed.energy(&[z + h]) - mixed.energy(&[z - h])) / (2.0 * h);
            let slope = mixed.column_slope(0, z);
            assert!(
                (fd - slope).abs() < 1e-2 * (1.0 + fd.abs()),
                "z {z}: {fd} vs {slope}"
            );
        }
        // Without its table (a hand-edited file) a column scores by the formula: no panic, the
        // same energy up to the interpolation.
        let mut bare = mixed.clone();
        bare.columns[0].mixed.clear();
        assert!((bare.energy(&[0.3]) - mixed.energy(&[0.3])).abs() < 1e-5);
        assert!(
            kde.clone()
                .with_background(Background {
                    weight: 1.0,
                    scale: 5.0
                })
                .is_none()
        );
        assert!(
            kde.with_background(Background {
                weight: 0.01,
                scale: 0.0
            })
            .is_none()
        );
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
