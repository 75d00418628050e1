//! `ebm denoise` and `ebm inpaint`: restoring corrupted images by Langevin descent on the energy.
//!
//! Both run the run's clipped-SGLD sampler from the corrupted images: the energy pulls them
//! toward the data. For inpainting the observed pixels are put back after every step, so only the
//! missing ones move. Reported: PSNR of restored vs clean beside PSNR of corrupted vs clean, with
//! `PSNR = 10 log10(range^2 / MSE)` and range 2 for images in `[-1, 1]`.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use burn::module::Module;
use burn::tensor::{Device, Tensor, TensorData};
use clap::{Args, ValueEnum};
use ebm_core::{Energy, SeededRng};
use ebm_data::{LoadOptions, load_images};
use ebm_mcmc::{AnyKernel, Kernel, Sgld};

use crate::args::RunArgs;
use crate::output::{host_images, write_grid};
use crate::run::load_image_run;

/// Which pixels are missing for inpainting.
#[derive(Debug, Clone, Copy, PartialEq, ValueEnum)]
pub enum MaskKind {
    /// The top half is missing.
    Top,
    /// The bottom half is missing.
    Bottom,
    /// The left half is missing.
    Left,
    /// The right half is missing.
    Right,
    /// The central block of half the height and half the width is missing (14x14 of 28x28).
    Center,
    /// Each pixel is missing with probability `--missing`.
    Random,
}

