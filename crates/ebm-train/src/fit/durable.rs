//! Durable file-system steps: write-then-rename with `fsync` of files and directories.
//!
//! A file written by [`write_atomic`] is either the old version or the complete new one after a
//! crash at any instant, and once the call returns it survives a power cut: the bytes go to a
//! temporary file in the same directory, the file is `fsync`ed, renamed over the target, and the
//! directory is `fsync`ed so that the rename itself is on disk.

use std::fs::File;
use std::io::Write;
use std::path::Path;

use crate::error::TrainError;

/// Writes `bytes` to `path` atomically and durably (see the module docs).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), TrainError> {
    let dir = parent(path);
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    let name = path
        .file_name()
        .map_or_else(|| "file".into(), |n| n.to_string_lossy().into_owned());
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    write_synced(&tmp, bytes)?;
    std::fs::rename(&tmp, path).map_err(|e| io(path, e))?;
    sync_dir(dir)
}

/// Writes `bytes` to `path` (replacing it) and `fsync`s the file.
pub fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), TrainError> {
    let mut f = File::create(path).map_err(|e| io(path, e))?;
    f.write_all(bytes)
        .and_then(|_| f.sync_all())
        .map_err(|e| io(path, e))
}

/// `fsync`s a directory, so that entries created, renamed or removed in it are on disk.
pub fn sync_dir(dir: &Path) -> Result<(), TrainError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io(dir, e))
}

/// `fsync`s every file under `dir` (recursively), then the directories themselves.
pub fn sync_tree(dir: &Path) -> Result<(), TrainError> {
    for entry in std::fs::read_dir(dir).map_err(|e| io(dir, e))? {
        let path = entry.map_err(|e| io(dir, e))?.path();
        if path.is_dir() {
            sync_tree(&path)?;
        } else {
            File::open(&path)
                .and_then(|f| f.sync_all())
                .map_err(|e| io(&path, e))?;
        }
    }
    sync_dir(dir)
}

fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

pub(crate) fn io(path: &Path, source: std::io::Error) -> TrainError {
    TrainError::Io {
        path: path.to_path_buf(),
        source,
    }
}
