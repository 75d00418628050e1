//! Weights in and out of the ecosystem's formats.
//!
//! - `ebm export --run DIR --format safetensors --out FILE`: the network of any kind of run as
//!   safetensors (tensor names are the module's paths), with the run's kind and settings (and
//!   an anomaly detector's scaler and marginal expert) in the file's metadata.
//! - `ebm import --safetensors FILE --run NEW`: a run folder from an exported file (image,
//!   conditional, tagger and anomaly runs), usable by every command that reads such a run.
//! - `ebm import --pytorch FILE.pt --run NEW`: an image run from the UvA tutorial's `CNNModel`
//!   ([`pytorch`]).
//!
//! An imported run has one checkpoint holding the weights; image runs get the full trainer
//! state of a fresh run (so `--resume` trains on from the imported weights), other kinds the
//! weights only (for using, not resuming).

pub mod models;
pub mod pytorch;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use burn::module::Module;
use clap::{Args, ValueEnum};
use ebm_train::{CheckpointStore, FitState, RunDir, Trainer};

use crate::args::DeviceArg;
use crate::run_kind::{RunKind, read_config_value};
use models::{AnyModel, CONFIG_KEY, DETECTOR_KEY, KIND_KEY, read_metadata};

/// The export formats.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    /// Hugging Face's safetensors.
    Safetensors,
}

/// Arguments of `ebm export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The trained run: a single name under `runs/`, or a path.
    #[arg(long)]
    pub run: PathBuf,
    /// The format.
    #[arg(long, value_enum, default_value_t = Format::Safetensors)]
    pub format: Format,
    /// The file to write.
    #[arg(long)]
    pub out: PathBuf,
}

/// Arguments of `ebm import`.
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("source").required(true).args(["pytorch", "safetensors"]))]
pub struct ImportArgs {
    /// A PyTorch file of the UvA tutorial's `CNNModel`: its `state_dict`, or a Lightning
    /// checkpoint of `DeepEnergyModel`.
    #[arg(long)]
    pub pytorch: Option<PathBuf>,
    /// A file written by `ebm export`.
    #[arg(long)]
    pub safetensors: Option<PathBuf>,
    /// The new run folder (a name under `runs/`, or a path); it must not hold a run yet.
    #[arg(long)]
    pub run: PathBuf,
    /// Image side of the PyTorch network's inputs (its linear layer fixes the last feature
    /// map, not the image).
    #[arg(long, default_value_t = 28)]
    pub image_size: usize,
    /// Training images recorded in the new image run's settings.
    #[arg(long, default_value = "datasets/mnist-4k")]
    pub data: PathBuf,
    /// Device.
    #[arg(long, value_enum, default_value_t = DeviceArg::Cpu)]
    pub device: DeviceArg,
}

/// Runs `ebm export`.
pub fn run_export(args: ExportArgs) -> Result<()> {
    let dir = RunDir::resolve(&args.run);
    let kind = RunKind::of_run(&dir)?;
    let device = burn::tensor::Device::default();
    let model = AnyModel::load(kind, &dir, &device)?;
    let mut metadata = vec![
        (KIND_KEY, kind.name().to_string()),
        (CONFIG_KEY, read_config_value(&dir)?.to_string()),
    ];
    if kind == RunKind::Anomaly {
        let path = dir.file("detector.json");
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        metadata.push((DETECTOR_KEY, text));
    }
    match args.format {
        Format::Safetensors => model.save_safetensors(&args.out, &metadata)?,
    }
    println!(
        "{} weights of {} -> {}",
        kind.name(),
        dir.root().display(),
        args.out.display()
    );
    Ok(())
}

