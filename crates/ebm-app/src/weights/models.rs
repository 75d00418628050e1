//! The network of every kind of run as one value, loaded from the run's checkpoint or from a
//! safetensors file, and saved as safetensors with the run's settings in the file's metadata.

use std::path::Path;

use anyhow::{Context, Result, bail};
use burn::module::Module;
use burn::store::{ApplyResult, ModuleSnapshot, SafetensorsStore};
use burn::tensor::Device;
use ebm_core::{CnnEnergy, ConditionalNet, MlpEnergy, MlpEnergyConfig, Rbm};
use ebm_tag::Tagger;
use ebm_train::RunDir;
use serde_json::Value;

use crate::conditional_run::{ConditionalRunConfig, load_conditional_run};
use crate::run::{ImageRunConfig, load_image_run};
use crate::run_kind::RunKind;

/// Metadata keys of an exported file.
pub const KIND_KEY: &str = "ebm.kind";
/// The run's `config.json`.
pub const CONFIG_KEY: &str = "ebm.config";
/// The anomaly detector's `detector.json` (scaler, marginal expert, threshold).
pub const DETECTOR_KEY: &str = "ebm.detector";

/// The network of a run, by kind (held once per command, so the variants' sizes do not matter).
#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant)]
pub enum AnyModel {
    /// The image CNN energy.
    Image(CnnEnergy),
    /// The conditional energy's network.
    Conditional(ConditionalNet),
    /// The toy MLP energy.
    Toy(MlpEnergy),
    /// The RBM.
    Rbm(Rbm),
    /// The tagger.
    Tagger(Tagger),
    /// The anomaly detector's dependency network (its scaler and marginal expert travel in
    /// the metadata).
    Anomaly(MlpEnergy),
}

/// Runs `$body` with `$m` bound to the module inside `$model`, whatever its kind.
macro_rules! with_module {
    ($model:expr, $m:ident => $body:expr) => {
        match $model {
            AnyModel::Image($m) => $body,
            AnyModel::Conditional($m) => $body,
            AnyModel::Toy($m) | AnyModel::Anomaly($m) => $body,
            AnyModel::Rbm($m) => $body,
            AnyModel::Tagger($m) => $body,
        }
    };
}

impl AnyModel {
    /// The network of the trained run in `dir` (its latest checkpoint; the tagger's best), on
    /// `device`, without gradient tracking.
    pub fn load(kind: RunKind, dir: &RunDir, device: &Device) -> Result<Self> {
        Ok(match kind {
            RunKind::Image => Self::Image(load_image_run(dir, device)?.1.model().valid()),
            RunKind::Conditional => Self::Conditional(load_conditional_run(dir, device)?.1),
            RunKind::Toy => {
                let config: crate::toy::ToyRunConfig = dir.read_config()?;
                let template = crate::toy::build_model(&config, device)?;
                Self::Toy(load_record(template, dir)?)
            }
            RunKind::Rbm => Self::Rbm(crate::rbm::load_run(dir, device)?.1),
            RunKind::Tagger => Self::Tagger(crate::tag::load_run(dir, device)?.model),
            RunKind::Anomaly => {
                Self::Anomaly(crate::anomaly::detector::Detector::load(dir, device)?.1.net)
            }
        })
    }

