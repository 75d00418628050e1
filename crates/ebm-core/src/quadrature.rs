//! Exact normalisation in one and two dimensions by quadrature over a box.
//!
//! On a regular grid with spacing `h_j` per axis the trapezoid rule gives
//!
//! ```text
//! Z ≈ sum_i w_i exp(-E(x_i)),   w_i = prod_j h_j c_ij,   c_ij = 1/2 on the box's edge, else 1
//! ```
//!
//! computed as `log Z = logsumexp_i(-E(x_i) + log w_i)` in `f64`. For a smooth density whose mass
//! lies inside the box the rule converges faster than any power of `h`, so a few hundred points
//! per axis give `log Z` to ~1e-6; [`Normalisation::edge_mass`] tells whether the box was large
//! enough. With `log Z` the density on the grid and the exact negative log-likelihood of any
//! points follow.

use burn::tensor::{Device, Tensor, TensorData};

use crate::analytic::special::log_sum_exp;
use crate::energy::Energy;
use crate::error::EnergyError;

/// A box `[lo_j, hi_j]` in one or two dimensions with `points` grid points per axis (ends included).
#[derive(Debug, Clone, PartialEq)]
pub struct Grid {
    lo: Vec<f64>,
    hi: Vec<f64>,
    points: usize,
}

impl Grid {
    /// A box in `lo.len()` (1 or 2) dimensions with `points >= 3` points per axis.
    pub fn new(lo: &[f64], hi: &[f64], points: usize) -> Result<Self, EnergyError> {
        let fail = |m: String| Err(EnergyError::Quadrature(m));
        if lo.is_empty() || lo.len() > 2 || lo.len() != hi.len() {
            return fail(format!(
                "the box must be 1-D or 2-D with as many lower as upper bounds, got {} and {}",
                lo.len(),
                hi.len()
            ));
        }
        if let Some(j) =
            (0..lo.len()).find(|&j| !(lo[j].is_finite() && hi[j].is_finite() && lo[j] < hi[j]))
        {
            return fail(format!(
                "axis {j}: need finite bounds with lo < hi, got [{}, {}]",
                lo[j], hi[j]
            ));
        }
        if points < 3 {
            return fail(format!("need at least 3 points per axis, got {points}"));
        }
        Ok(Self {
            lo: lo.to_vec(),
            hi: hi.to_vec(),
            points,
        })
    }

    /// The square `[-half_width, half_width]^2` with `points` points per axis.
    pub fn square(half_width: f64, points: usize) -> Result<Self, EnergyError> {
        Self::new(&[-half_width; 2], &[half_width; 2], points)
    }

    /// The dimension (1 or 2).
    pub fn dim(&self) -> usize {
        self.lo.len()
    }

    /// Points per axis.
    pub fn points_per_axis(&self) -> usize {
        self.points
    }

    /// The grid coordinates along axis `j`.
    pub fn axis(&self, j: usize) -> Vec<f64> {
        let h = self.spacing(j);
        (0..self.points)
            .map(|i| self.lo[j] + i as f64 * h)
            .collect()
    }

    fn spacing(&self, j: usize) -> f64 {
        (self.hi[j] - self.lo[j]) / (self.points - 1) as f64
    }

    /// Number of grid points in all.
    pub fn len(&self) -> usize {
        self.points.pow(self.dim() as u32)
    }

    /// Never true: a grid has at least 3 points.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// All grid points, row-major: in 2-D point `i * n + k` is `(x_k, y_i)` (rows are `y`).
    pub fn coords(&self) -> Vec<[f64; 2]> {
        let xs = self.axis(0);
        if self.dim() == 1 {
            return xs.into_iter().map(|x| [x, 0.0]).collect();
        }
        let ys = self.axis(1);
        ys.iter()
            .flat_map(|&y| xs.iter().map(move |&x| [x, y]))
            .collect()
    }

    /// `log w_i` of the trapezoid rule at grid point `i`.
    fn log_weight(&self, i: usize) -> f64 {
        let n = self.points;
        let edge = |k: usize| {
            if k == 0 || k == n - 1 {
                0.5f64.ln()
            } else {
                0.0
            }
        };
        let mut lw = self.spacing(0).ln() + edge(i % n);
        if self.dim() == 2 {
            lw += self.spacing(1).ln() + edge(i / n);
        }
        lw
    }

    /// Whether grid point `i` lies on the box's boundary.
    fn on_edge(&self, i: usize) -> bool {
        let n = self.points;
        let e = |k: usize| k == 0 || k == n - 1;
        e(i % n) || (self.dim() == 2 && e(i / n))
    }
}

/// The result of normalising an energy on a grid.
#[derive(Debug, Clone)]
pub struct Normalisation {
    /// `log Z` over the box.
    pub log_z: f64,
    /// The grid it was computed on.
    pub grid: Grid,
    /// `E(x_i)` at every grid point, in [`Grid::coords`] order.
    pub energies: Vec<f64>,
}

