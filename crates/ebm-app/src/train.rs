//! `ebm train`: persistent-CD training of the image CNN energy through the one training loop,
//! with checkpoints, metrics, sample grids after every epoch and exact resume.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use burn::tensor::{Device, Tensor};
use clap::Args;
use ebm_core::{CnnEnergy, SeededRng};
use ebm_data::{ImageSet, LoadOptions, load_images};
use ebm_train::{
    FitConfig, FnBatches, GaussianMixture, InitDistribution, KMEANS_ROUNDS, NegativeConfig, RunDir,
    TrainConfig, TrainError, Trainer,
};

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
    /// Sampler steps of the fresh chains: the grid written after every epoch and the final
    /// samples [default: 200].
    #[arg(long)]
    fresh_steps: Option<usize>,
    /// Start fresh chains (short-run negatives, buffer re-initialisations, the grids and
    /// `ebm sample`) from a mixture of this many diagonal Gaussians fitted to the training
    /// images by k-means (no labels); 0 for uniform noise [default: 20, or the `--config`
    /// file's initial distribution].
    #[arg(long)]
    base: Option<usize>,
    /// The judge classifier's run: when it exists, the final fresh and buffer samples are
    /// judged as `ebm eval-samples` does, into `sample-quality.json`.
    #[arg(long, default_value = DEFAULT_JUDGE)]
    judge: PathBuf,
}

/// Runs `ebm train`.
pub fn run(args: TrainArgs) -> Result<()> {
    let device = args.run.device.device()?;
    let dir = args.run.dir("mnist");
    let mut config = settings(&args, &dir)?;
    let data = training_images(&config)?;
    // The default base has at most one component per two images, so small `--limit`s work.
    let base = match (&args.fit.config, args.fit.resume) {
        (None, false) => Some(args.base.unwrap_or(DEFAULT_BASE.min(data.len() / 2))),
        _ => args.base,
    };
    set_base(&mut config, base, args.fit.resume, &data)?;
    dir.write_config(&config)?;
    let net = config
        .model
        .build(&device.clone().autodiff(), config.train.seed)?;
    let mut trainer = Trainer::new(net, config.train.clone(), &config.model.item_dims())?;
    println!(
        "training the CNN energy on {} images ({}x{}x{}) by contrastive divergence ({}; fresh chains from {}), device {:?}; writing {}",
        data.len(),
        data.channels,
        data.height,
        data.width,
        match config.train.negatives {
            NegativeConfig::CdK => "chains from the data",
            NegativeConfig::Persistent { .. } => "persistent chains",
            NegativeConfig::ShortRun => "short-run chains",
        },
        config.train.init,
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

/// Components of the default base of fresh chains (`--base`).
pub const DEFAULT_BASE: usize = 20;

/// Steps of the default run's fresh chains from the base (`--fresh-steps`).
pub const DEFAULT_FRESH_STEPS: usize = 200;

/// `--base K`: the initial distribution of fresh chains becomes a `K`-component Gaussian
/// mixture fitted to `data` (seeded by the run), or uniform noise on `[-1, 1]` for `K = 0`. On
/// resume the saved one is kept, and `--base` must name it.
fn set_base(
    config: &mut ImageRunConfig,
    base: Option<usize>,
    resume: bool,
    data: &ImageSet,
) -> Result<()> {
    let Some(k) = base else { return Ok(()) };
    if resume {
        return match &config.train.init {
            InitDistribution::Mixture(m) if m.weights.len() == k => Ok(()),
            InitDistribution::Uniform { .. } if k == 0 => Ok(()),
            saved => bail!(
                "--base {k} differs from the saved initial distribution ({})",
                saved
            ),
        };
    }
    if k == 0 {
        config.train.init = InitDistribution::Uniform { lo: -1.0, hi: 1.0 };
        return Ok(());
    }
    let mixture = GaussianMixture::fit_kmeans(
        &data.images,
        data.image_len(),
        k,
        KMEANS_ROUNDS,
        config.train.seed,
    )
    .context("fitting the base of fresh chains (--base)")?;
    config.train.init = InitDistribution::Mixture(mixture);
    Ok(config.train.validate()?)
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

/// The default recipe for `model` on `data`: the tutorial's (persistent CD, 5% of the chains
/// re-initialised from the initial distribution, which `ebm train` sets to the fitted base of
/// `--base`), at learning rate 5e-4 for 45 epochs; fresh chains take 200 steps.
pub fn default_config(model: ModelSpec, data: PathBuf) -> ImageRunConfig {
    let mut train = TrainConfig::uva_images();
    train.optimizer.lr = 5e-4;
    ImageRunConfig {
        model,
        data,
        limit: None,
        fresh_steps: DEFAULT_FRESH_STEPS,
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
/// buffer (persistent CD) as `buffer-samples.npy` and `.png`, draws from a fitted base (the
/// chains' starts) as `start-samples.npy` and `.png`, and a chain's trajectory. Returns the
/// sets.
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
    if let InitDistribution::Mixture(base) = &config.train.init {
        // The control: the chains' starts themselves, to show what the sampler adds.
        let values = base.draw(
            FINAL_SAMPLES * dims[1..].iter().product::<usize>(),
            &mut rng,
        );
        write_npy(&dir.file("start-samples.npy"), &values, &dims)?;
        write_grid(&dir.file("start-samples.png"), &values, dims, 16, 2)?;
        sets.push(("chain starts", values, dims));
    }
    write_trajectory(dir, trainer, device, config, &mut rng)?;
    println!(
        "done: {} steps; samples from {} fresh chains ({} steps from {}) in {}{}",
        trainer.steps_done(),
        FINAL_SAMPLES,
        config.fresh_steps,
        config.train.init,
        dir.file("samples.png").display(),
        if trainer.buffer().is_some() {
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
