//! `ebm classify`: classification by energy, `y = argmin_y E(x, y)`, on the held-out split.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use ebm_core::device_from_word;
use ebm_poe::{accuracy, classify, confusion, load_net};

use crate::conditional::{TrainRecord, dims, load_split, target_labels};

/// Arguments of `ebm classify`.
#[derive(Debug, Args)]
pub struct ClassifyArgs {
    /// A model directory written by `ebm train-conditional` (e.g. `runs/poe/digit`).
    #[arg(long)]
    pub model: PathBuf,
    /// Labelled images (default: the data the model was trained on; its held-out split is used).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Device: cpu, wgpu, vulkan or cuda.
    #[arg(long, default_value = "cpu")]
    pub device: String,
}

/// Runs `ebm classify`.
pub fn run(args: ClassifyArgs) -> Result<()> {
    let device = device_from_word(&args.device)?;
    let record_path = args.model.join("train.json");
    let text = std::fs::read_to_string(&record_path).with_context(|| {
        format!(
            "reading {} (train one with `ebm train-conditional`)",
            record_path.display()
        )
    })?;
    let record: TrainRecord = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a training record", record_path.display()))?;
    let (net, _) = load_net(&args.model, &device)
        .with_context(|| format!("loading the model in {}", args.model.display()))?;
    let data = args.data.unwrap_or(record.data.clone());
    let (_, test) = load_split(&data, record.limit)?;
    let (k, truth) = target_labels(&record.target, test.labels.as_deref().unwrap_or_default())?;
    if k != net.classes {
        anyhow::bail!(
            "the model has {} classes, target `{}` has {k}",
            net.classes,
            record.target
        );
    }
    let t0 = std::time::Instant::now();
    let predicted = classify(&net, &test.images, dims(&test), &device)?;
    let acc = accuracy(&predicted, &truth);
    let m = confusion(&predicted, &truth, k);
    println!(
        "`{}` ({:?}): accuracy of argmin_y E(x, y) on {} held-out images: {acc:.4} ({:.2}s)",
        record.target,
        record.train.objective,
        test.len(),
        t0.elapsed().as_secs_f64()
    );
    println!("per class (true class: accuracy, count):");
    for (y, row) in m.iter().enumerate() {
        let n: usize = row.iter().sum();
        println!("  {y}: {:.3} of {n}", row[y] as f64 / n.max(1) as f64);
    }
    println!("confusion (rows: true, columns: predicted):");
    for row in &m {
        println!(
            "  {}",
            row.iter().map(|c| format!("{c:>4}")).collect::<String>()
        );
    }
    Ok(())
}
