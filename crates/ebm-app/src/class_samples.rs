//! Class-conditional generation, for `ebm classify --generate N`: `N` chains per class of
//! clipped SGLD on `E(x, y)` (the settings `ebm compose` uses) from uniform noise, from the
//! run's replay buffer (its slots of class `y`: slot `i` holds a chain of class `i mod K`) or
//! from a per-class Gaussian fitted to the training images ([`ClassGaussians`]), each
//! class's samples judged by the independent judge classifier: the fraction it puts in the asked
//! class. One grid, a row of (at most 16) samples per class.

use std::path::Path;

use anyhow::{Result, bail};
use burn::tensor::{Device, Tensor, TensorData};
use ebm_core::{ConditionalNet, Energy, LabelEnergy, SeededRng};
use ebm_mcmc::{Sgld, StepSize};
use ebm_train::{ClassGaussians, ReplayBuffer, run_kernel};
use serde::Serialize;

use crate::judge::Judge;
use crate::output::{host_images, write_grid, write_npy};

/// Samples per class shown in the grid (its columns).
const GRID_COLUMNS: usize = 16;

/// The SGLD chains of one generation: steps, gradient step, noise, per-pixel gradient clamp.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Chains {
    /// Chains per class.
    pub per_class: usize,
    /// SGLD steps from uniform noise.
    pub steps: usize,
    /// Gradient step.
    pub step_size: f64,
    /// Noise scale.
    pub noise: f64,
    /// Per-pixel gradient clamp.
    pub grad_clip: f64,
    /// Seed of the chains.
    pub seed: u64,
}

/// The judge's verdict on one class's samples.
#[derive(Debug, Clone, Serialize)]
pub struct ClassRow {
    /// The asked class.
    pub class: usize,
    /// Fraction of its samples the judge puts in it.
    pub in_class: f64,
    /// How many samples the judge gives each digit.
    pub histogram: [usize; 10],
}

/// Where the chains of [`generate_and_judge`] start.
pub enum Start<'a> {
    /// Uniform noise on `[-1, 1]`.
    Noise,
    /// The replay buffer's chains of each class.
    Buffer(&'a ReplayBuffer),
    /// Draws from a per-class Gaussian fitted to the training images.
    Base(&'a ClassGaussians),
}

/// The starts of the chains of every class, class by class, `m` per class.
fn starts(start: &Start<'_>, [k, m, item]: [usize; 3], rng: &mut SeededRng) -> Result<Vec<f32>> {
    let buffer = match start {
        Start::Noise => return Ok(rng.uniform_vec(k * m * item, -1.0, 1.0)),
        Start::Base(base) => return Ok((0..k).flat_map(|y| base.draw(y, m, rng)).collect()),
        Start::Buffer(buffer) => buffer,
    };
    if buffer.capacity() < k * m || buffer.item_dims().iter().product::<usize>() != item {
        bail!(
            "the replay buffer ({} chains of {:?}) cannot start {m} chains of each of {k} classes",
            buffer.capacity(),
            buffer.item_dims()
        );
    }
    let data = buffer.data();
    Ok((0..k)
        .flat_map(|y| (0..m).map(move |j| y + j * k))
        .flat_map(|slot| data[slot * item..(slot + 1) * item].iter().copied())
        .collect())
}

/// Samples `chains.per_class` images of every class of the digit network `net` from `start`,
/// writes the grid to `grid` and every sample beside it (`.npy`, class by class, for
/// `ebm eval-samples`), and judges each class.
pub fn generate_and_judge(
    net: &ConditionalNet,
    start: &Start<'_>,
    judge: &Judge,
    chains: Chains,
    grid: &Path,
    device: &Device,
) -> Result<Vec<ClassRow>> {
    let (k, m) = (net.classes, chains.per_class);
    if k != 10 || m == 0 {
        bail!("generation by class needs a 10-digit network and at least one chain per class");
    }
    let labels: Vec<usize> = (0..k).flat_map(|y| std::iter::repeat_n(y, m)).collect();
    let energy = LabelEnergy::new(net.clone(), labels)?;
    let kernel = Sgld::new(StepSize::Shared(chains.step_size), chains.noise)?
        .with_grad_clip(chains.grad_clip)?
        .with_domain(-1.0, 1.0)?
        .with_energy_at_noised_point();
    let mut rng = SeededRng::new(chains.seed);
    let (c, s) = (net.channels(), net.image_size());
    let start = starts(start, [k, m, c * s * s], &mut rng)?;
    let start = Tensor::from_data(TensorData::new(start, [k * m, c, s, s]), device);
    energy.check_input(start.dims())?;
    let (x, _) = run_kernel(&kernel, &energy, start, chains.steps, &mut rng);
    let (values, d) = host_images(x)?;
    if values.iter().any(|v| !v.is_finite()) {
        bail!("sampling by class produced non-finite pixels");
    }
    let item = c * s * s;
    let shown = m.min(GRID_COLUMNS);
    let rows: Vec<f32> = values
        .chunks(m * item)
        .flat_map(|block| block[..shown * item].iter().copied())
        .collect();
    write_grid(grid, &rows, [k * shown, d[1], d[2], d[3]], shown, 2)?;
    write_npy(&grid.with_extension("npy"), &values, &d)?;
    values
        .chunks(m * item)
        .enumerate()
        .map(|(class, block)| {
            let verdict = judge.judge(block, [m, c, s, s], &[class as u8], device)?;
            Ok(ClassRow {
                class,
                in_class: verdict.in_set,
                histogram: verdict.histogram,
            })
        })
        .collect()
}
