//! `ebm train`: persistent-CD training of the image CNN energy through the one training loop,
//! with checkpoints, metrics, sample grids after every epoch and exact resume.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use burn::tensor::{Device, Tensor};
use clap::Args;
use ebm_core::{CnnEnergy, SeededRng};
use ebm_data::{ImageSet, LoadOptions, load_images};
use ebm_train::{FitConfig, FnBatches, NegativeConfig, RunDir, TrainConfig, TrainError, Trainer};

use crate::args::{FitArgs, RecipeArgs, RunArgs, fit_loop, reached_end, set_flag};
use crate::eval_samples::{DEFAULT_JUDGE, Yardstick, describe};
use crate::output::{host_images, write_grid, write_json, write_npy};
use crate::run::{ImageRunConfig, ModelSpec};

/// Arguments of `ebm train`. On `--resume` the saved settings hold; a flag that differs from
/// them is an error naming it.
#[derive(Debug, Args)]
pub struct TrainArgs {
    #[command(flatten)]
    run: RunArgs,
    #[command(flatten)]
    fit: FitArgs,
    #[command(flatten)]
    recipe: RecipeArgs,
    /// Sampler steps of the fresh-chain grid written after every epoch [default: 256].
    #[arg(long)]
    fresh_steps: Option<usize>,
    /// The judge classifier's run: when it exists, the final fresh and buffer samples are
    /// judged as `ebm eval-samples` does, into `sample-quality.json`.
    #[arg(long, default_value = DEFAULT_JUDGE)]
    judge: PathBuf,
}

/// Runs `ebm train`.
pub fn run(args: TrainArgs) -> Result<()> {
    let device = args.run.device.device()?;
    let dir = args.run.dir("mnist");
    let config = settings(&args, &dir)?;
    let data = training_images(&config)?;
    dir.write_config(&config)?;
    let net = config
        .model
        .build(&device.clone().autodiff(), config.train.seed)?;
    let mut trainer = Trainer::new(net, config.train.clone(), &config.model.item_dims())?;
    println!(
        "training the CNN energy on {} images ({}x{}x{}) by contrastive divergence ({}), device {:?}; writing {}",
        data.len(),
        data.channels,
        data.height,
        data.width,
        match config.train.negatives {
            NegativeConfig::CdK => "chains from the data",
            NegativeConfig::Persistent { .. } => "persistent chains",
            NegativeConfig::ShortRun => "short-run chains from noise",
        },
        args.run.device,
        dir.root().display()
    );
    let batches = FnBatches::new(
        data.len(),
        |idx: &[usize]| -> Result<Tensor<4>, TrainError> {
            data.batch(idx, &device)
                .map_err(|e| TrainError::hook("reading a batch", e))
        },
    );
    let outcome = fit_loop(&dir, config.fit.clone(), args.fit.resume)
        .on_epoch(|t: &Trainer<4, CnnEnergy>, epoch| {
            write_epoch_grids(&dir, t, &device, epoch, config.fresh_steps)
                .map_err(|e| TrainError::hook(format!("pictures of epoch {epoch}"), e))
        })
        .run(&mut trainer, &batches)?;
    if reached_end(&outcome) {
        let sets = write_final_samples(&dir, &trainer, &device, &config)?;
        judge_final_samples(&dir, &args.judge, &sets, &device)?;
    }
    crate::report::refresh(&dir);
    Ok(())
}

/// The run's settings: saved (`--resume`), from `--config`, or the defaults, with the flags
/// applied.
fn settings(args: &TrainArgs, dir: &RunDir) -> Result<ImageRunConfig> {
    let resume = args.fit.resume;
    let mut config: ImageRunConfig = args.fit.base_config(dir, || defaults(args))?;
    let fields = (
        &mut config.data,
        &mut config.limit,
        &mut config.model.hidden,
    );
    let (seed, t) = (args.fit.seed, &mut config.train);
    args.recipe.apply(resume, fields, seed, t)?;
    set_flag(
        resume,
        "--fresh-steps",
        &mut config.fresh_steps,
        args.fresh_steps,
    )?;
    config.sync();
    args.fit.apply(&mut config.fit)?;
    config.train.validate()?;
    Ok(config)
}

/// The tutorial's recipe on the data's image shape.
fn defaults(args: &TrainArgs) -> Result<ImageRunConfig> {
    let data = args.recipe.data_or_default();
    let probe = read_images(&data)?;
    if probe.height != probe.width {
        bail!(
            "{}: images are {}x{}; the CNN energy needs square images",
            data.display(),
            probe.width,
            probe.height
        );
    }
    let model = ModelSpec {
        channels: probe.channels,
        image_size: probe.height,
        hidden: 32,
    };
    Ok(default_config(model, data))
}

/// The default recipe (the tutorial's, at learning rate 5e-4, 45 epochs) for `model` on `data`.
pub fn default_config(model: ModelSpec, data: PathBuf) -> ImageRunConfig {
    let mut train = TrainConfig::uva_images();
    train.optimizer.lr = 5e-4;
    ImageRunConfig {
        model,
        data,
        limit: None,
        fresh_steps: 256,
        train,
        fit: FitConfig::new(42, 128, 45),
    }
}

