//! `ebm train-conditional`: train a conditional energy `E(x, y) = -logit_y(x)` on digits by
//! joint contrastive divergence (the digit expert and the attribute experts), or a classifier by
//! cross-entropy (the judge that labels generated samples). Shared by `classify` and `compose`:
//! the held-out split and the expert directory layout.
//!
//! ```text
//! runs/poe/<target>/   net.json (network), model.bpk (parameters), train.json (settings and
//!                      held-out accuracy), metrics.jsonl, buffer.png (replay-buffer samples)
//! ```

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args;
use ebm_core::{SeededRng, device_from_word};
use ebm_data::{ImageSet, LoadOptions, load_images};
use ebm_poe::{
    Attribute, ConditionalNetConfig, ConditionalTrainConfig, ConditionalTrainer, Objective,
    accuracy, classify, save_net,
};
use serde::{Deserialize, Serialize};

use crate::output::{write_atomic, write_grid};

/// Seed of the train / held-out split shared by every conditional command.
pub const SPLIT_SEED: u64 = 2026;
/// Fraction of the data held out for testing.
pub const HELD_OUT: f64 = 0.2;

/// Arguments of `ebm train-conditional`.
#[derive(Debug, Args)]
pub struct TrainConditionalArgs {
    /// What to learn: `digit` (E(x, y) over the 10 digits, joint CD), an attribute (`even`,
    /// `ge5`, `loop`, `curvy`: E(x, a), a in {0, 1}, joint CD), or `judge` (a 10-way classifier
    /// by cross-entropy, used to label generated samples).
    #[arg(long)]
    pub target: String,
    /// Labelled training images (IDX file or folder, or image folder with class sub-folders).
    #[arg(long, default_value = "datasets/mnist-4k")]
    pub data: PathBuf,
    /// Directory of experts: the model is written to `<experts>/<target>`.
    #[arg(long, default_value = "runs/poe")]
    pub experts: PathBuf,
    /// Parameter steps.
    #[arg(long, default_value_t = 600)]
    pub steps: usize,
    /// Network width `h`.
    #[arg(long, default_value_t = 16)]
    pub hidden: usize,
    /// Batch size.
    #[arg(long, default_value_t = 64)]
    pub batch_size: usize,
    /// SGLD steps per parameter step (joint CD).
    #[arg(long, default_value_t = 20)]
    pub sampler_steps: usize,
    /// Replay-buffer capacity (joint CD).
    #[arg(long, default_value_t = 4096)]
    pub buffer: usize,
    /// Adam learning rate.
    #[arg(long, default_value_t = 2e-4)]
    pub lr: f64,
    /// Seed of the run.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Use only the first N images (before the split).
    #[arg(long)]
    pub limit: Option<usize>,
    /// Device: cpu, wgpu, vulkan or cuda.
    #[arg(long, default_value = "cpu")]
    pub device: String,
}

/// What was trained, saved beside the model.
#[derive(Debug, Serialize, Deserialize)]
pub struct TrainRecord {
    /// The target (`digit`, an attribute, `judge`).
    pub target: String,
    /// The data as given.
    pub data: PathBuf,
    /// The image limit, if any.
    pub limit: Option<usize>,
    /// The training settings.
    pub train: ConditionalTrainConfig,
    /// Parameter steps done.
    pub steps: usize,
    /// Accuracy of `argmin_y E(x, y)` on the held-out split.
    pub held_out_accuracy: f64,
    /// Held-out images.
    pub held_out: usize,
    /// Seconds of training.
    pub seconds: f64,
}

/// The labelled data split into `(train, held_out)` the same way for every command.
pub fn load_split(data: &Path, limit: Option<usize>) -> Result<(ImageSet, ImageSet)> {
    let mut set = load_images(data, &LoadOptions::grey())
        .with_context(|| format!("reading {}", data.display()))?;
    if set.labels.is_none() {
        bail!(
            "{} has no labels; conditional energies need labelled digits",
            data.display()
        );
    }
    if let Some(l) = limit.filter(|&l| l < set.len()) {
        set = set.select(&(0..l).collect::<Vec<_>>())?;
    }
    Ok(set.split(SPLIT_SEED, HELD_OUT)?)
}

/// The labels of a target: digits as they are, attributes as 0/1.
pub fn target_labels(target: &str, digits: &[u8]) -> Result<(usize, Vec<usize>)> {
    Ok(match target {
        "digit" | "judge" => (10, digits.iter().map(|&d| usize::from(d)).collect()),
        other => {
            let a: Attribute = other.parse().with_context(|| {
                format!("unknown target `{other}`: expected digit, judge or an attribute")
            })?;
            (2, a.relabel(digits))
        }
    })
}

