//! One metrics schema for every trainer: a JSON line per parameter step.
//!
//! Each line is `{"step": s, "epoch": e, "seconds": t, ...}` followed by the trainer's own named
//! values (`loss`, `e_pos`, `accuracy`, ...), flattened into the same object. Lines are written
//! and flushed as they come; on resume the lines past the checkpoint's step are dropped first,
//! so no step is logged twice.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::durable::io;
use crate::error::TrainError;

/// One line of `metrics.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepRecord<M> {
    /// Parameter steps done, counting this one (1-based).
    pub step: usize,
    /// The epoch this step belongs to (1-based).
    pub epoch: usize,
    /// Wall-clock seconds of the step (batch, sampler, update).
    pub seconds: f64,
    /// The trainer's own values.
    #[serde(flatten)]
    pub values: M,
}

/// An append-only `metrics.jsonl`.
#[derive(Debug)]
pub struct MetricsLog {
    path: PathBuf,
    file: File,
}

impl MetricsLog {
    /// Opens (creating) the log; with `keep_through_step`, lines of later steps are dropped first.
    pub fn open(path: &Path, keep_through_step: Option<usize>) -> Result<Self, TrainError> {
        if let (Some(last), true) = (keep_through_step, path.exists()) {
            truncate_after(path, last)?;
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| io(path, e))?;
        Ok(Self {
            path: path.to_path_buf(),
            file,
        })
    }

    /// Appends one line and flushes it.
    pub fn write<M: Serialize>(&mut self, record: &StepRecord<M>) -> Result<(), TrainError> {
        let line = serde_json::to_string(record)
            .map_err(|e| TrainError::checkpoint(&self.path, format!("metrics: {e}")))?;
        writeln!(self.file, "{line}")
            .and_then(|_| self.file.flush())
            .map_err(|e| io(&self.path, e))
    }

    /// Reads every line of a log as generic JSON objects.
    pub fn read(path: &Path) -> Result<Vec<serde_json::Value>, TrainError> {
        let text = std::fs::read_to_string(path).map_err(|e| io(path, e))?;
        text.lines()
            .enumerate()
            .map(|(i, l)| {
                serde_json::from_str(l)
                    .map_err(|e| TrainError::checkpoint(path, format!("line {}: {e}", i + 1)))
            })
            .collect()
    }
}

/// Keeps the lines whose `step` is at most `last` (and drops a torn last line).
fn truncate_after(path: &Path, last: usize) -> Result<(), TrainError> {
    let reader = BufReader::new(File::open(path).map_err(|e| io(path, e))?);
    let mut body = String::new();
    for line in reader.lines().map_while(Result::ok) {
        let step = serde_json::from_str::<serde_json::Value>(&line)
            .ok()
            .and_then(|v| v.get("step")?.as_u64());
        if step.is_some_and(|s| s as usize <= last) {
            body.push_str(&line);
            body.push('\n');
        }
    }
    super::durable::write_atomic(path, body.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct Loss {
        loss: f64,
    }

    #[test]
    fn lines_past_the_checkpoint_are_dropped_on_resume() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("m.jsonl");
        let mut log = MetricsLog::open(&path, None).unwrap();
        for step in 1..=5 {
            let values = Loss { loss: step as f64 };
            log.write(&StepRecord {
                step,
                epoch: 1,
                seconds: 0.1,
                values,
            })
            .unwrap();
        }
        drop(log);
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"{\"step\": 6, \"los")
            .unwrap();
        MetricsLog::open(&path, Some(3)).unwrap();
        let lines = MetricsLog::read(&path).unwrap();
        let steps: Vec<u64> = lines.iter().map(|l| l["step"].as_u64().unwrap()).collect();
        assert_eq!(steps, vec![1, 2, 3]);
        assert_eq!(lines[2]["loss"], 3.0);
    }
}
