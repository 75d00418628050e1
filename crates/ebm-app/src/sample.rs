//! `ebm sample`: images from fresh chains of a trained model, and one chain's trajectory.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use burn::tensor::Tensor;
use clap::Args;
use ebm_core::{Energy, SeededRng};
use ebm_mcmc::KernelSpec;
use ebm_train::buffer::draw_tensor;
use ebm_train::{SamplerConfig, run_sampler};

use crate::args::RunArgs;
use crate::output::{host_images, write_grid, write_npy};
use crate::run::load_image_run;

/// Arguments of `ebm sample`.
#[derive(Debug, Args)]
pub struct SampleArgs {
    #[command(flatten)]
    pub run: RunArgs,
    /// Number of images.
    #[arg(long, default_value_t = 64)]
    pub n: usize,
    /// Sampler steps from the run's initial distribution (0 writes the starts themselves: the
    /// control that shows what the sampler adds) [default: the run's fresh-chain steps].
    #[arg(long)]
    pub steps: Option<usize>,
    /// The sampler, as an `ebm-mcmc` kernel word (`sgld:step_size=10,noise=0.005`, `mala:eps=0.001`,
    /// ...; default: the run's training sampler).
    #[arg(long)]
    pub sampler: Option<String>,
    /// Snapshots in the trajectory strip.
    #[arg(long, default_value_t = 8)]
    pub snapshots: usize,
    /// Seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output directory (default: the run's `samples/`).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Runs the chains `x` for `steps` steps of `sampler` in `legs` legs; returns where they end
/// and the snapshots of its first `rows` chains (at the start and the end of every leg,
/// `legs + 1` snapshots of `rows` chains each, flattened).
pub fn run_with_snapshots<const D: usize, E: Energy<D> + ?Sized>(
    sampler: &SamplerConfig,
    model: &E,
    mut x: Tensor<D>,
    (steps, legs, rows): (usize, usize, usize),
    rng: &mut SeededRng,
) -> Result<(Tensor<D>, Vec<f32>)> {
    let snapshot = |x: &Tensor<D>| {
        x.clone()
            .narrow(0, 0, rows)
            .into_data()
            .try_to_vec_as::<f32>()
            .map_err(|e| anyhow::anyhow!("reading chains back from the device: {e:?}"))
    };
    let mut strip = snapshot(&x)?;
    let mut done = 0;
    for leg in 0..legs {
        let n = (steps * (leg + 1)) / legs - done;
        x = run_sampler(sampler, model, x, n, rng)?.0;
        done += n;
        strip.extend(snapshot(&x)?);
    }
    Ok((x, strip))
}

/// Runs `ebm sample`: writes `sample-grid.png`, `sample.npy` and `trajectory.png`.
pub fn run(args: SampleArgs) -> Result<()> {
    if args.n == 0 || args.snapshots == 0 {
        bail!("--n and --snapshots must be at least 1");
    }
    let device = args.run.device.device()?;
    let dir = args.run.existing("mnist")?;
    let (spec, trainer) = load_image_run(&dir, &device)?;
    let out = args.out.unwrap_or_else(|| dir.root().join("samples"));
    let mut rng = SeededRng::new(args.seed);
    let frozen = burn::module::Module::valid(trainer.model());
    let m = &spec.model;
    let mut x: Tensor<4> = draw_tensor(
        &spec.train.init,
        [args.n, m.channels, m.image_size, m.image_size],
        &mut rng,
        &device,
    );
    let sampler = match &args.sampler {
        Some(word) => {
            let d = m.channels * m.image_size * m.image_size;
            KernelSpec::parse(word, d).with_context(|| format!("reading --sampler `{word}`"))?
        }
        None => spec.train.sampler,
    };
    let steps = args.steps.unwrap_or(spec.fresh_steps);
    let legs = args.snapshots.min(steps);
    let strip;
    (x, strip) = run_with_snapshots(&sampler, &frozen, x, (steps, legs, 1), &mut rng)?;
    let (values, dims) = host_images(x)?;
    let cols = (args.n as f64).sqrt().ceil() as usize;
    write_grid(&out.join("sample-grid.png"), &values, dims, cols, 2)?;
    write_npy(&out.join("sample.npy"), &values, &dims)?;
    let frames = legs + 1;
    write_grid(
        &out.join("trajectory.png"),
        &strip,
        [frames, dims[1], dims[2], dims[3]],
        frames,
        3,
    )?;
    println!(
        "{} samples after {} steps: {}, {}; trajectory of one chain ({} snapshots): {}",
        args.n,
        steps,
        out.join("sample-grid.png").display(),
        out.join("sample.npy").display(),
        frames,
        out.join("trajectory.png").display()
    );
    Ok(())
}
