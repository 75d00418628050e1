//! The schedule of inverse temperatures `0 = beta_0 < ... < beta_K = 1`.

use serde::{Deserialize, Serialize};

use crate::error::McmcError;

/// The inverse temperatures `0 = beta_0 < beta_1 < ... < beta_K = 1`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Temperatures {
    betas: Vec<f64>,
}

impl Temperatures {
    /// A schedule from its values: must start at 0, end at 1 and increase strictly, `K >= 1`.
    pub fn new(betas: Vec<f64>) -> Result<Self, McmcError> {
        let bad = |reason: String| Err(McmcError::invalid("ais", "temperatures", reason));
        if betas.len() < 2 {
            return bad(format!(
                "need at least 2 values (0 and 1), got {}",
                betas.len()
            ));
        }
        if betas[0] != 0.0 || betas[betas.len() - 1] != 1.0 {
            return bad(format!(
                "must run from 0 to 1, got {} to {}",
                betas[0],
                betas[betas.len() - 1]
            ));
        }
        if let Some(i) = (1..betas.len()).find(|&i| betas[i].is_nan() || betas[i] <= betas[i - 1]) {
            return bad(format!(
                "must increase strictly: beta_{} = {} after beta_{} = {}",
                i,
                betas[i],
                i - 1,
                betas[i - 1]
            ));
        }
        Ok(Self { betas })
    }

    /// `K` equal steps: `beta_k = k / K`.
    pub fn linear(k: usize) -> Result<Self, McmcError> {
        if k == 0 {
            return Err(McmcError::invalid("ais", "temperatures", "K must be >= 1"));
        }
        let mut b: Vec<f64> = (0..=k).map(|i| i as f64 / k as f64).collect();
        b[k] = 1.0;
        Self::new(b)
    }

    /// The sigmoidal schedule of Grosse et al. (2015): `beta~_k = sigmoid(delta (2k/K - 1))`,
    /// rescaled to run from 0 to 1; dense at both ends (`delta = 4` is their default).
    pub fn sigmoid(k: usize, delta: f64) -> Result<Self, McmcError> {
        if k == 0 || !(delta.is_finite() && delta > 0.0) {
            return Err(McmcError::invalid(
                "ais",
                "temperatures",
                format!("need K >= 1 and delta > 0, got K = {k}, delta = {delta}"),
            ));
        }
        let s = |i: usize| 1.0 / (1.0 + (-delta * (2.0 * i as f64 / k as f64 - 1.0)).exp());
        let (lo, hi) = (s(0), s(k));
        let mut b: Vec<f64> = (0..=k).map(|i| (s(i) - lo) / (hi - lo)).collect();
        b[0] = 0.0;
        b[k] = 1.0;
        Self::new(b)
    }

    /// Piecewise linear: `segments` of `(end, steps)` from 0, e.g. Salakhutdinov and Murray's
    /// `[(0.5, 500), (0.9, 4000), (1.0, 10000)]` (14,500 steps).
    pub fn piecewise(segments: &[(f64, usize)]) -> Result<Self, McmcError> {
        let mut b = vec![0.0];
        let mut start = 0.0;
        for &(end, steps) in segments {
            if steps == 0 || end.is_nan() || end <= start {
                return Err(McmcError::invalid(
                    "ais",
                    "temperatures",
                    format!("segment ending at {end} after {start} with {steps} steps"),
                ));
            }
            for i in 1..=steps {
                b.push(start + (end - start) * i as f64 / steps as f64);
            }
            start = end;
        }
        if let Some(last) = b.last_mut()
            && (*last - 1.0).abs() < 1e-12
        {
            *last = 1.0;
        }
        Self::new(b)
    }

    /// Salakhutdinov and Murray's schedule scaled to about `k` steps: steps of `1/1000` up to 0.5,
    /// `1/10000` up to 0.9, `1/100000` up to 1 make 14,500; each segment keeps its share of `k`.
    pub fn salakhutdinov_murray(k: usize) -> Result<Self, McmcError> {
        let share = |n: f64| ((n * k as f64 / 14_500.0).round() as usize).max(1);
        Self::piecewise(&[
            (0.5, share(500.0)),
            (0.9, share(4000.0)),
            (1.0, share(10_000.0)),
        ])
    }

    /// The number of steps `K` (one less than the number of values).
    pub fn steps(&self) -> usize {
        self.betas.len() - 1
    }

    /// The values `beta_0..=beta_K`.
    pub fn betas(&self) -> &[f64] {
        &self.betas
    }
}
