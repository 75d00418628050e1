//! One run folder for every command that trains.
//!
//! ```text
//! runs/<name>/
//!   config.json       every setting of the run; read back by `--resume` and `--config`
//!   metrics.jsonl     one line per parameter step (see [`StepRecord`](super::StepRecord))
//!   checkpoints/      step-XXXXXXXX/ and `latest` (see [`CheckpointStore`])
//!   best/             the checkpoint that scored best on the validation split, if any
//!   samples/          pictures written after each epoch
//!   ...               what the command writes at the end (samples.npy, summary.json, ...)
//! ```

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::checkpoint::CheckpointStore;
use super::durable::write_atomic;
use crate::error::TrainError;

/// The folder of one run (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunDir {
    root: PathBuf,
}

impl RunDir {
    /// The run folder at `root` (nothing is created yet).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The run named `name` under `runs/`, or the folder `run` itself when it exists or is a
    /// path with more than one component.
    pub fn resolve(run: &Path) -> Self {
        if run.is_dir() || run.components().count() > 1 {
            Self::new(run)
        } else {
            Self::new(Path::new("runs").join(run))
        }
    }

    /// The folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// A file directly in the folder.
    pub fn file(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    /// `config.json`.
    pub fn config_path(&self) -> PathBuf {
        self.file("config.json")
    }

    /// `metrics.jsonl`.
    pub fn metrics_path(&self) -> PathBuf {
        self.file("metrics.jsonl")
    }

    /// A file under `samples/`.
    pub fn sample_file(&self, name: &str) -> PathBuf {
        self.root.join("samples").join(name)
    }

    /// The training checkpoints.
    pub fn checkpoints(&self) -> CheckpointStore {
        CheckpointStore::new(self.root.join("checkpoints"))
    }

    /// The best checkpoint on the validation split (one kept).
    pub fn best(&self) -> CheckpointStore {
        CheckpointStore::new(self.root.join("best")).with_keep(1)
    }

    /// Writes `config.json` atomically and durably.
    pub fn write_config<C: Serialize>(&self, config: &C) -> Result<(), TrainError> {
        let path = self.config_path();
        let json = serde_json::to_vec_pretty(config)
            .map_err(|e| TrainError::config("config", format!("does not serialise: {e}")))?;
        write_atomic(&path, &json)
    }

    /// Reads `config.json`; the error says whether the run is missing or the file is not a
    /// config of this kind.
    pub fn read_config<C: DeserializeOwned>(&self) -> Result<C, TrainError> {
        if !self.root.is_dir() {
            return Err(TrainError::RunDir {
                path: self.root.clone(),
                reason: "no such run folder".into(),
            });
        }
        read_config_file(&self.config_path())
    }
}

/// Reads a run configuration from a JSON file (`--config FILE`, or a run's `config.json`).
pub fn read_config_file<C: DeserializeOwned>(path: &Path) -> Result<C, TrainError> {
    let text = std::fs::read_to_string(path).map_err(|source| TrainError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|e| TrainError::RunDir {
        path: path.to_path_buf(),
        reason: format!("not a valid configuration for this command: {e}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_round_trips_and_errors_name_the_file() {
        let tmp = tempfile::tempdir().unwrap();
        let run = RunDir::new(tmp.path().join("r"));
        assert!(run.read_config::<Vec<u32>>().is_err());
        run.write_config(&vec![1u32, 2]).unwrap();
        assert_eq!(run.read_config::<Vec<u32>>().unwrap(), vec![1, 2]);
        let err = run.read_config::<String>().unwrap_err().to_string();
        assert!(err.contains("config.json"), "{err}");
        assert_eq!(RunDir::resolve(Path::new("x")).root(), Path::new("runs/x"));
    }
}
