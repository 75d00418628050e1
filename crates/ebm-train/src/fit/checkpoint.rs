//! A directory of checkpoints, written atomically and durably, with a `latest` pointer.
//!
//! ```text
//! checkpoints/
//!   step-00000120/    one complete checkpoint: fit.json (the loop's state) + the trainer's files
//!   step-00000150/
//!   latest            the name of the newest complete checkpoint
//! ```
//!
//! [`CheckpointStore::save`] goes through these stages, each made durable before the next:
//! write everything into a temporary directory, `fsync` its files and the directory, rename it to
//! `step-XXXXXXXX`, `fsync` the parent, write the pointer to a temporary file and `fsync` it,
//! rename it over `latest`, `fsync` the parent. An interruption at any point leaves the previous
//! checkpoint and pointer loadable; [`SaveStage`] names the points between stages, where tests
//! inject failures.

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::durable::{io, sync_dir, sync_tree, write_synced};
use crate::error::TrainError;

/// The file in each checkpoint that holds the loop's own state.
pub const STATE_FILE: &str = "fit.json";
const LATEST: &str = "latest";

/// The points between the stages of [`CheckpointStore::save`] (see the module docs), for
/// injecting a failure in durability tests with [`CheckpointStore::fail_after`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaveStage {
    /// The temporary directory holds every file.
    Written,
    /// Its files and the directory are synced.
    Synced,
    /// It was renamed to its final name.
    Renamed,
    /// The new pointer is written to a temporary file.
    PointerWritten,
    /// The pointer was swapped; old checkpoints are not pruned yet.
    PointerSwapped,
}

impl SaveStage {
    /// Every stage, in order.
    pub const ALL: [SaveStage; 5] = [
        SaveStage::Written,
        SaveStage::Synced,
        SaveStage::Renamed,
        SaveStage::PointerWritten,
        SaveStage::PointerSwapped,
    ];
}

/// A directory of checkpoints (see the module docs).
#[derive(Debug, Clone)]
pub struct CheckpointStore {
    dir: PathBuf,
    keep: usize,
    fail_after: Option<SaveStage>,
    abort_after: Option<SaveStage>,
}