fn read_images(path: &Path) -> Result<ImageSet> {
    load_images(path, &LoadOptions::grey()).with_context(|| format!("reading {}", path.display()))
}

/// The training images: all of them, or a stratified sample of `limit`.
fn training_images(config: &ImageRunConfig) -> Result<ImageSet> {
    let data = read_images(&config.data)?;
    let m = &config.model;
    m.check_images(&data, &config.data)?;
    match config.limit.filter(|&l| l < data.len()) {
        Some(limit) => Ok(data.stratified(limit, config.train.seed)?),
        None => Ok(data),
    }
}

/// Grids of the replay buffer and of fresh chains after an epoch.
fn write_epoch_grids(
    dir: &RunDir,
    trainer: &Trainer<4, CnnEnergy>,
    device: &Device,
    epoch: usize,
    fresh_steps: usize,
) -> Result<()> {
    if let Some(buffer) = trainer.buffer() {
        let (values, dims) = host_images(buffer.head::<4>(64, device))?;
        let path = dir.sample_file(&format!("epoch-{epoch:03}-buffer.png"));
        write_grid(&path, &values, dims, 8, 2)?;
    }
    let fresh = trainer.sample_fresh(64, fresh_steps, device, &mut SeededRng::new(epoch as u64))?;
    let (values, dims) = host_images(fresh)?;
    write_grid(
        &dir.sample_file(&format!("epoch-{epoch:03}-fresh.png")),
        &values,
        dims,
        8,
        2,
    )
}

/// One fresh chain's trajectory, 8 snapshots over the fresh-chain steps, as `trajectory.png`.
fn write_trajectory(
    dir: &RunDir,
    trainer: &Trainer<4, CnnEnergy>,
    device: &Device,
    config: &ImageRunConfig,
    rng: &mut SeededRng,
) -> Result<()> {
    let [c, h, w] = config.model.item_dims();
    let x = ebm_train::buffer::draw_tensor(&config.train.init, [1, c, h, w], rng, device);
    let frozen = burn::module::Module::valid(trainer.model());
    let legs = 8.min(config.fresh_steps.max(1));
    let (_, strip) = crate::sample::run_with_snapshots(
        &config.train.sampler,
        &frozen,
        x,
        (config.fresh_steps, legs, 1),
        rng,
    )?;
    write_grid(
        &dir.file("trajectory.png"),
        &strip,
        [legs + 1, c, h, w],
        legs + 1,
        3,
    )
}

/// Final samples: this many from fresh chains and this many from the replay buffer.
const FINAL_SAMPLES: usize = 256;

/// Host images with their dims and a name.
type ImageBatch = (&'static str, Vec<f32>, [usize; 4]);

/// The final samples: from fresh chains as `samples.npy` and `samples.png`, from the replay
/// buffer as `buffer-samples.npy` and `.png`, and a chain's trajectory. Returns both sets.
fn write_final_samples(
    dir: &RunDir,
    trainer: &Trainer<4, CnnEnergy>,
    device: &Device,
    config: &ImageRunConfig,
) -> Result<Vec<ImageBatch>> {
    let mut rng = SeededRng::new(config.train.seed + 1);
    let fresh = trainer.sample_fresh(FINAL_SAMPLES, config.fresh_steps, device, &mut rng)?;
    let (values, dims) = host_images(fresh)?;
    write_npy(&dir.file("samples.npy"), &values, &dims)?;
    write_grid(&dir.file("samples.png"), &values, dims, 16, 2)?;
    let mut sets = vec![("fresh chains", values, dims)];
    if let Some(buffer) = trainer.buffer() {
        let (values, dims) = host_images(buffer.head::<4>(FINAL_SAMPLES, device))?;
        write_npy(&dir.file("buffer-samples.npy"), &values, &dims)?;
        write_grid(&dir.file("buffer-samples.png"), &values, dims, 16, 2)?;
        sets.push(("replay buffer", values, dims));
    }
    write_trajectory(dir, trainer, device, config, &mut rng)?;
    println!(
        "done: {} steps; samples from {} fresh chains ({} steps from noise) in {}{}",
        trainer.steps_done(),
        FINAL_SAMPLES,
        config.fresh_steps,
        dir.file("samples.png").display(),
        if sets.len() > 1 {
            format!(
                ", from the replay buffer in {}",
                dir.file("buffer-samples.png").display()
            )
        } else {
            String::new()
        }
    );
    Ok(sets)
}

/// Judges the final sample sets with the judge run `judge` into `sample-quality.json`, or says
/// how to get a judge when there is none.
fn judge_final_samples(
    dir: &RunDir,
    judge: &Path,
    sets: &[ImageBatch],
    device: &Device,
) -> Result<()> {
    if !judge.is_dir() {
        println!(
            "no judge classifier at {} (train one with `ebm train-conditional --target judge`), so the samples are not judged",
            judge.display()
        );
        return Ok(());
    }
    let yardstick = Yardstick::load(judge, device)?;
    let mut report = serde_json::Map::new();
    for (what, values, dims) in sets {
        let quality = yardstick.evaluate(what, values, *dims, 0)?;
        println!("{}", describe(what, &quality));
        report.insert(what.replace(' ', "_"), serde_json::to_value(&quality)?);
    }
    write_json(&dir.file("sample-quality.json"), &report)
}