    /// A freshly initialised network of the shape the settings `config` of a `kind` run
    /// describe (`detector`: the anomaly detector's `detector.json`, which holds its width).
    pub fn template(
        kind: RunKind,
        config: &Value,
        detector: Option<&Value>,
        device: &Device,
    ) -> Result<Self> {
        let parse = |what: &str| format!("the {what} settings in the file do not parse");
        Ok(match kind {
            RunKind::Image => {
                let c: ImageRunConfig =
                    serde_json::from_value(config.clone()).with_context(|| parse("image run"))?;
                Self::Image(c.model.build(device, 0)?)
            }
            RunKind::Conditional => {
                let c: ConditionalRunConfig = serde_json::from_value(config.clone())
                    .with_context(|| parse("conditional run"))?;
                Self::Conditional(c.net.init(device, 0)?)
            }
            RunKind::Toy => {
                let c: crate::toy::ToyRunConfig =
                    serde_json::from_value(config.clone()).with_context(|| parse("toy run"))?;
                Self::Toy(crate::toy::build_model(&c, device)?)
            }
            RunKind::Rbm => bail!(
                "an RBM's size is in its checkpoint, not its settings: load it with `Rbm::new` and `load_safetensors`"
            ),
            RunKind::Tagger => {
                let c: crate::tag::TagRunConfig =
                    serde_json::from_value(config.clone()).with_context(|| parse("tagging run"))?;
                Self::Tagger(c.tagger.init(device, 0)?)
            }
            RunKind::Anomaly => {
                let d: crate::anomaly::detector::Detector = serde_json::from_value(
                    detector
                        .context("the file has no anomaly detector in its metadata")?
                        .clone(),
                )
                .with_context(|| parse("anomaly detector"))?;
                let net =
                    MlpEnergyConfig::new(d.columns.len()).with_hidden(d.recipe.hidden.clone());
                Self::Anomaly(net.init(device, 0)?)
            }
        })
    }

    /// Writes the network to `path` as safetensors (tensor names are the module's paths, e.g.
    /// `convs.0.weight`), with `metadata` beside burn's own.
    pub fn save_safetensors(&self, path: &Path, metadata: &[(&str, String)]) -> Result<()> {
        let mut store = SafetensorsStore::from_file(path).overwrite(true);
        for (k, v) in metadata {
            store = store.metadata(*k, v.clone());
        }
        with_module!(self, m => m.save_into(&mut store))
            .map_err(|e| anyhow::anyhow!("writing {}: {e}", path.display()))
    }

    /// Replaces the parameters with those of the safetensors file at `path`; every parameter
    /// must be there with its shape, and nothing else.
    pub fn load_safetensors(&mut self, path: &Path) -> Result<()> {
        let mut store = SafetensorsStore::from_file(path);
        let result = with_module!(self, m => m.load_from(&mut store))
            .map_err(|e| anyhow::anyhow!("{} does not fit the model: {e}", path.display()))?;
        check_complete(&result, path)
    }
}

/// An error naming what did not fit, unless every parameter was loaded and nothing was left.
pub fn check_complete(result: &ApplyResult, path: &Path) -> Result<()> {
    let mut problems = Vec::new();
    if !result.errors.is_empty() {
        problems.push(format!(
            "{} tensors do not fit: {:?}",
            result.errors.len(),
            result.errors
        ));
    }
    if !result.missing.is_empty() {
        let names: Vec<&str> = result.missing.iter().map(|m| m.0.as_str()).collect();
        problems.push(format!("missing {}", names.join(", ")));
    }
    if !result.unused.is_empty() {
        problems.push(format!("not in the model: {}", result.unused.join(", ")));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        bail!(
            "{} does not fit the model: {}",
            path.display(),
            problems.join("; ")
        )
    }
}

/// The metadata of the safetensors file at `path`.
pub fn read_metadata(path: &Path) -> Result<std::collections::HashMap<String, String>> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let (_, meta) = safetensors::SafeTensors::read_metadata(&bytes)
        .map_err(|e| anyhow::anyhow!("{} is not a safetensors file: {e:?}", path.display()))?;
    Ok(meta.metadata().clone().unwrap_or_default())
}

