//! `ebm train-conditional`: train a conditional energy `E(x, y) = -logit_y(x)` on digits by
//! joint contrastive divergence (the digit expert and the attribute experts), or a classifier by
//! cross-entropy (the judge that labels generated samples), through the one training loop. The
//! run folder is described in [`conditional_run`](crate::conditional_run).

use anyhow::{Result, bail};
use burn::tensor::{Device, Tensor};
use clap::Args;
use ebm_core::ConditionalNetConfig;
use ebm_core::neural::classify::{accuracy, classify};
use ebm_data::ImageSet;
use ebm_train::{
    ConditionalTrainConfig, ConditionalTrainer, FitConfig, FnBatches, Objective, RunDir, TrainError,
};

use crate::args::{FitArgs, RecipeArgs, RunArgs, fit_loop, reached_end, set_flag};
use crate::conditional_run::{
    ConditionalRunConfig, ConditionalSummary, digits, dims, fit_class_base, load_split,
    target_labels,
};
use crate::output::{write_atomic, write_grid};

/// Arguments of `ebm train-conditional`. On `--resume` the saved settings hold; a flag that
/// differs from them is an error naming it.
#[derive(Debug, Args)]
pub struct TrainConditionalArgs {
    /// The run folder is `--run` (default: `runs/poe/<target>`).
    #[command(flatten)]
    run: RunArgs,
    #[command(flatten)]
    fit: FitArgs,
    /// What to learn: `digit` (E(x, y) over the 10 digits, joint CD), an attribute (`even`,
    /// `ge5`, `loop`, `curvy`: E(x, a), a in {0, 1}, joint CD), or `judge` (a 10-way classifier
    /// by cross-entropy, used to label generated samples) [required for a new run].
    #[arg(long)]
    target: Option<String>,
    /// Joint CD: the weight of the generative term, CE + gamma (E(x+) - E(x-)) [default: 1,
    /// the joint likelihood]; smaller values favour classification.
    #[arg(long)]
    generative_weight: Option<f64>,
    /// JEM++'s informative initialisation: start and re-initialise the replay buffer's chains
    /// from a per-class Gaussian fitted to the training images, not uniform noise.
    #[arg(long)]
    informative_init: bool,
    /// Data augmentation: move each training image by a random offset of at most this many
    /// pixels on each axis [default: 0, none].
    #[arg(long)]
    shift: Option<usize>,
    #[command(flatten)]
    recipe: RecipeArgs,
}

/// Runs `ebm train-conditional`.
pub fn run(args: TrainConditionalArgs) -> Result<()> {
    let device = args.run.device.device()?;
    let dir = run_dir(&args)?;
    let config = settings(&args, &dir)?;
    let (train, test) = load_split(&config.data, config.limit)?;
    check_shape(&train, &config.net)?;
    let (_, train_y) = target_labels(&config.target, digits(&train)?)?;
    dir.write_config(&config)?;
    let net = config
        .net
        .init(&device.clone().autodiff(), config.train.train.seed)?;
    let mut trainer = ConditionalTrainer::new(net, config.train.clone())?;
    if config.train.informative_init {
        trainer = trainer.with_base(fit_class_base(&config.target, &train)?)?;
    }
    println!(
        "training `{}` ({} classes, {:?}) on {} images, held out {}, device {:?}; writing {}",
        config.target,
        config.net.classes,
        config.train.objective,
        train.len(),
        test.len(),
        args.run.device,
        dir.root().display()
    );
    type Batch = (Tensor<4>, Vec<usize>);
    let batches = FnBatches::new(train.len(), |idx: &[usize]| -> Result<Batch, TrainError> {
        let x: Tensor<4> = train
            .batch(idx, &device)
            .map_err(|e| TrainError::hook("reading a batch", e))?;
        Ok((x, idx.iter().map(|&i| train_y[i]).collect::<Vec<_>>()))
    });
    let t0 = std::time::Instant::now();
    let outcome =
        fit_loop(&dir, config.fit.clone(), args.fit.resume).run(&mut trainer, &batches)?;
    if !reached_end(&outcome) {
        crate::report::refresh(&dir);
        return Ok(());
    }
    let summary = finish(&dir, &trainer, &config, &test, &device)?;
    crate::report::refresh(&dir);
    println!(
        "held-out accuracy of argmin_y E(x, y): {:.4} on {} images; {} steps ({:.0}s this session); wrote {}",
        summary.held_out_accuracy,
        summary.held_out,
        summary.steps,
        t0.elapsed().as_secs_f64(),
        dir.root().display()
    );
    Ok(())
}

