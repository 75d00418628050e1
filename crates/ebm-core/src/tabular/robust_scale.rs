//! Robust standardisation of table columns: `z_j = (x_j - median_j) / scale_j`.

use serde::{Deserialize, Serialize};

/// Per-column centre and scale, fitted on training rows: the centre is the median and the
/// scale `IQR / 1.349` (the standard deviation of a normal column, unmoved by outliers), or the
/// standard deviation where the IQR is zero (a column mostly at one value), or 1 for a constant
/// column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RobustScaler {
    /// The median of each column.
    pub center: Vec<f64>,
    /// The scale of each column (positive).
    pub scale: Vec<f64>,
}

impl RobustScaler {
    /// Fits the scaler on `rows` rows of `cols` values (row-major).
    pub fn fit(values: &[f64], rows: usize, cols: usize) -> Self {
        let (center, scale) = (0..cols)
            .map(|j| {
                let mut col: Vec<f64> = (0..rows).map(|i| values[i * cols + j]).collect();
                col.sort_by(f64::total_cmp);
                let (sd, iqr) = spreads(&col);
                let scale = if iqr > 0.0 {
                    iqr
                } else if sd > 0.0 {
                    sd
                } else {
                    1.0
                };
                (quantile(&col, 0.5), scale)
            })
            .unzip();
        Self { center, scale }
    }

    /// The number of columns.
    pub fn cols(&self) -> usize {
        self.center.len()
    }

    /// The standardised rows (row-major, same layout as `values`).
    pub fn transform(&self, values: &[f64]) -> Vec<f64> {
        let cols = self.cols();
        values
            .iter()
            .enumerate()
            .map(|(i, v)| (v - self.center[i % cols]) / self.scale[i % cols])
            .collect()
    }
}

/// The `q`-quantile of sorted values by linear interpolation between order statistics (NumPy's
/// default, `(n - 1) q`).
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let pos = q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let (lo, frac) = (pos.floor() as usize, pos.fract());
    let hi = (lo + 1).min(sorted.len() - 1);
    sorted[lo] + frac * (sorted[hi] - sorted[lo])
}

/// The two spreads of sorted values: the standard deviation (population) and `IQR / 1.349`
/// (the standard deviation of a normal sample, unmoved by outliers).
pub(crate) fn spreads(sorted: &[f64]) -> (f64, f64) {
    let n = sorted.len() as f64;
    let mean = sorted.iter().sum::<f64>() / n;
    let sd = (sorted.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt();
    let iqr = (quantile(sorted, 0.75) - quantile(sorted, 0.25)) / 1.349;
    (sd, iqr)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_iqr_match_numpy() {
        // numpy: median([1, 2, 3, 4, 100]) = 3, percentile 75 - 25 = 4 - 2 = 2.
        let s = RobustScaler::fit(&[1.0, 2.0, 3.0, 4.0, 100.0], 5, 1);
        assert_eq!(s.center, vec![3.0]);
        assert!((s.scale[0] - 2.0 / 1.349).abs() < 1e-12);
        assert_eq!(s.transform(&[3.0]), vec![0.0]);
    }

    #[test]
    fn degenerate_columns_get_a_positive_scale() {
        // Column 0 constant (scale 1); column 1 mostly 0 with one 10 (IQR 0, sd 4).
        let v = [5.0, 0.0, 5.0, 0.0, 5.0, 0.0, 5.0, 0.0, 5.0, 10.0];
        let s = RobustScaler::fit(&v, 5, 2);
        assert_eq!(s.scale[0], 1.0);
        assert!((s.scale[1] - 4.0).abs() < 1e-12);
    }
}