impl CheckpointStore {
    /// The store in `dir`, keeping the two newest checkpoints.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            keep: 2,
            fail_after: None,
            abort_after: None,
        }
    }

    /// Keeps the `keep` (at least 1) newest checkpoints.
    pub fn with_keep(mut self, keep: usize) -> Self {
        self.keep = keep.max(1);
        self
    }

    /// Makes [`CheckpointStore::save`] fail right after `stage`, as a crash there would (for
    /// durability tests).
    pub fn fail_after(mut self, stage: SaveStage) -> Self {
        self.fail_after = Some(stage);
        self
    }

    /// Makes [`CheckpointStore::save`] abort the process right after `stage` (for crash tests
    /// of whole programs; see [`Fault`](super::fault::Fault)).
    pub fn abort_after(mut self, stage: SaveStage) -> Self {
        self.abort_after = Some(stage);
        self
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The newest complete checkpoint: the one `latest` names, or, if the pointer is missing or
    /// names nothing complete, the newest `step-*` directory that holds a state file.
    pub fn latest(&self) -> Option<PathBuf> {
        let named = std::fs::read_to_string(self.dir.join(LATEST))
            .ok()
            .map(|name| self.dir.join(name.trim()))
            .filter(|p| p.join(STATE_FILE).is_file());
        named.or_else(|| self.complete().pop())
    }

    /// Whether any complete checkpoint exists.
    pub fn exists(&self) -> bool {
        self.latest().is_some()
    }

    /// Writes a checkpoint of `step`: the loop's `state` as [`STATE_FILE`] and whatever `write`
    /// puts into the (empty) directory it is given. Returns the checkpoint's path.
    ///
    /// Saving a step that already has a checkpoint writes a new one beside it
    /// (`step-XXXXXXXX-rNNNN`) and moves the pointer, so the checkpoint `latest` names is never
    /// overwritten in place.
    pub fn save<S: Serialize>(
        &self,
        step: usize,
        state: &S,
        write: impl FnOnce(&Path) -> Result<(), TrainError>,
    ) -> Result<PathBuf, TrainError> {
        std::fs::create_dir_all(&self.dir).map_err(|e| io(&self.dir, e))?;
        let base = format!("step-{step:08}");
        let name = (0..)
            .map(|k| {
                if k == 0 {
                    base.clone()
                } else {
                    format!("{base}-r{k:04}")
                }
            })
            .find(|n| !self.dir.join(n).join(STATE_FILE).exists())
            .unwrap_or(base);
        let target = self.dir.join(&name);
        self.write_new(&target, state, write)?;
        self.swap_pointer(&name)?;
        self.prune(&target);
        Ok(target)
    }

    /// Loads the newest checkpoint: `read` gets its directory; the loop's state is returned.
    /// `Ok(None)` when there is none.
    pub fn load<S: DeserializeOwned>(
        &self,
        read: impl FnOnce(&Path) -> Result<(), TrainError>,
    ) -> Result<Option<(PathBuf, S)>, TrainError> {
        let Some(dir) = self.latest() else {
            return Ok(None);
        };
        let path = dir.join(STATE_FILE);
        let text = std::fs::read_to_string(&path).map_err(|e| io(&path, e))?;
        let state = serde_json::from_str(&text).map_err(|e| {
            TrainError::checkpoint(&path, format!("not a valid checkpoint state: {e}"))
        })?;
        read(&dir)?;
        Ok(Some((dir, state)))
    }

    fn write_new<S: Serialize>(
        &self,
        target: &Path,
        state: &S,
        write: impl FnOnce(&Path) -> Result<(), TrainError>,
    ) -> Result<(), TrainError> {
        let tmp = self.dir.join(format!(".tmp-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        std::fs::create_dir_all(&tmp).map_err(|e| io(&tmp, e))?;
        write(&tmp)?;
        let json = serde_json::to_vec_pretty(state)
            .map_err(|e| TrainError::checkpoint(&tmp, format!("state does not serialise: {e}")))?;
        write_synced(&tmp.join(STATE_FILE), &json)?;
        self.stage(SaveStage::Written)?;
        sync_tree(&tmp)?;
        self.stage(SaveStage::Synced)?;
        // A directory left by an earlier, interrupted save of this step has no state file;
        // it is not a checkpoint and may go.
        let _ = std::fs::remove_dir_all(target);
        std::fs::rename(&tmp, target).map_err(|e| io(target, e))?;
        sync_dir(&self.dir)?;
        self.stage(SaveStage::Renamed)
    }

    fn swap_pointer(&self, name: &str) -> Result<(), TrainError> {
        let tmp = self.dir.join(".latest.tmp");
        write_synced(&tmp, name.as_bytes())?;
        self.stage(SaveStage::PointerWritten)?;
        let pointer = self.dir.join(LATEST);
        std::fs::rename(&tmp, &pointer).map_err(|e| io(&pointer, e))?;
        sync_dir(&self.dir)?;
        self.stage(SaveStage::PointerSwapped)
    }

    fn stage(&self, done: SaveStage) -> Result<(), TrainError> {
        if self.abort_after == Some(done) {
            std::process::abort();
        }
        match self.fail_after {
            Some(s) if s == done => Err(TrainError::checkpoint(
                &self.dir,
                format!("injected failure after stage {done:?}"),
            )),
            _ => Ok(()),
        }
    }

    /// Complete checkpoints, oldest first.
    fn complete(&self) -> Vec<PathBuf> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut dirs: Vec<PathBuf> = entries
            .filter_map(|e| Some(e.ok()?.path()))
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("step-"))
                    && p.join(STATE_FILE).is_file()
            })
            .collect();
        dirs.sort();
        dirs
    }

    /// Removes all but the newest `keep` checkpoints, never `current`.
    fn prune(&self, current: &Path) {
        let all = self.complete();
        let excess = all.len().saturating_sub(self.keep);
        for dir in all.iter().take(excess).filter(|d| d.as_path() != current) {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn save_step(store: &CheckpointStore, step: usize) -> Result<PathBuf, TrainError> {
        store.save(step, &step, |dir| {
            write_synced(&dir.join("w.txt"), b"weights")
        })
    }

    fn loaded_step(store: &CheckpointStore) -> usize {
        let (_, step): (PathBuf, usize) = store.load(|_| Ok(())).unwrap().unwrap();
        step
    }

    #[test]
    fn saves_loads_and_keeps_the_newest() {
        let tmp = tempfile::tempdir().unwrap();
        let store = CheckpointStore::new(tmp.path().join("ck"));
        assert!(store.load::<usize>(|_| Ok(())).unwrap().is_none());
        for step in [1, 2, 3] {
            save_step(&store, step).unwrap();
        }
        assert_eq!(loaded_step(&store), 3);
        assert_eq!(store.complete().len(), 2);
        // Re-saving the step `latest` names writes a new checkpoint beside it.
        let again = save_step(&store, 3).unwrap();
        assert!(
            again.ends_with("step-00000003-r0001"),
            "{}",
            again.display()
        );
        assert_eq!(store.latest().unwrap(), again);
        assert_eq!(loaded_step(&store), 3);
    }

    #[test]
    fn a_failure_between_any_two_stages_leaves_a_loadable_checkpoint() {
        for stage in SaveStage::ALL {
            let tmp = tempfile::tempdir().unwrap();
            let dir = tmp.path().join("ck");
            save_step(&CheckpointStore::new(&dir), 1).unwrap();
            let failing = CheckpointStore::new(&dir).fail_after(stage);
            assert!(save_step(&failing, 2).is_err(), "{stage:?}");
            let step = loaded_step(&CheckpointStore::new(&dir));
            // The pointer names the old checkpoint until it is swapped.
            let expected = if stage == SaveStage::PointerSwapped {
                2
            } else {
                1
            };
            assert_eq!(step, expected, "{stage:?}");
            // The next save succeeds and is the newest.
            save_step(&CheckpointStore::new(&dir), 3).unwrap();
            assert_eq!(loaded_step(&CheckpointStore::new(&dir)), 3, "{stage:?}");
        }
    }

    #[test]
    fn a_corrupt_state_file_is_an_error_naming_it() {
        let tmp = tempfile::tempdir().unwrap();
        let store = CheckpointStore::new(tmp.path());
        let dir = save_step(&store, 4).unwrap();
        std::fs::write(dir.join(STATE_FILE), b"{not json").unwrap();
        let err = store.load::<usize>(|_| Ok(())).unwrap_err().to_string();
        assert!(err.contains(STATE_FILE), "{err}");
    }
}