impl Normalisation {
    /// The normalised density `p(x_i) = exp(-E(x_i) - log Z)` at every grid point.
    pub fn density(&self) -> Vec<f64> {
        self.energies
            .iter()
            .map(|e| (-e - self.log_z).exp())
            .collect()
    }

    /// The probability mass on the box's boundary cells (each `h/2` wide in the trapezoid rule):
    /// near zero when the box holds the density; a value above ~1e-6 says the box cuts off mass.
    pub fn edge_mass(&self) -> f64 {
        let terms: Vec<f64> = (0..self.grid.len())
            .filter(|&i| self.grid.on_edge(i))
            .map(|i| -self.energies[i] + self.grid.log_weight(i))
            .collect();
        (log_sum_exp(&terms) - self.log_z).exp()
    }

    /// `log p(x) = -E(x) - log Z` of each row of `points` (`[N, d]`), exactly.
    pub fn log_prob<E: Energy<2> + ?Sized>(
        &self,
        energy: &E,
        points: Tensor<2>,
    ) -> Result<Vec<f64>, EnergyError> {
        let e = energy.try_energy(points.inner())?;
        Ok(to_f64(e).into_iter().map(|e| -e - self.log_z).collect())
    }

    /// The exact mean negative log-likelihood `mean_i E(x_i) + log Z` of `points` (`[N, d]`).
    pub fn nll<E: Energy<2> + ?Sized>(
        &self,
        energy: &E,
        points: Tensor<2>,
    ) -> Result<f64, EnergyError> {
        let lp = self.log_prob(energy, points)?;
        if lp.is_empty() {
            return Err(EnergyError::Quadrature(
                "the NLL of no points is undefined".into(),
            ));
        }
        Ok(-lp.iter().sum::<f64>() / lp.len() as f64)
    }
}

/// Points evaluated per batch (bounds memory on large grids).
const CHUNK: usize = 65_536;

/// Normalises `energy` (on `[N, d]` inputs, `d` = the grid's dimension) over `grid` on `device`.
///
/// Fails if the energy rejects the input shape or is NaN anywhere on the grid (`+inf` is zero
/// density and allowed), or if it is `+inf` everywhere.
pub fn normalise<E: Energy<2> + ?Sized>(
    energy: &E,
    grid: &Grid,
    device: &Device,
) -> Result<Normalisation, EnergyError> {
    let d = grid.dim();
    let coords = grid.coords();
    let mut energies = Vec::with_capacity(coords.len());
    for chunk in coords.chunks(CHUNK) {
        let flat: Vec<f32> = chunk
            .iter()
            .flat_map(|p| p[..d].iter().map(|&v| v as f32))
            .collect();
        let x = Tensor::<2>::from_data(TensorData::new(flat, [chunk.len(), d]), device);
        energies.extend(to_f64(energy.try_energy(x)?));
    }
    if let Some(i) = energies.iter().position(|e| e.is_nan()) {
        return Err(EnergyError::NonFinite {
            what: format!(
                "{} on the quadrature grid at {:?}",
                energy.name(),
                &coords[i][..d]
            ),
            index: i,
            value: f64::NAN,
        });
    }
    let terms: Vec<f64> = energies
        .iter()
        .enumerate()
        .map(|(i, e)| -e + grid.log_weight(i))
        .collect();
    let log_z = log_sum_exp(&terms);
    if !log_z.is_finite() {
        return Err(EnergyError::Quadrature(format!(
            "{}: log Z over the box is {log_z}; the density vanishes or overflows on the whole grid",
            energy.name()
        )));
    }
    Ok(Normalisation {
        log_z,
        grid: grid.clone(),
        energies,
    })
}

fn to_f64(t: Tensor<1>) -> Vec<f64> {
    t.into_data()
        .try_to_vec::<f32>()
        .map(|v| v.into_iter().map(f64::from).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_boxes_are_rejected_with_a_reason() {
        assert!(
            Grid::new(&[0.0], &[0.0], 10)
                .unwrap_err()
                .to_string()
                .contains("lo < hi")
        );
        assert!(Grid::new(&[0.0; 3], &[1.0; 3], 10).is_err());
        assert!(Grid::new(&[0.0], &[1.0], 2).is_err());
        assert!(Grid::new(&[f64::NAN], &[1.0], 5).is_err());
    }

    #[test]
    fn coords_and_weights_cover_the_box() {
        let g = Grid::new(&[-1.0, 0.0], &[1.0, 2.0], 5).unwrap();
        let c = g.coords();
        assert_eq!(c.len(), 25);
        assert_eq!(c[0], [-1.0, 0.0]);
        assert_eq!(c[4], [1.0, 0.0]);
        assert_eq!(c[24], [1.0, 2.0]);
        // The trapezoid weights sum to the box's area.
        let area: f64 = (0..25).map(|i| g.log_weight(i).exp()).sum();
        assert!((area - 4.0).abs() < 1e-12);
    }
}
