//! `ebm eval-samples`: how close generated digits are to real ones, in the eyes of the judge
//! classifier (`ebm train-conditional --target judge`, trained on the training split only):
//!
//! - the class histogram, the smallest class's share and the histogram's entropy (nats; `ln 10`
//!   = 2.303 when every digit is equally frequent);
//! - the judge's mean confidence (its largest softmax probability, averaged over the samples);
//! - the Fréchet distance between the Gaussian fits of the samples' and the held-out digits'
//!   features (the judge's last hidden layer), printed between its floor, as many training
//!   digits (seeded, stratified), and its ceiling, as many uniform-noise images. The distance is
//!   biased upwards for small sets, so floor, ceiling and samples all use the same count.
//!
//! `ebm train` runs the same evaluation on its final fresh and buffer samples when a judge run
//! exists.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use burn::tensor::Device;
use clap::Args;
use ebm_core::SeededRng;
use ebm_core::neural::classify::{argmax, features, logits};
use ebm_core::neural::max_softmax;
use ebm_data::read_npy;
use ebm_mcmc::diagnostics::{GaussianFit, frechet_distance};
use ebm_train::RunDir;
use serde::Serialize;

use crate::args::DeviceArg;
use crate::judge::Judge;
use crate::output::write_json;

/// Where `ebm train-conditional --target judge` writes the judge by default.
pub const DEFAULT_JUDGE: &str = "runs/poe/judge";

/// Arguments of `ebm eval-samples`.
#[derive(Debug, Args)]
pub struct EvalSamplesArgs {
    /// Images to judge: an `.npy` of `[n, 1, 28, 28]` (as `ebm sample` and `ebm train` write
    /// them) or `[n, 784]`, values in `[-1, 1]`.
    #[arg(long)]
    pub samples: PathBuf,
    /// The judge classifier's run folder.
    #[arg(long, default_value = DEFAULT_JUDGE)]
    pub judge: PathBuf,
    /// The figures as JSON (default: beside the samples, `<name>.quality.json`).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Seed of the training digits and noise images of the floor and the ceiling.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Device.
    #[arg(long, value_enum, default_value_t = DeviceArg::Cpu)]
    pub device: DeviceArg,
}

/// What the judge makes of a set of samples.
#[derive(Debug, Clone, Serialize)]
pub struct SampleQuality {
    /// Samples judged.
    pub samples: usize,
    /// How many samples the judge puts in each digit.
    pub histogram: [usize; 10],
    /// The smallest digit's share of the samples.
    pub smallest_share: f64,
    /// Entropy of the histogram's shares, nats (at most `ln 10`).
    pub entropy: f64,
    /// The judge's largest softmax probability, averaged over the samples.
    pub mean_confidence: f64,
    /// Fréchet distance of the samples' features to the held-out digits'.
    pub frechet: f64,
    /// The same for as many training digits: the floor.
    pub frechet_floor: f64,
    /// The same for as many uniform-noise images: the ceiling.
    pub frechet_ceiling: f64,
    /// Held-out digits the distances are measured to.
    pub held_out: usize,
    /// The judge's accuracy on them.
    pub judge_held_out_accuracy: f64,
}

/// The judge with the Gaussian fit of its held-out digits' features, reused across sample sets.
pub struct Yardstick {
    judge: Judge,
    held_out: GaussianFit,
    device: Device,
}

impl Yardstick {
    /// Loads the judge run `dir` and fits its held-out digits' features.
    pub fn load(dir: &Path, device: &Device) -> Result<Self> {
        let judge = Judge::load(&RunDir::new(dir), device)?;
        let test = &judge.test;
        let d = [test.len(), test.channels, test.height, test.width];
        let held_out = fit("the held-out digits", &judge, &test.images, d, device)?;
        Ok(Self {
            judge,
            held_out,
            device: device.clone(),
        })
    }