/// Runs `ebm import`.
pub fn run_import(args: ImportArgs) -> Result<()> {
    let dir = RunDir::resolve(&args.run);
    if dir.checkpoints().exists() || dir.config_path().exists() {
        bail!(
            "{} already holds a run; import into a new folder",
            dir.root().display()
        );
    }
    let device = args.device.device()?;
    if let Some(path) = &args.pytorch {
        let (spec, model) = pytorch::import_uva(path, args.image_size, &device)?;
        // Trained on the autodiff device; the imported parameters become its leaves there.
        let model = model.to_device(&device.clone().autodiff());
        write_image_run(
            &dir,
            crate::train::default_config(spec, args.data.clone()),
            model,
        )?;
    } else if let Some(path) = &args.safetensors {
        import_safetensors(path, &dir, &device)?;
    }
    println!("imported into {}", dir.root().display());
    Ok(())
}

/// A new run folder from a file written by `ebm export`.
fn import_safetensors(path: &Path, dir: &RunDir, device: &burn::tensor::Device) -> Result<()> {
    let meta = read_metadata(path)?;
    let kind = meta
        .get(KIND_KEY)
        .and_then(|k| RunKind::from_name(k))
        .with_context(|| {
            format!(
                "{} was not written by `ebm export` (no `{KIND_KEY}` metadata)",
                path.display()
            )
        })?;
    let config: serde_json::Value = serde_json::from_str(
        meta.get(CONFIG_KEY).map_or("", String::as_str),
    )
    .with_context(|| {
        format!(
            "{}: the `{CONFIG_KEY}` metadata is not JSON",
            path.display()
        )
    })?;
    let detector: Option<serde_json::Value> = match meta.get(DETECTOR_KEY) {
        Some(text) => Some(
            serde_json::from_str(text)
                .with_context(|| format!("{}: `{DETECTOR_KEY}`", path.display()))?,
        ),
        None => None,
    };
    let target = match kind {
        RunKind::Image => device.clone().autodiff(),
        _ => device.clone(),
    };
    let mut model = AnyModel::template(kind, &config, detector.as_ref(), &target)?;
    model.load_safetensors(path)?;
    match model {
        AnyModel::Image(net) => {
            let config: crate::run::ImageRunConfig = serde_json::from_value(config)?;
            write_image_run(dir, config, net)
        }
        AnyModel::Conditional(net) => write_weights_run(dir, &config, net),
        AnyModel::Tagger(net) => write_weights_run(dir, &config, net),
        AnyModel::Anomaly(net) => {
            write_weights_run(dir, &config, net)?;
            let text = serde_json::to_vec(&detector.context("no detector")?)?;
            ebm_train::fit::durable::write_atomic(&dir.file("detector.json"), &text)?;
            Ok(())
        }
        AnyModel::Toy(_) | AnyModel::Rbm(_) => bail!(
            "{} holds a {} model: such runs are for training and evaluating in place, so they import as weights only (`AnyModel::load_safetensors`), not as a run folder",
            path.display(),
            kind.name()
        ),
    }
}

/// An image run with `model` as its weights: the settings and the first checkpoint of a fresh
/// run, so that every command reading an image run takes it and `--resume` trains on.
fn write_image_run(
    dir: &RunDir,
    config: crate::run::ImageRunConfig,
    model: ebm_core::CnnEnergy,
) -> Result<()> {
    let trainer = Trainer::new(model, config.train.clone(), &config.model.item_dims())?;
    dir.write_config(&config)?;
    trainer.save_checkpoint(dir.checkpoints().dir())?;
    Ok(())
}

/// A run of weights only: the settings and one checkpoint holding `model.bpk`.
fn write_weights_run<M: Module>(dir: &RunDir, config: &serde_json::Value, model: M) -> Result<()> {
    dir.write_config(config)?;
    CheckpointStore::new(dir.checkpoints().dir()).save(0, &FitState::default(), |d| {
        model
            .clone()
            .into_record()
            .save(d.join("model.bpk"))
            .map_err(|e| ebm_train::TrainError::hook("writing the imported weights", e.to_string()))
    })?;
    Ok(())
}