/// `template` with the weights of the run's latest checkpoint (`model.bpk`).
fn load_record<M: Module>(template: M, dir: &RunDir) -> Result<M> {
    let ckpt = dir
        .checkpoints()
        .latest()
        .with_context(|| format!("run {} has no checkpoint", dir.root().display()))?;
    let path = ckpt.join("model.bpk");
    let record = ebm_train::read_module_record(&path)?;
    template
        .try_load_record(record)
        .with_context(|| format!("{} does not fit the run's network", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::store::bridge::to_data;
    use ebm_core::{CnnEnergyConfig, ConditionalNetConfig};
    use ebm_tag::{NetConfig, TaggerConfig};

    /// Every tensor of the model: its name and values.
    fn tensors(model: &AnyModel) -> Vec<(String, Vec<f32>)> {
        let mut out: Vec<(String, Vec<f32>)> =
            with_module!(model, m => m.collect(None, None, false))
                .iter()
                .map(|t| {
                    (
                        t.name.clone(),
                        to_data(t)
                            .unwrap()
                            .convert::<f32>()
                            .try_to_vec::<f32>()
                            .unwrap(),
                    )
                })
                .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// A small network of every kind, its parameters drawn from `seed`.
    fn every_kind(seed: u64) -> Vec<AnyModel> {
        let d = Device::default();
        let mut tag = NetConfig::new(30, 5);
        (tag.buckets, tag.d_word, tag.d_feat, tag.d_token, tag.hidden) = (16, 4, 3, 6, 8);
        vec![
            AnyModel::Image(
                CnnEnergyConfig::new()
                    .with_hidden(4)
                    .init(&d, seed)
                    .unwrap(),
            ),
            AnyModel::Conditional(
                ConditionalNetConfig::new(3)
                    .with_hidden(4)
                    .init(&d, seed)
                    .unwrap(),
            ),
            AnyModel::Toy(
                MlpEnergyConfig::new(2)
                    .with_hidden(vec![8, 8])
                    .init(&d, seed)
                    .unwrap(),
            ),
            AnyModel::Rbm(Rbm::new(12, 5, 0.1, seed, &d).unwrap()),
            AnyModel::Tagger(
                TaggerConfig {
                    net: tag,
                    structured: true,
                }
                .init(&d, seed)
                .unwrap(),
            ),
            AnyModel::Anomaly(
                MlpEnergyConfig::new(6)
                    .with_hidden(vec![8])
                    .init(&d, seed)
                    .unwrap(),
            ),
        ]
    }

    #[test]
    fn every_kind_goes_out_as_safetensors_and_back_bit_for_bit() {
        let tmp = tempfile::tempdir().unwrap();
        for (saved, mut other) in every_kind(1).into_iter().zip(every_kind(2)) {
            let path = tmp.path().join("w.safetensors");
            saved
                .save_safetensors(&path, &[(KIND_KEY, "test".into())])
                .unwrap();
            assert_ne!(
                tensors(&saved),
                tensors(&other),
                "the seeds must differ for the test to mean anything"
            );
            other.load_safetensors(&path).unwrap();
            assert_eq!(tensors(&saved), tensors(&other), "{saved:?}");
            assert_eq!(read_metadata(&path).unwrap()[KIND_KEY], "test");
        }
    }

    #[test]
    fn a_file_of_another_shape_is_an_error_naming_the_file() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("toy.safetensors");
        let d = Device::default();
        AnyModel::Toy(
            MlpEnergyConfig::new(2)
                .with_hidden(vec![8])
                .init(&d, 0)
                .unwrap(),
        )
        .save_safetensors(&path, &[])
        .unwrap();
        let mut wider = AnyModel::Toy(
            MlpEnergyConfig::new(2)
                .with_hidden(vec![16])
                .init(&d, 0)
                .unwrap(),
        );
        let err = wider.load_safetensors(&path).unwrap_err().to_string();
        assert!(
            err.contains("toy.safetensors") && err.contains("does not fit"),
            "{err}"
        );
        let mut image = AnyModel::Image(CnnEnergyConfig::new().with_hidden(4).init(&d, 0).unwrap());
        let err = image.load_safetensors(&path).unwrap_err().to_string();
        assert!(err.contains("missing"), "{err}");
    }
}
