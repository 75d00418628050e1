//! `ebm train`: persistent-CD training of the image CNN energy, with checkpoints, metrics,
//! sample grids after every epoch and resume.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, Result, bail};
use clap::Args;
use ebm_core::{SeededRng, device_from_word};
use ebm_data::{ImageSet, LoadOptions, load_images};
use ebm_train::{MetricsLog, TrainConfig, Trainer};
use indicatif::{ProgressBar, ProgressStyle};

use crate::output::{host_images, write_grid, write_npy};
use crate::run::{ModelSpec, RunDir, RunSpec};

/// Arguments of `ebm train`.
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Training images: an IDX images file, a folder with IDX files, or an image folder.
    #[arg(long, default_value = "datasets/mnist-4k")]
    pub data: PathBuf,
    /// Device: cpu, wgpu, vulkan or cuda.
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// Epochs (passes over the data). The default fits the 15-minute budget on 2 CPU cores.
    #[arg(long, default_value_t = 45)]
    pub epochs: usize,
    /// Run name: the run is written to `<runs-dir>/<name>`.
    #[arg(long, default_value = "mnist")]
    pub name: String,
    /// Where runs live.
    #[arg(long, default_value = "runs")]
    pub runs_dir: PathBuf,
    /// Continue the run from its last checkpoint (its saved settings win over these flags,
    /// except `--epochs`, which can extend it).
    #[arg(long)]
    pub resume: bool,
    /// Seed of the run.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Batch size.
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// Sampler steps per parameter step.
    #[arg(long)]
    pub sampler_steps: Option<usize>,
    /// Replay-buffer capacity.
    #[arg(long)]
    pub buffer: Option<usize>,
    /// Adam learning rate. The tutorial uses 1e-4 over 28,000 steps on full MNIST; 5e-4 gives
    /// recognisable digits within the default 1,395 steps (measured, see BENCHMARKS.md).
    #[arg(long, default_value_t = 5e-4)]
    pub lr: f64,
    /// CNN width `h`.
    #[arg(long, default_value_t = 32)]
    pub hidden: usize,
    /// Use only the first N images (quick runs; kept in the run for `--resume`).
    #[arg(long)]
    pub limit: Option<usize>,
    /// Stop after this many parameter steps in all (quick runs; checkpoints as usual).
    #[arg(long)]
    pub max_steps: Option<usize>,
    /// Sampler steps of the fresh-chain grid written after every epoch.
    #[arg(long, default_value_t = 256)]
    pub fresh_steps: usize,
}

