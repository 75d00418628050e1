//! What `ebm anomaly bench` records per set and seed, and its markdown table.

use anyhow::Result;
use ebm_data::Table;
use serde::Serialize;

/// One seed of one set.
#[derive(Debug, Clone, Serialize)]
pub struct SeedResult {
    /// The seed of the split and the fit.
    pub seed: u64,
    /// AUROC on the test part.
    pub auroc: f64,
    /// AUPRC (average precision) on the test part.
    pub auprc: f64,
    /// Seconds to fit on the training part.
    pub fit_seconds: f64,
    /// Seconds to score the test part.
    pub score_seconds: f64,
}

/// One set: its size and every seed's figures.
#[derive(Debug, Clone, Serialize)]
pub struct SetResult {
    /// The set's file name without `.npz`.
    pub name: String,
    /// Rows.
    pub rows: usize,
    /// Columns.
    pub cols: usize,
    /// The fraction of anomalies.
    pub anomaly_rate: f64,
    /// Every seed.
    pub seeds: Vec<SeedResult>,
}

impl SetResult {
    /// A set with no seed run yet; its table must have labels.
    pub fn new(name: &str, table: &Table) -> Result<Self> {
        let labels = table.require_labels()?;
        let anomalies = labels.iter().filter(|&&l| l == 1).count();
        Ok(Self {
            name: name.to_string(),
            rows: table.rows,
            cols: table.cols,
            anomaly_rate: anomalies as f64 / table.rows as f64,
            seeds: Vec::new(),
        })
    }

    fn stat(&self, f: impl Fn(&SeedResult) -> f64) -> (f64, f64) {
        mean_sd(&self.seeds.iter().map(f).collect::<Vec<_>>())
    }
}

/// One split as the peers need it (`splits.json`): the row indices of each part and the
/// standardisation fitted on the training part.
#[derive(Debug, Clone, Serialize)]
pub struct SplitRecord {
    /// The set's name.
    pub set: String,
    /// The seed.
    pub seed: u64,
    /// Training rows (0-based, sorted).
    pub train: Vec<usize>,
    /// Test rows (0-based, sorted).
    pub test: Vec<usize>,
    /// Per-column centre (median of the training part).
    pub center: Vec<f64>,
    /// Per-column scale.
    pub scale: Vec<f64>,
}

impl SplitRecord {
    /// The record with its set's name.
    pub fn named(mut self, set: &str) -> Self {
        self.set = set.to_string();
        self
    }
}

/// Mean and sample standard deviation (0 for one value).
pub fn mean_sd(values: &[f64]) -> (f64, f64) {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
    (mean, var.sqrt())
}

/// The markdown table of the results: AUROC and AUPRC mean ± sd per set, seconds, and the mean
/// over sets.
pub fn markdown(results: &[SetResult]) -> String {
    let mut s = String::from(
        "| set | rows | cols | anomalies | AUROC | AUPRC | fit s | score s |\n|---|---:|---:|---:|---|---|---:|---:|\n",
    );
    for r in results {
        let (a, a_sd) = r.stat(|x| x.auroc);
        let (p, p_sd) = r.stat(|x| x.auprc);
        let (f, _) = r.stat(|x| x.fit_seconds);
        let (sc, _) = r.stat(|x| x.score_seconds);
        s += &format!(
            "| {} | {} | {} | {:.1}% | {a:.3} ± {a_sd:.3} | {p:.3} ± {p_sd:.3} | {f:.1} | {sc:.3} |\n",
            r.name,
            r.rows,
            r.cols,
            100.0 * r.anomaly_rate
        );
    }
    let (a, _) = mean_sd(
        &results
            .iter()
            .map(|r| r.stat(|x| x.auroc).0)
            .collect::<Vec<_>>(),
    );
    let (p, _) = mean_sd(
        &results
            .iter()
            .map(|r| r.stat(|x| x.auprc).0)
            .collect::<Vec<_>>(),
    );
    s += &format!("| **mean** | | | | **{a:.3}** | **{p:.3}** | | |\n");
    s
}