    /// Judges host images `values` of shape `d`; `what` names them in errors.
    pub fn evaluate(
        &self,
        what: &str,
        values: &[f32],
        d: [usize; 4],
        seed: u64,
    ) -> Result<SampleQuality> {
        if let Some(i) = values.iter().position(|v| !v.is_finite()) {
            bail!(
                "{what}: value {i} (image {}) is {}",
                i / (d[1] * d[2] * d[3]).max(1),
                values[i]
            );
        }
        let (net, device) = (&self.judge.net, &self.device);
        let rows = logits(net, values, d, device).with_context(|| format!("judging {what}"))?;
        let mut histogram = [0usize; 10];
        let mut confidence = 0.0;
        for row in &rows {
            histogram[argmax(row).min(9)] += 1;
            confidence += max_softmax(row);
        }
        let n = rows.len();
        let shares = histogram.map(|c| c as f64 / n as f64);
        let distance = |what: &str, images: &[f32], d: [usize; 4]| -> Result<f64> {
            let f = fit(what, &self.judge, images, d, device)?;
            Ok(frechet_distance(&f, &self.held_out))
        };
        let train = &self.judge.train;
        let floor = train.stratified(n.min(train.len()), seed)?;
        let noise = SeededRng::new(seed).uniform_vec(values.len(), -1.0, 1.0);
        let floor_d = [floor.len(), d[1], d[2], d[3]];
        Ok(SampleQuality {
            samples: n,
            histogram,
            smallest_share: shares.iter().copied().fold(1.0, f64::min),
            entropy: -shares
                .iter()
                .filter(|&&p| p > 0.0)
                .map(|p| p * p.ln())
                .sum::<f64>(),
            mean_confidence: confidence / n as f64,
            frechet: distance(what, values, d)?,
            frechet_floor: distance("training digits", &floor.images, floor_d)?,
            frechet_ceiling: distance("uniform noise", &noise, d)?,
            held_out: self.judge.test.len(),
            judge_held_out_accuracy: self.judge.held_out_accuracy,
        })
    }
}

/// The Gaussian fit of the judge's features of `images`.
fn fit(
    what: &str,
    judge: &Judge,
    images: &[f32],
    d: [usize; 4],
    device: &Device,
) -> Result<GaussianFit> {
    let rows = features(&judge.net, images, d, device)
        .with_context(|| format!("the judge's features of {what}"))?;
    let dim = rows.first().map_or(0, Vec::len);
    Ok(GaussianFit::fit(what, &rows.concat(), dim)?)
}

/// The evaluation as lines of text.
pub fn describe(what: &str, q: &SampleQuality) -> String {
    let histogram: Vec<String> = q
        .histogram
        .iter()
        .enumerate()
        .map(|(digit, count)| format!("{digit}:{count}"))
        .collect();
    format!(
        "{what}: {} samples; judge's digits {}\n  smallest digit share {:.1}%, histogram entropy {:.3} nats (uniform: {:.3}), mean confidence {:.3}\n  Fréchet distance to {} held-out digits: {:.2} (floor, training digits: {:.2}; ceiling, uniform noise: {:.2}; judge accuracy {:.4})",
        q.samples,
        histogram.join(" "),
        100.0 * q.smallest_share,
        q.entropy,
        10f64.ln(),
        q.mean_confidence,
        q.held_out,
        q.frechet,
        q.frechet_floor,
        q.frechet_ceiling,
        q.judge_held_out_accuracy
    )
}

/// Images from an `.npy` file as `[n, 1, side, side]` for square single-channel shapes.
fn read_samples(path: &Path) -> Result<(Vec<f32>, [usize; 4])> {
    let array = read_npy(path)?;
    let d = match array.shape[..] {
        [n, c, h, w] => [n, c, h, w],
        [n, p] => {
            let side = (p as f64).sqrt().round() as usize;
            if side * side != p {
                bail!(
                    "{}: rows of {p} values are not square images",
                    path.display()
                );
            }
            [n, 1, side, side]
        }
        _ => bail!(
            "{}: shape {:?} is not [n, c, h, w] or [n, pixels]",
            path.display(),
            array.shape
        ),
    };
    if d[0] < 2 {
        bail!("{}: {} images; need at least 2", path.display(), d[0]);
    }
    Ok((array.data.iter().map(|&v| v as f32).collect(), d))
}

/// Runs `ebm eval-samples`.
pub fn run(args: EvalSamplesArgs) -> Result<()> {
    let device = args.device.device()?;
    let (values, d) = read_samples(&args.samples)?;
    let yardstick = Yardstick::load(&args.judge, &device)?;
    let name = args.samples.display().to_string();
    let quality = yardstick.evaluate(&name, &values, d, args.seed)?;
    println!("{}", describe(&name, &quality));
    let out = args
        .out
        .unwrap_or_else(|| args.samples.with_extension("quality.json"));
    write_json(&out, &quality)?;
    println!("figures: {}", out.display());
    Ok(())
}
