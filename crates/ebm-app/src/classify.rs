//! `ebm classify`: classification by energy, `y = argmin_y E(x, y)`, on the held-out split of a
//! trained conditional run: accuracy, per-class accuracy and confusion, expected calibration
//! error of `softmax(f(x))`, and (for digit classifiers) out-of-distribution detection by the
//! marginal energy against the maximum softmax ([`ood`](crate::ood)).

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use burn::tensor::Device;
use clap::Args;
use ebm_core::ConditionalNet;
use ebm_core::neural::classify::{accuracy, argmax, confusion, logits};
use ebm_core::neural::expected_calibration_error;
use ebm_train::{ClassGaussians, NegativeConfig, ReplayBuffer, RunDir};

use crate::args::RunArgs;
use crate::class_samples::{Chains, Start, generate_and_judge};
use crate::classify_report::{markdown, print_confusion, print_ood};
use crate::conditional_run::{
    ConditionalRunConfig, digits, dims, fit_class_base, load_conditional_run, load_split,
    target_labels,
};
use crate::judge::Judge;
use crate::ood::ood_table;

/// Where generation chains start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum From {
    /// Uniform noise on [-1, 1].
    Noise,
    /// The run's replay buffer at its last checkpoint.
    Buffer,
    /// A per-class diagonal Gaussian fitted to the run's training images.
    Base,
}

/// Confidence bins of the expected calibration error.
const ECE_BINS: usize = 15;

/// Arguments of `ebm classify`.
#[derive(Debug, Args)]
pub struct ClassifyArgs {
    /// The conditional run (`--run`, default runs/poe/digit) and the device.
    #[command(flatten)]
    run: RunArgs,
    /// Labelled images (default: the data the run was trained on; its held-out split is used).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Seed of the out-of-distribution sets and of the generation chains.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Also generate this many images of every class (clipped SGLD on E(x, y) from uniform
    /// noise) and judge them with the judge classifier (a 10-digit run only).
    #[arg(long, default_value_t = 0)]
    generate: usize,
    /// Where the generation chains start: `noise` (uniform), `buffer` (the run's replay
    /// buffer, its chains of the asked class) or `base` (a per-class Gaussian fitted to the
    /// training images).
    #[arg(long, value_enum, default_value_t = From::Noise)]
    from: From,
    /// SGLD steps of the generation chains.
    #[arg(long, default_value_t = 300)]
    steps: usize,
    /// The judge classifier's run (`ebm train-conditional --target judge`).
    #[arg(long, default_value = "runs/poe/judge")]
    judge: PathBuf,
}

/// Runs `ebm classify`.
pub fn run(args: ClassifyArgs) -> Result<()> {
    let device = args.run.device.device()?;
    let dir = args.run.existing("runs/poe/digit")?;
    let (config, net) = load_conditional_run(&dir, &device)?;
    let data = args.data.clone().unwrap_or(config.data.clone());
    let (_, test) = load_split(&data, config.limit)?;
    let (k, truth) = target_labels(&config.target, digits(&test)?)?;
    if k != net.classes {
        bail!(
            "the network has {} classes, target `{}` has {k}",
            net.classes,
            config.target
        );
    }
    let t0 = std::time::Instant::now();
    let rows = logits(&net, &test.images, dims(&test), &device)?;
    let predicted: Vec<usize> = rows.iter().map(|r| argmax(r)).collect();
    let acc = accuracy(&predicted, &truth);
    let ece = expected_calibration_error(&rows, &truth, ECE_BINS);
    println!(
        "`{}` ({:?}): accuracy of argmin_y E(x, y) on {} held-out images: {acc:.4}, expected calibration error {ece:.4} ({:.2}s)",
        config.target,
        config.train.objective,
        test.len(),
        t0.elapsed().as_secs_f64()
    );
    let table = confusion(&predicted, &truth, k);
    print_confusion(&table);
    let ood = if k == 10 {
        let ood = ood_table(&net, &test.images, dims(&test), args.seed, &device)?;
        print_ood(&ood);
        ood
    } else {
        Vec::new()
    };
    let generated = generate(&args, (&config, &net), &dir, &device)?;
    let json = serde_json::json!({
        "target": config.target, "held_out": test.len(), "accuracy": acc,
        "expected_calibration_error": ece, "ece_bins": ECE_BINS, "confusion": table,
        "out_of_distribution": ood, "generation": generated,
    });
    crate::output::write_json(&dir.file("classify.json"), &json)?;
    let title = format!(
        "`{}`: accuracy {acc:.4}, expected calibration error {ece:.4}",
        config.target
    );
    let md = markdown(&title, &table, &ood);
    crate::output::write_text(&dir.file("classify.md"), &md)?;
    crate::report::refresh(&dir);
    Ok(())
}

/// `--generate N`: `N` samples per class, judged; `None` without the flag.
fn generate(
    args: &ClassifyArgs,
    (config, net): (&ConditionalRunConfig, &ConditionalNet),
    dir: &RunDir,
    device: &Device,
) -> Result<Option<serde_json::Value>> {
    if args.generate == 0 {
        return Ok(None);
    }
    let judge = Judge::load(&RunDir::new(&args.judge), device)?;
    let chains = Chains {
        per_class: args.generate,
        steps: args.steps,
        step_size: 10.0,
        noise: 0.005,
        grad_clip: 0.03,
        seed: args.seed,
    };
    let (buffer, base);
    let start = match args.from {
        From::Noise => Start::Noise,
        From::Buffer => {
            buffer = latest_buffer(dir, config)?;
            Start::Buffer(&buffer)
        }
        From::Base => {
            base = class_base(config)?;
            Start::Base(&base)
        }
    };
    let from = format!("{:?}", args.from).to_lowercase();
    let grid = dir.file(&format!("generated-by-class-from-{from}.png"));
    let t0 = std::time::Instant::now();
    let rows = generate_and_judge(net, &start, &judge, chains, &grid, device)?;
    println!(
        "generation: {} per class, {} clipped-SGLD steps from {from} ({:.0}s); the judge (held-out accuracy {:.4}) puts in the asked class:",
        chains.per_class,
        chains.steps,
        t0.elapsed().as_secs_f64(),
        judge.held_out_accuracy
    );
    for r in &rows {
        println!("  {}: {:.3}  judged {:?}", r.class, r.in_class, r.histogram);
    }
    let worst = rows.iter().map(|r| r.in_class).fold(1.0, f64::min);
    println!("  worst class {worst:.3}; grid {}", grid.display());
    Ok(Some(serde_json::json!({
        "chains": chains, "from": from, "judge_held_out_accuracy": judge.held_out_accuracy,
        "by_class": rows, "worst_class": worst,
    })))
}

/// Per-class Gaussians fitted to the run's training split.
fn class_base(config: &ConditionalRunConfig) -> Result<ClassGaussians> {
    let (train, _) = load_split(&config.data, config.limit)?;
    fit_class_base(&config.target, &train)
}

/// The replay buffer of the run's latest checkpoint.
fn latest_buffer(dir: &RunDir, config: &ConditionalRunConfig) -> Result<ReplayBuffer> {
    let NegativeConfig::Persistent { capacity, .. } = config.train.train.negatives else {
        bail!("{} has no replay buffer", dir.root().display());
    };
    let ckpt = (dir.checkpoints().latest())
        .with_context(|| format!("{} has no checkpoint", dir.root().display()))?;
    let n = &config.net;
    let dims = vec![n.channels, n.image_size, n.image_size];
    Ok(ReplayBuffer::load(
        &ckpt.join("buffer.f32"),
        capacity,
        dims,
    )?)
}