/// The run folder: `--run`, or `runs/poe/<target>`.
fn run_dir(args: &TrainConditionalArgs) -> Result<RunDir> {
    match (&args.run.run, &args.target) {
        (Some(_), _) => Ok(args.run.dir("")),
        (None, Some(target)) => Ok(args.run.dir(&format!("runs/poe/{target}"))),
        (None, None) => bail!("name the run with --run, or the target with --target"),
    }
}

/// The run's settings: saved (`--resume`), from `--config`, or the defaults, with the flags
/// applied.
fn settings(args: &TrainConditionalArgs, dir: &RunDir) -> Result<ConditionalRunConfig> {
    let resume = args.fit.resume;
    let mut config = args.fit.base_config(dir, || defaults(args))?;
    set_flag(resume, "--target", &mut config.target, args.target.clone())?;
    let gamma = &mut config.train.generative_weight;
    set_flag(resume, "--generative-weight", gamma, args.generative_weight)?;
    set_flag(resume, "--shift", &mut config.train.max_shift, args.shift)?;
    let informative = args.informative_init.then_some(true);
    set_flag(
        resume,
        "--informative-init",
        &mut config.train.informative_init,
        informative,
    )?;
    let fields = (&mut config.data, &mut config.limit, &mut config.net.hidden);
    let (seed, t) = (args.fit.seed, &mut config.train.train);
    args.recipe.apply(resume, fields, seed, t)?;
    // The target fixes the number of classes and the objective (`--config` may name another).
    let (classes, _) = target_labels(&config.target, &[])?;
    config.net.classes = classes;
    config.train.objective = objective(&config.target);
    config.sync();
    args.fit.apply(&mut config.fit)?;
    config.train.validate()?;
    Ok(config)
}

/// Cross-entropy for the judge, joint CD for every expert.
fn objective(target: &str) -> Objective {
    if target == "judge" {
        Objective::CrossEntropy
    } else {
        Objective::JointCd
    }
}

/// The small CPU recipe on the data's image shape: 12 epochs (600 steps of 64 on the 3,200
/// training images of `datasets/mnist-4k`).
fn defaults(args: &TrainConditionalArgs) -> Result<ConditionalRunConfig> {
    let Some(target) = args.target.clone() else {
        bail!("--target is required for a new run (digit, judge, even, ge5, loop or curvy)");
    };
    let data = args.recipe.data_or_default();
    let (train, _) = load_split(&data, args.recipe.limit)?;
    let (classes, _) = target_labels(&target, &[])?;
    let net = ConditionalNetConfig::new(classes)
        .with_channels(train.channels)
        .with_image_size(train.height);
    let train_config = ConditionalTrainConfig::small(objective(&target));
    Ok(ConditionalRunConfig {
        target,
        data,
        limit: None,
        net,
        fit: FitConfig::new(0, 64, 12),
        train: train_config,
    })
}

/// Fails unless the images are square and of the network's shape.
fn check_shape(set: &ImageSet, net: &ConditionalNetConfig) -> Result<()> {
    let got = (set.channels, set.height, set.width);
    if got != (net.channels, net.image_size, net.image_size) {
        bail!(
            "images are {}x{}x{}; the run's network takes square {}x{s}x{s} images",
            got.0,
            got.1,
            got.2,
            net.channels,
            s = net.image_size
        );
    }
    Ok(())
}

/// Held-out accuracy into `summary.json`, and the replay buffer as `buffer.png`.
fn finish(
    dir: &RunDir,
    trainer: &ConditionalTrainer,
    config: &ConditionalRunConfig,
    test: &ImageSet,
    device: &Device,
) -> Result<ConditionalSummary> {
    let (_, test_y) = target_labels(&config.target, digits(test)?)?;
    let predicted = classify(&trainer.frozen(), &test.images, dims(test), device)?;
    let summary = ConditionalSummary {
        target: config.target.clone(),
        steps: trainer.steps_done(),
        held_out_accuracy: accuracy(&predicted, &test_y),
        held_out: test.len(),
    };
    if let Some(buffer) = trainer.buffer() {
        let n = 64.min(buffer.capacity());
        let item = test.channels * test.height * test.width;
        let grid_dims = [n, test.channels, test.height, test.width];
        write_grid(
            &dir.file("buffer.png"),
            &buffer.data()[..n * item],
            grid_dims,
            8,
            2,
        )?;
    }
    let text = serde_json::to_string_pretty(&summary)?;
    write_atomic(&dir.file("summary.json"), |tmp| {
        Ok(std::fs::write(tmp, &text)?)
    })?;
    Ok(summary)
}
