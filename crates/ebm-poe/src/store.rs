//! Saving and loading a [`ConditionalNet`] with the configuration that rebuilds it.

use std::path::Path;

use burn::module::Module;
use burn::store::ModuleRecord;
use burn::tensor::Device;

use crate::conditional::{ConditionalNet, ConditionalNetConfig};
use crate::error::PoeError;

fn io(path: &Path, reason: impl std::fmt::Display) -> PoeError {
    PoeError::Io {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}

/// Writes `dir/net.json` (the [`ConditionalNetConfig`]) and `dir/model.bpk` (the parameters).
pub fn save_net(
    net: &ConditionalNet,
    config: &ConditionalNetConfig,
    dir: &Path,
) -> Result<(), PoeError> {
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    let json = dir.join("net.json");
    let text = serde_json::to_string_pretty(config).map_err(|e| io(&json, e))?;
    std::fs::write(&json, text).map_err(|e| io(&json, e))?;
    let model = dir.join("model.bpk");
    net.clone()
        .into_record()
        .save(&model)
        .map_err(|e| io(&model, e))
}

/// Reads what [`save_net`] wrote, with the network on `device`.
pub fn load_net(
    dir: &Path,
    device: &Device,
) -> Result<(ConditionalNet, ConditionalNetConfig), PoeError> {
    let json = dir.join("net.json");
    let text = std::fs::read_to_string(&json).map_err(|e| {
        io(
            &json,
            format!("cannot read ({e}); is this a model directory?"),
        )
    })?;
    let config: ConditionalNetConfig = serde_json::from_str(&text)
        .map_err(|e| io(&json, format!("not a network configuration: {e}")))?;
    let template = config.init(device, 0)?;
    let model = dir.join("model.bpk");
    let record = ModuleRecord::load(&model)
        .map_err(|e| io(&model, format!("corrupt or unreadable: {e}")))?;
    let net = template
        .try_load_record(record)
        .map_err(|e| io(&model, format!("does not fit the network of net.json: {e}")))?;
    Ok((net, config))
}
