//! `ebm score`: the energy of every input image, and anomaly detection by energy (AUROC).

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use burn::module::Module;
use burn::tensor::{Device, Tensor, TensorData};
use clap::Args;
use ebm_core::{CnnEnergy, Energy, SeededRng};
use ebm_data::{ImageSet, LoadOptions, load_images};

use crate::args::RunArgs;
use crate::output::write_atomic;
use crate::run::load_image_run;

/// Arguments of `ebm score`.
#[derive(Debug, Args)]
pub struct ScoreArgs {
    #[command(flatten)]
    pub run: RunArgs,
    /// In-distribution images (default: the run's training data).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Score a seeded, stratified sample of this many images (every class in proportion).
    #[arg(long, default_value_t = 1000)]
    pub limit: usize,
    /// Outlier sets: `noise` (uniform in [-1, 1]), `gauss` (the inputs plus N(0, 0.3^2) noise),
    /// `flip` (the inputs upside down), or a path to another dataset. Repeat or comma-separate.
    #[arg(long, value_delimiter = ',', default_value = "noise,gauss,flip")]
    pub outliers: Vec<String>,
    /// CSV of every energy (default: `<run>/scores.csv`).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Seed of the synthetic outlier sets.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

/// Energies of every image, batch by batch.
pub fn energies(
    model: &CnnEnergy,
    images: &[f32],
    dims: [usize; 4],
    device: &Device,
) -> Result<Vec<f64>> {
    let [n, c, h, w] = dims;
    let item = c * h * w;
    let mut out = Vec::with_capacity(n);
    for start in (0..n).step_by(256) {
        let m = (n - start).min(256);
        let x = Tensor::<4>::from_data(
            TensorData::new(
                images[start * item..(start + m) * item].to_vec(),
                [m, c, h, w],
            ),
            device,
        );
        let e = model.try_energy(x)?;
        let values = e.into_data().try_to_vec_as::<f64>();
        out.extend(values.map_err(|e| anyhow::anyhow!("reading energies back: {e:?}"))?);
    }
    Ok(out)
}

/// Area under the ROC curve of "outlier if energy is high": `P(E_out > E_in) + P(E_out = E_in) / 2`
/// over all pairs (the Mann-Whitney statistic), computed from ranks.
pub fn auroc(inliers: &[f64], outliers: &[f64]) -> f64 {
    let mut all: Vec<(f64, bool)> = inliers
        .iter()
        .map(|&e| (e, false))
        .chain(outliers.iter().map(|&e| (e, true)))
        .collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    // Average ranks over ties.
    let mut rank_sum_out = 0.0;
    let mut i = 0;
    while i < all.len() {
        let mut j = i;
        while j + 1 < all.len() && all[j + 1].0 == all[i].0 {
            j += 1;
        }
        let avg = (i + j) as f64 / 2.0 + 1.0;
        rank_sum_out += all[i..=j].iter().filter(|p| p.1).count() as f64 * avg;
        i = j + 1;
    }
    let (n_in, n_out) = (inliers.len() as f64, outliers.len() as f64);
    (rank_sum_out - n_out * (n_out + 1.0) / 2.0) / (n_in * n_out)
}

fn outlier_set(
    kind: &str,
    data: &ImageSet,
    rng: &mut SeededRng,
    limit: usize,
) -> Result<(String, Vec<f32>, usize)> {
    let n = data.len();
    let (c, h, w) = (data.channels, data.height, data.width);
    Ok(match kind {
        "noise" => (
            "uniform noise".into(),
            rng.uniform_vec(n * c * h * w, -1.0, 1.0),
            n,
        ),
        "gauss" => {
            let z = rng.normal_vec(data.images.len());
            let v = data
                .images
                .iter()
                .zip(z)
                .map(|(x, z)| (x + 0.3 * z).clamp(-1.0, 1.0))
                .collect();
            ("inputs + N(0, 0.3^2)".into(), v, n)
        }
        "flip" => {
            let mut v = data.images.clone();
            for img in v.chunks_mut(c * h * w) {
                for plane in img.chunks_mut(h * w) {
                    let rows: Vec<f32> = plane.chunks(w).rev().flatten().copied().collect();
                    plane.copy_from_slice(&rows);
                }
            }
            ("inputs upside down".into(), v, n)
        }
        path => {
            let other = load_images(path, &LoadOptions::grey())
                .with_context(|| format!("reading outlier set {path}"))?;
            if (other.channels, other.height, other.width) != (c, h, w) {
                bail!(
                    "outlier set {path} has images {}x{}x{}, the model takes {c}x{h}x{w}",
                    other.channels,
                    other.height,
                    other.width
                );
            }
            let m = other.len().min(limit);
            (path.to_string(), other.images[..m * c * h * w].to_vec(), m)
        }
    })
}

/// Runs `ebm score`.
pub fn run(args: ScoreArgs) -> Result<()> {
    let device = args.run.device.device()?;
    let dir = args.run.existing("mnist")?;
    let (spec, trainer) = load_image_run(&dir, &device)?;
    let model = trainer.model().valid();
    let path = args.data.clone().unwrap_or_else(|| spec.data.clone());
    let mut data = load_images(&path, &LoadOptions::grey())
        .with_context(|| format!("reading {}", path.display()))?;
    if args.limit < data.len() {
        data = data.stratified(args.limit, args.seed)?;
    }
    let dims = [data.len(), data.channels, data.height, data.width];
    let inliers = energies(&model, &data.images, dims, &device)?;
    let mut csv = String::from("set,index,label,energy\n");
    for (i, e) in inliers.iter().enumerate() {
        let label = data.label(i).map(|l| l.to_string()).unwrap_or_default();
        writeln!(csv, "data,{i},{label},{e}")?;
    }
    let mut rng = SeededRng::new(args.seed);
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    let mut summary = vec![serde_json::json!({
        "set": path.display().to_string(), "n": inliers.len(), "mean_energy": mean(&inliers),
    })];
    println!(
        "{:<28} {:>8} {:>12} {:>8}",
        "set", "n", "mean energy", "AUROC"
    );
    println!(
        "{:<28} {:>8} {:>12.4} {:>8}",
        path.display().to_string(),
        inliers.len(),
        mean(&inliers),
        "-"
    );
    for kind in &args.outliers {
        let (name, images, n) = outlier_set(kind.trim(), &data, &mut rng, args.limit)?;
        let e = energies(&model, &images, [n, dims[1], dims[2], dims[3]], &device)?;
        for (i, v) in e.iter().enumerate() {
            writeln!(csv, "{},{i},,{v}", kind.trim().replace(',', "_"))?;
        }
        println!(
            "{name:<28} {n:>8} {:>12.4} {:>8.4}",
            mean(&e),
            auroc(&inliers, &e)
        );
        summary.push(serde_json::json!({
            "set": name, "n": n, "mean_energy": mean(&e), "auroc": auroc(&inliers, &e),
        }));
    }
    let out = args.out.unwrap_or_else(|| dir.root().join("scores.csv"));
    write_atomic(&out, |tmp| {
        std::fs::write(tmp, &csv).with_context(|| format!("writing {}", tmp.display()))
    })?;
    println!("energies: {}", out.display());
    let json = serde_json::json!({ "sets": summary });
    crate::output::write_json(&out.with_file_name("score.json"), &json)?;
    crate::report::refresh(&dir);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::auroc;

    #[test]
    fn auroc_of_separated_equal_and_reversed_sets() {
        assert_eq!(auroc(&[0.0, 1.0], &[2.0, 3.0]), 1.0);
        assert_eq!(auroc(&[2.0, 3.0], &[0.0, 1.0]), 0.0);
        assert_eq!(auroc(&[1.0, 1.0], &[1.0]), 0.5);
        // One pair of four ordered wrongly: 3 / 4.
        assert_eq!(auroc(&[0.0, 2.5], &[2.0, 3.0]), 0.75);
    }
}
