//! Weights, optimiser state and the trainer's own state in a checkpoint directory (`model.bpk`,
//! `optimizer.bpk`, `state.json`), with the failures of burn's readers turned into errors that
//! name the file.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use burn::module::Module;
use burn::optim::{ModuleOptimizer, OptimizerRecord};
use burn::store::ModuleRecord;
use burn::tensor::Bytes;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::TrainError;
use crate::fit::durable::write_synced;

/// Writes `model.bpk` and `optimizer.bpk` into the checkpoint directory `dir`.
pub(crate) fn save_model_and_optimizer<M: Module>(
    dir: &Path,
    model: &M,
    optim: &ModuleOptimizer,
) -> Result<(), TrainError> {
    let model_path = dir.join("model.bpk");
    model
        .clone()
        .into_record()
        .save(&model_path)
        .map_err(|e| TrainError::checkpoint(&model_path, e))?;
    let optim_path = dir.join("optimizer.bpk");
    optim
        .save(&optim_path)
        .map_err(|e| TrainError::checkpoint(&optim_path, e))
}

/// The whole file at `path` in memory. burn reads a record file lazily, by path, when a tensor is
/// first used; reading it whole here means a file that changes or goes away after loading (a
/// pruned checkpoint, a user's edit) cannot fail later, in one of burn's threads.
fn read_whole(path: &Path) -> Result<Bytes, TrainError> {
    let bytes = std::fs::read(path).map_err(|e| TrainError::checkpoint(path, e))?;
    Ok(Bytes::from_bytes_vec(bytes))
}

/// The module record (weights) at `path`, read whole; a damaged file is an error naming it.
pub fn read_module_record(path: &Path) -> Result<ModuleRecord, TrainError> {
    ModuleRecord::from_bytes(read_whole(path)?)
        .map_err(|e| TrainError::checkpoint(path, format!("corrupt or unreadable: {e}")))
}

/// `optim` with the state read from the optimiser record at `path`.
///
/// burn 0.22's `load_record` panics on a damaged record whose tensors lack a parameter id; that
/// panic is caught here (with the panic message kept off the terminal) and returned as an error
/// naming the file, like every other damage.
pub fn load_optimizer(optim: ModuleOptimizer, path: &Path) -> Result<ModuleOptimizer, TrainError> {
    let record = OptimizerRecord::from_bytes(read_whole(path)?)
        .map_err(|e| TrainError::checkpoint(path, format!("corrupt or unreadable: {e}")))?;
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let loaded = catch_unwind(AssertUnwindSafe(|| optim.load_record(record)));
    std::panic::set_hook(hook);
    loaded.map_err(|panic| {
        let why = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unreadable optimiser state".into());
        TrainError::checkpoint(path, format!("corrupt: {why}"))
    })
}

/// Writes a trainer's own state as `state.json` into the checkpoint directory `dir` (durably).
pub(crate) fn write_state<S: Serialize>(dir: &Path, state: &S) -> Result<(), TrainError> {
    let json = serde_json::to_vec_pretty(state)
        .map_err(|e| TrainError::checkpoint(dir, format!("state does not serialise: {e}")))?;
    write_synced(&dir.join("state.json"), &json)
}

/// Reads the `state.json` that [`write_state`] wrote into the checkpoint directory `dir`; a
/// missing or damaged file is an error naming it.
pub(crate) fn read_state<S: DeserializeOwned>(dir: &Path) -> Result<S, TrainError> {
    let path = dir.join("state.json");
    let text = std::fs::read_to_string(&path).map_err(|e| TrainError::checkpoint(&path, e))?;
    serde_json::from_str(&text).map_err(|e| TrainError::checkpoint(&path, format!("corrupt: {e}")))
}
