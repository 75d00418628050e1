//! Metrics of a run as JSON lines.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::TrainError;

/// What one parameter step measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepMetrics {
    /// The step (1-based count of parameter updates done).
    pub step: usize,
    /// The loss.
    pub loss: f64,
    /// Mean energy of the data batch.
    pub e_pos: f64,
    /// Mean energy of the negatives.
    pub e_neg: f64,
    /// Mean acceptance probability of the sampler (absent for unadjusted kernels).
    pub acceptance: Option<f64>,
    /// L2 norm of the parameter gradient (before clipping).
    pub grad_norm: f64,
    /// The learning rate used.
    pub lr: f64,
    /// Wall-clock seconds of the step.
    pub seconds: f64,
}

/// An append-only `metrics.jsonl`.
#[derive(Debug)]
pub struct MetricsLog {
    path: PathBuf,
    file: File,
}

impl MetricsLog {
    /// Opens (creating) the log; on resume, lines past `keep_through_step` are dropped first, so
    /// that steps redone after the last checkpoint are not logged twice.
    pub fn open(path: &Path, keep_through_step: Option<usize>) -> Result<Self, TrainError> {
        let io = |source| TrainError::Io {
            path: path.to_path_buf(),
            source,
        };
        if let (Some(last), true) = (keep_through_step, path.exists()) {
            let kept: Vec<String> = BufReader::new(File::open(path).map_err(io)?)
                .lines()
                .map_while(Result::ok)
                .filter(|l| serde_json::from_str::<StepMetrics>(l).is_ok_and(|m| m.step <= last))
                .collect();
            let mut body = kept.join("\n");
            if !body.is_empty() {
                body.push('\n');
            }
            std::fs::write(path, body).map_err(io)?;
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(io)?;
        Ok(Self {
            path: path.to_path_buf(),
            file,
        })
    }

    /// Appends one line.
    pub fn write(&mut self, m: &StepMetrics) -> Result<(), TrainError> {
        let line = serde_json::to_string(m).expect("metrics serialise");
        writeln!(self.file, "{line}").map_err(|source| TrainError::Io {
            path: self.path.clone(),
            source,
        })
    }

    /// Reads every line of a log.
    pub fn read(path: &Path) -> Result<Vec<StepMetrics>, TrainError> {
        let text = std::fs::read_to_string(path).map_err(|source| TrainError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        text.lines()
            .enumerate()
            .map(|(i, l)| {
                serde_json::from_str(l)
                    .map_err(|e| TrainError::checkpoint(path, format!("line {}: {e}", i + 1)))
            })
            .collect()
    }
}