/// Dims `[n, c, h, w]` of an image set.
pub fn dims(set: &ImageSet) -> [usize; 4] {
    [set.len(), set.channels, set.height, set.width]
}

/// Runs `ebm train-conditional`.
pub fn run(args: TrainConditionalArgs) -> Result<()> {
    let device = device_from_word(&args.device)?;
    let (train, test) = load_split(&args.data, args.limit)?;
    if train.height != train.width {
        bail!(
            "images are {}x{}; the network needs square images",
            train.width,
            train.height
        );
    }
    let (k, train_y) = target_labels(&args.target, train.labels.as_deref().unwrap_or_default())?;
    let (_, test_y) = target_labels(&args.target, test.labels.as_deref().unwrap_or_default())?;
    let objective = if args.target == "judge" {
        Objective::CrossEntropy
    } else {
        Objective::JointCd
    };
    let mut config = ConditionalTrainConfig::small(objective);
    config.seed = args.seed;
    config.batch_size = args.batch_size;
    config.sampler_steps = args.sampler_steps;
    config.buffer = args.buffer;
    config.lr = args.lr;
    let net_config = ConditionalNetConfig::new(k)
        .with_channels(train.channels)
        .with_hidden(args.hidden)
        .with_image_size(train.height);
    let net = net_config.init(&device.clone().autodiff(), args.seed)?;
    let mut trainer = ConditionalTrainer::new(net, config.clone())?;
    let batch = args.batch_size;
    let per_epoch = train.len() / batch;
    if per_epoch == 0 {
        bail!(
            "{} training images are fewer than one batch of {batch}",
            train.len()
        );
    }
    let dir = args.experts.join(&args.target);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let metrics_path = dir.join("metrics.jsonl");
    let mut metrics = std::io::BufWriter::new(
        std::fs::File::create(&metrics_path)
            .with_context(|| format!("creating {}", metrics_path.display()))?,
    );
    println!(
        "training `{}` ({k} classes, {:?}) on {} images, held out {}, {} steps, device {}",
        args.target,
        objective,
        train.len(),
        test.len(),
        args.steps,
        args.device
    );
    let t0 = std::time::Instant::now();
    let mut order: Vec<usize> = Vec::new();
    let mut rng = SeededRng::new(args.seed ^ 0x5eed);
    for step in 0..args.steps {
        let within = step % per_epoch;
        if within == 0 {
            order = (0..train.len()).collect();
            for i in (1..order.len()).rev() {
                let j = (rng.uniform_f64() * (i + 1) as f64) as usize;
                order.swap(i, j.min(i));
            }
        }
        let idx = &order[within * batch..(within + 1) * batch];
        let ys: Vec<usize> = idx.iter().map(|&i| train_y[i]).collect();
        let m = trainer
            .step(train.batch(idx, &device)?, &ys)
            .with_context(|| format!("training step {}", step + 1))?;
        writeln!(metrics, "{}", serde_json::to_string(&m)?)?;
        if (step + 1) % 50 == 0 || step + 1 == args.steps {
            metrics.flush()?;
            println!(
                "step {:>5}  loss {:+.4}  E+ {:+.3}  E- {:+.3}  batch acc {:.3}  {:.2}s/step  {:.0}s",
                m.step,
                m.loss,
                m.e_pos,
                m.e_neg,
                m.batch_accuracy,
                m.seconds,
                t0.elapsed().as_secs_f64()
            );
        }
    }
    metrics.flush()?;
    let seconds = t0.elapsed().as_secs_f64();
    let net = trainer.frozen();
    save_net(&net, &net_config, &dir)?;
    let predicted = classify(&net, &test.images, dims(&test), &device)?;
    let acc = accuracy(&predicted, &test_y);
    if let Some(buffer) = trainer.buffer() {
        let n = 64.min(buffer.capacity());
        let len = train.channels * train.height * train.width;
        write_grid(
            &dir.join("buffer.png"),
            &buffer.data()[..n * len],
            [n, train.channels, train.height, train.width],
            8,
            2,
        )?;
    }
    let record = TrainRecord {
        target: args.target.clone(),
        data: args.data.clone(),
        limit: args.limit,
        train: config,
        steps: args.steps,
        held_out_accuracy: acc,
        held_out: test.len(),
        seconds,
    };
    let text = serde_json::to_string_pretty(&record)?;
    write_atomic(&dir.join("train.json"), |tmp| {
        std::fs::write(tmp, &text).with_context(|| format!("writing {}", tmp.display()))
    })?;
    println!(
        "held-out accuracy of argmin_y E(x, y): {acc:.4} on {} images; trained in {seconds:.0}s; wrote {}",
        test.len(),
        dir.display()
    );
    Ok(())
}