/// Runs `ebm train`.
pub fn run(args: TrainArgs) -> Result<()> {
    let device = device_from_word(&args.device)?;
    let dir = RunDir::new(args.runs_dir.join(&args.name));
    let (spec, mut trainer) = if args.resume {
        let (mut spec, trainer) = dir.load_trainer(&device)?;
        spec.epochs = args.epochs.max(spec.epochs);
        (spec, trainer)
    } else {
        if dir.checkpoints().join("latest").exists() {
            bail!(
                "run {} already has checkpoints: continue it with `--resume` or pick another `--name`",
                dir.root.display()
            );
        }
        let mut train = TrainConfig::uva_images();
        train.seed = args.seed;
        if let Some(b) = args.batch_size {
            train.batch_size = b;
        }
        if let Some(k) = args.sampler_steps {
            train.sampler_steps = k;
        }
        train.optimizer.lr = args.lr;
        if let (Some(c), ebm_train::NegativeConfig::Persistent { capacity, .. }) =
            (args.buffer, &mut train.negatives)
        {
            *capacity = c;
        }
        let probe = load_images(&args.data, &LoadOptions::grey())
            .with_context(|| format!("reading {}", args.data.display()))?;
        if probe.height != probe.width {
            bail!(
                "{}: images are {}x{}; the CNN energy needs square images",
                args.data.display(),
                probe.width,
                probe.height
            );
        }
        let model = ModelSpec {
            channels: probe.channels,
            image_size: probe.height,
            hidden: args.hidden,
        };
        let spec = RunSpec {
            model,
            data: args.data.clone(),
            limit: args.limit,
            epochs: args.epochs,
            fresh_steps: args.fresh_steps,
            train,
        };
        let net = spec
            .model
            .build(&device.clone().autodiff(), spec.train.seed)?;
        let item = [
            spec.model.channels,
            spec.model.image_size,
            spec.model.image_size,
        ];
        (spec.clone(), Trainer::new(net, spec.train.clone(), &item)?)
    };
    dir.write_spec(&spec)?;

    let mut data = load_images(&spec.data, &LoadOptions::grey())
        .with_context(|| format!("reading {}", spec.data.display()))?;
    if let Some(limit) = spec.limit.filter(|&l| l < data.len()) {
        data = data.select(&(0..limit).collect::<Vec<_>>())?;
    }
    let batch = spec.train.batch_size;
    let per_epoch = data.len() / batch;
    if per_epoch == 0 {
        bail!("{} images are fewer than one batch of {batch}", data.len());
    }
    let mut total = spec.epochs * per_epoch;
    if let Some(m) = args.max_steps {
        total = total.min(m);
    }
    let start = trainer.steps_done();
    let mut log = MetricsLog::open(&dir.metrics(), Some(start))?;
    println!(
        "training the CNN energy on {} images ({}x{}x{}) with persistent CD, {} steps per epoch, steps {start}..{total}, device {}; writing {}",
        data.len(),
        data.channels,
        data.height,
        data.width,
        per_epoch,
        args.device,
        dir.root.display()
    );

    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = stop.clone();
        // A second Ctrl-C kills at once; the first finishes the step and checkpoints.
        let _ = ctrlc::set_handler(move || {
            if stop.swap(true, Ordering::SeqCst) {
                std::process::exit(130);
            }
        });
    }
    let bar = ProgressBar::new(total as u64).with_position(start as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "{elapsed_precise} [{bar:30}] {pos}/{len} steps, ETA {eta_precise} {msg}",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    let every = spec.train.checkpoint_every;
    for step in start..total {
        let (epoch, within) = (step / per_epoch, step % per_epoch);
        let order = epoch_order(&data, spec.train.seed, epoch);
        let idx = &order[within * batch..(within + 1) * batch];
        let m = trainer
            .step(data.batch(idx, &device)?)
            .with_context(|| format!("training step {}", step + 1))?;
        log.write(&m)?;
        bar.set_message(format!(
            "loss {:+.4} E+ {:+.3} E- {:+.3}",
            m.loss, m.e_pos, m.e_neg
        ));
        bar.inc(1);
        let end_of_epoch = (step + 1) % per_epoch == 0;
        if (step + 1) % every == 0
            || end_of_epoch
            || step + 1 == total
            || stop.load(Ordering::SeqCst)
        {
            trainer.save_checkpoint(&dir.checkpoints())?;
        }
        if end_of_epoch {
            write_epoch_grids(&dir, &trainer, &device, epoch + 1, spec.fresh_steps)?;
        }
        if stop.load(Ordering::SeqCst) {
            bar.abandon_with_message("interrupted: checkpoint written, continue with --resume");
            return Ok(());
        }
    }
    bar.finish();
    let n = 64;
    let fresh = trainer.sample_fresh(
        n,
        spec.fresh_steps,
        &device,
        &mut SeededRng::new(spec.train.seed + 1),
    )?;
    let (values, dims) = host_images(fresh);
    write_npy(&dir.root.join("samples.npy"), &values, &dims)?;
    write_grid(&dir.root.join("samples.png"), &values, dims, 8, 2)?;
    println!(
        "done: {} steps; final samples in {}",
        trainer.steps_done(),
        dir.root.join("samples.png").display()
    );
    Ok(())
}

/// The order of the data in `epoch`: a permutation drawn from the run seed and the epoch, so a
/// resumed run sees the same batches as an uninterrupted one.
fn epoch_order(data: &ImageSet, seed: u64, epoch: usize) -> Vec<usize> {
    let mut rng = SeededRng::new(seed ^ (0x9e37_79b9_7f4a_7c15u64.wrapping_mul(epoch as u64 + 1)));
    let mut order: Vec<usize> = (0..data.len()).collect();
    for i in (1..order.len()).rev() {
        let j = (rng.uniform_f64() * (i + 1) as f64) as usize;
        order.swap(i, j.min(i));
    }
    order
}

/// Grids of the replay buffer and of fresh chains after an epoch.
fn write_epoch_grids(
    dir: &RunDir,
    trainer: &Trainer<4, ebm_core::CnnEnergy>,
    device: &burn::tensor::Device,
    epoch: usize,
    fresh_steps: usize,
) -> Result<()> {
    if let Some(buffer) = trainer.buffer() {
        let (values, dims) = host_images(buffer.head::<4>(64, device));
        write_grid(
            &dir.sample_file(&format!("epoch-{epoch:03}-buffer.png")),
            &values,
            dims,
            8,
            2,
        )?;
    }
    let fresh = trainer.sample_fresh(64, fresh_steps, device, &mut SeededRng::new(epoch as u64))?;
    let (values, dims) = host_images(fresh);
    write_grid(
        &dir.sample_file(&format!("epoch-{epoch:03}-fresh.png")),
        &values,
        dims,
        8,
        2,
    )
}
