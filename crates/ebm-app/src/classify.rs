//! `ebm classify`: classification by energy, `y = argmin_y E(x, y)`, on the held-out split of a
//! trained conditional run.

use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::Args;
use ebm_core::neural::classify::{accuracy, classify, confusion};

use crate::args::RunArgs;
use crate::conditional_run::{digits, dims, load_conditional_run, load_split, target_labels};

/// Arguments of `ebm classify`.
#[derive(Debug, Args)]
pub struct ClassifyArgs {
    /// The conditional run (`--run`, default runs/poe/digit) and the device.
    #[command(flatten)]
    run: RunArgs,
    /// Labelled images (default: the data the run was trained on; its held-out split is used).
    #[arg(long)]
    data: Option<PathBuf>,
}

/// Runs `ebm classify`.
pub fn run(args: ClassifyArgs) -> Result<()> {
    let device = args.run.device.device()?;
    let dir = args.run.existing("runs/poe/digit")?;
    let (config, net) = load_conditional_run(&dir, &device)?;
    let data = args.data.unwrap_or(config.data.clone());
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
    let predicted = classify(&net, &test.images, dims(&test), &device)?;
    let acc = accuracy(&predicted, &truth);
    println!(
        "`{}` ({:?}): accuracy of argmin_y E(x, y) on {} held-out images: {acc:.4} ({:.2}s)",
        config.target,
        config.train.objective,
        test.len(),
        t0.elapsed().as_secs_f64()
    );
    let table = confusion(&predicted, &truth, k);
    print_confusion(&table);
    let json = serde_json::json!({
        "target": config.target, "held_out": test.len(), "accuracy": acc, "confusion": table,
    });
    crate::output::write_json(&dir.file("classify.json"), &json)?;
    crate::report::refresh(&dir);
    Ok(())
}

/// Per-class accuracy and the confusion matrix.
fn print_confusion(m: &[Vec<usize>]) {
    println!("per class (true class: accuracy, count):");
    for (y, row) in m.iter().enumerate() {
        let n: usize = row.iter().sum();
        println!("  {y}: {:.3} of {n}", row[y] as f64 / n.max(1) as f64);
    }
    println!("confusion (rows: true, columns: predicted):");
    for row in m {
        println!(
            "  {}",
            row.iter().map(|c| format!("{c:>4}")).collect::<String>()
        );
    }
}