/// Arguments shared by `denoise` and `inpaint`.
#[derive(Debug, Args)]
pub struct RestoreArgs {
    #[command(flatten)]
    pub run: RunArgs,
    /// Clean images to corrupt (default: the run's training data).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Number of images: a seeded, stratified sample (every class in proportion).
    #[arg(long, default_value_t = 64)]
    pub n: usize,
    /// Langevin steps.
    #[arg(long, default_value_t = 60)]
    pub steps: usize,
    /// Seed of the corruption and the chains.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output directory (default: the run's `restore/`).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Arguments of `ebm denoise`.
#[derive(Debug, Args)]
pub struct DenoiseArgs {
    #[command(flatten)]
    common: RestoreArgs,
    /// Standard deviation of the Gaussian noise added to the clean images.
    #[arg(long, default_value_t = 0.3)]
    sigma: f32,
}

/// Arguments of `ebm inpaint`.
#[derive(Debug, Args)]
pub struct InpaintArgs {
    #[command(flatten)]
    common: RestoreArgs,
    /// The missing region.
    #[arg(long, value_enum, default_value = "bottom")]
    mask: MaskKind,
    /// Fraction of missing pixels for `--mask random`.
    #[arg(long, default_value_t = 0.5)]
    missing: f64,
}

/// `10 log10(4 / MSE)` over all pixels, for images in `[-1, 1]`.
pub fn psnr(a: &[f32], b: &[f32]) -> f64 {
    let mse = a
        .iter()
        .zip(b)
        .map(|(x, y)| (f64::from(*x) - f64::from(*y)).powi(2))
        .sum::<f64>()
        / a.len().max(1) as f64;
    10.0 * (4.0 / mse.max(1e-12)).log10()
}

/// The observed-pixel mask (1 observed, 0 missing) of one `[c, h, w]` image, repeated `n` times.
pub fn mask(kind: MaskKind, missing: f64, dims: [usize; 4], rng: &mut SeededRng) -> Vec<f32> {
    let [n, c, h, w] = dims;
    let mut m = Vec::with_capacity(n * c * h * w);
    for _ in 0..n {
        for _ in 0..c {
            for y in 0..h {
                for x in 0..w {
                    let gone = match kind {
                        MaskKind::Top => y < h / 2,
                        MaskKind::Bottom => y >= h / 2,
                        MaskKind::Left => x < w / 2,
                        MaskKind::Right => x >= w / 2,
                        MaskKind::Center => {
                            (h / 4..h / 4 + h / 2).contains(&y)
                                && (w / 4..w / 4 + w / 2).contains(&x)
                        }
                        MaskKind::Random => rng.uniform_f64() < missing,
                    };
                    m.push(if gone { 0.0 } else { 1.0 });
                }
            }
        }
    }
    m
}

struct Prepared {
    clean: Vec<f32>,
    dims: [usize; 4],
    device: Device,
    model: ebm_core::CnnEnergy,
    kernel: AnyKernel,
    /// Where the run's chains start: `inpaint` fills the missing pixels from it.
    init: ebm_train::InitDistribution,
    out: PathBuf,
    run: ebm_train::RunDir,
}

fn prepare(args: &RestoreArgs, sub: &str) -> Result<Prepared> {
    if args.n == 0 {
        bail!("--n must be at least 1");
    }
    let device = args.run.device.device()?;
    let dir = args.run.existing("mnist")?;
    let (spec, trainer) = load_image_run(&dir, &device)?;
    let path = args.data.clone().unwrap_or_else(|| spec.data.clone());
    let data = load_images(&path, &LoadOptions::grey())
        .with_context(|| format!("reading {}", path.display()))?;
    let m = &spec.model;
    m.check_images(&data, &path)?;
    let n = args.n.min(data.len());
    let sel = if n < data.len() {
        data.stratified(n, args.seed)?
    } else {
        data
    };
    if spec.train.sampler.name() != Sgld::NAME {
        bail!(
            "run {} was not trained with clipped SGLD; restoration uses that sampler",
            dir.root().display()
        );
    }
    let kernel = spec
        .train
        .sampler
        .build()
        .context("building the run's sampler")?
        .for_positions_only();
    let dims = [n, sel.channels, sel.height, sel.width];
    let model = trainer.model().valid();
    let fits = model.check_input(dims);
    fits.with_context(|| format!("the images of {} do not fit the model", path.display()))?;
    Ok(Prepared {
        dims,
        clean: sel.images,
        device,
        model,
        kernel,
        init: spec.train.init.clone(),
        out: args
            .out
            .clone()
            .unwrap_or_else(|| dir.root().join("restore"))
            .join(sub),
        run: dir,
    })
}

/// Langevin descent from `start`; when `observed` is given as (mask, values), observed pixels are
/// reset after every step.
fn descend(
    p: &Prepared,
    start: Vec<f32>,
    observed: Option<(&[f32], &[f32])>,
    steps: usize,
    rng: &mut SeededRng,
) -> Result<Vec<f32>> {
    let t = |v: Vec<f32>| Tensor::<4>::from_data(TensorData::new(v, p.dims), &p.device);
    let fixed = observed.map(|(m, v)| (t(m.to_vec()), t(v.to_vec())));
    let snapshot = p.model.host().and_then(|h| h.snapshot());
    let energy: &dyn Energy<4> = snapshot.as_deref().unwrap_or(&p.model);
    let mut state = p.kernel.init(energy, t(start));
    for _ in 0..steps {
        state = p.kernel.step(energy, state, rng).0;
        if let Some((m, v)) = &fixed {
            state.position =
                state.position.clone() * (m.clone().neg() + 1.0) + v.clone() * m.clone();
        }
    }
    Ok(host_images(state.position)?.0)
}

fn report(p: &Prepared, what: &str, corrupted: &[f32], restored: &[f32]) -> Result<()> {
    let (before, after) = (psnr(corrupted, &p.clean), psnr(restored, &p.clean));
    let [n, c, h, w] = p.dims;
    let shown = n.min(16);
    let len = c * h * w;
    let mut grid = Vec::with_capacity(3 * shown * len);
    for rows in [&p.clean, &corrupted.to_vec(), &restored.to_vec()] {
        grid.extend_from_slice(&rows[..shown * len]);
    }
    let path = p.out.join("before-after.png");
    write_grid(&path, &grid, [3 * shown, c, h, w], shown, 2)?;
    println!(
        "{what} of {n} images: PSNR corrupted vs clean {before:.2} dB, restored vs clean {after:.2} dB"
    );
    println!(
        "grid (rows: clean, corrupted, restored): {}",
        path.display()
    );
    let json = serde_json::json!({
        "what": what,
        "images": n,
        "psnr_corrupted_db": before,
        "psnr_restored_db": after,
    });
    crate::output::write_json(&p.out.join("psnr.json"), &json)?;
    crate::report::refresh(&p.run);
    Ok(())
}

/// Runs `ebm denoise`.
pub fn run_denoise(args: DenoiseArgs) -> Result<()> {
    if !(args.sigma.is_finite() && args.sigma > 0.0) {
        bail!("--sigma must be > 0, got {}", args.sigma);
    }
    let p = prepare(&args.common, "denoise")?;
    let mut rng = SeededRng::new(args.common.seed);
    let z = rng.normal_vec(p.clean.len());
    let noisy: Vec<f32> = p
        .clean
        .iter()
        .zip(z)
        .map(|(x, z)| (x + args.sigma * z).clamp(-1.0, 1.0))
        .collect();
    let restored = descend(&p, noisy.clone(), None, args.common.steps, &mut rng)?;
    report(
        &p,
        &format!("denoising (sigma {})", args.sigma),
        &noisy,
        &restored,
    )
}

/// Runs `ebm inpaint`.
pub fn run_inpaint(args: InpaintArgs) -> Result<()> {
    if !(0.0..=1.0).contains(&args.missing) {
        bail!("--missing must be in [0, 1], got {}", args.missing);
    }
    let p = prepare(&args.common, "inpaint")?;
    let mut rng = SeededRng::new(args.common.seed);
    let m = mask(args.mask, args.missing, p.dims, &mut rng);
    // The missing pixels start where the run's chains start (uniform noise, or its base).
    let fill = ebm_train::buffer::draw(&p.init, p.clean.len(), &mut rng);
    let corrupted: Vec<f32> = m
        .iter()
        .zip(&p.clean)
        .zip(&fill)
        .map(|((m, x), f)| if *m > 0.5 { *x } else { *f })
        .collect();
    let restored = descend(
        &p,
        corrupted.clone(),
        Some((&m, &p.clean)),
        args.common.steps,
        &mut rng,
    )?;
    report(
        &p,
        &format!("inpainting ({:?} missing)", args.mask),
        &corrupted,
        &restored,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn psnr_and_masks() {
        assert!((psnr(&[0.0; 4], &[0.2; 4]) - 10.0 * (4.0f64 / 0.04).log10()).abs() < 1e-4);
        let mut rng = SeededRng::new(0);
        let m = mask(MaskKind::Bottom, 0.0, [1, 1, 4, 2], &mut rng);
        assert_eq!(m, vec![1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0]);
        let m = mask(MaskKind::Left, 0.0, [1, 1, 2, 2], &mut rng);
        assert_eq!(m, vec![0.0, 1.0, 0.0, 1.0]);
        let m = mask(MaskKind::Center, 0.0, [1, 1, 28, 28], &mut rng);
        assert_eq!(m.iter().filter(|v| **v == 0.0).count(), 14 * 14);
        assert_eq!(
            (
                m[7 * 28 + 6],
                m[7 * 28 + 7],
                m[20 * 28 + 20],
                m[21 * 28 + 20]
            ),
            (1.0, 0.0, 0.0, 1.0)
        );
        let m = mask(MaskKind::Random, 0.3, [1, 1, 100, 100], &mut rng);
        let missing = m.iter().filter(|v| **v == 0.0).count() as f64 / 10_000.0;
        // Binomial(10000, 0.3): sd 0.0046.
        assert!((missing - 0.3).abs() < 4.0 * 0.0046, "{missing}");
    }
}
