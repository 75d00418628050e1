//! `ebm restore-bench`: image restoration by the energy against the baselines a user would try
//! first, on held-out digits of every class.
//!
//! The images are the held-out split every conditional command shares (the run's data split by
//! [`load_split`]; the judge classifier never saw them), a seeded stratified sample of `--n`.
//! For every case ([`corruptions`]) the bench reports PSNR, SSIM and the fraction of images the
//! judge puts in the clean digit's class, for:
//!
//! * the corrupted images;
//! * k-nearest-neighbour completion from the training split on the observed pixels (the mean of
//!   the k nearest; for noise, the projection on all pixels), `k` chosen on a validation split
//!   of the training images ([`knn`]);
//! * for noise, the 3x3 median filter;
//! * the energy weighing the nearest images' completions by their Boltzmann factors, its
//!   temperature chosen on the validation split ([`weighted`]);
//! * the energy: MALA on the conditional energy with the known pixels clamped ([`posterior`],
//!   [`sampler`]), as a posterior mean over chains and as the minimum-energy draw.
//!
//! Writes `<out>/results.md`, `<out>/results.json` and one before/after grid per case
//! (`<out>/<case>.png`: one column per digit class; rows clean, corrupted, the restorations,
//! then the final state of every chain).

mod args;
mod choice;
mod corruptions;
mod knn;
mod metrics;
mod posterior;
mod report;
mod sampler;
#[cfg(test)]
mod test_energy;
mod weighted;

use std::time::Instant;

use anyhow::{Context, Result};
use burn::module::Module;
use burn::tensor::Device;
use ebm_core::{Energy, SeededRng};
use ebm_data::ImageSet;

use args::Init;
pub use args::RestoreBenchArgs;
use corruptions::{Case, Corrupted, corrupt};
use knn::{Bank, choose_k, median3};
use posterior::Posterior;
use report::{CaseResult, JudgeScores, Method, write_outputs};
use sampler::{repeat_chains, sample};
use weighted::{Candidates, choose_tau};

use crate::conditional_run::{SPLIT_SEED, load_split};
use crate::judge::Judge;
use crate::run::load_image_run;

/// Everything a case needs that does not change between cases.
struct Bench<'a> {
    args: &'a RestoreBenchArgs,
    test: ImageSet,
    val: ImageSet,
    val_bank: ImageSet,
    start_val: ImageSet,
    train: ImageSet,
    judge: Option<Judge>,
    prior: &'a dyn Energy<4>,
    device: Device,
}

/// Runs `ebm restore-bench`.
pub fn run(args: RestoreBenchArgs) -> Result<()> {
    args.validate()?;
    let device = args.run.device.device()?;
    let dir = args.run.existing("mnist")?;
    let (spec, trainer) = load_image_run(&dir, &device)?;
    let data = args.data.clone().unwrap_or_else(|| spec.data.clone());
    let (train, test) = load_split(&data, None)?;
    spec.model.check_images(&test, &data)?;
    let fraction = (args.val as f64 / train.len() as f64).clamp(0.0, 0.5);
    let (val_bank, val) = train.split(SPLIT_SEED + 1, fraction)?;
    // --tune: restore validation images against a bank without them, never the held-out ones.
    let (train, test) = if args.tune {
        (val_bank.clone(), val.clone())
    } else {
        (train, test)
    };
    let test = if args.n < test.len() {
        test.stratified(args.n, args.seed)?
    } else {
        test
    };
    let judge = load_judge(&args, &device)?;
    let model = trainer.model().valid();
    let snapshot = model.host().and_then(|h| h.snapshot());
    let prior: &dyn Energy<4> = snapshot.as_deref().unwrap_or(&model);
    let what = if args.tune { "validation" } else { "held-out" };
    let sizes = [test.len(), train.len(), val.len()];
    print_header(&args, what, &data, sizes);
    let start_val = val.stratified(args.start_val.min(val.len()), args.seed)?;
    let bench = Bench {
        args: &args,
        test,
        val,
        start_val,
        val_bank,
        train,
        judge,
        prior,
        device,
    };
    let clean = bench.method("clean", &bench.test.images)?.judge_agreement;
    let scores = bench
        .judge
        .as_ref()
        .zip(clean)
        .map(|(j, on_clean)| JudgeScores {
            held_out: j.held_out_accuracy,
            on_clean,
        });
    let mut results = Vec::new();
    for (i, case) in args.cases()?.into_iter().enumerate() {
        let t0 = Instant::now();
        let (mut result, grid) = bench.run_case(case, i as u64)?;
        result.seconds = t0.elapsed().as_secs_f64();
        println!("{}", report::summary_line(&result));
        results.push((result, grid));
    }
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| dir.root().join("restore-bench"));
    write_outputs(
        &out,
        &args,
        scores,
        &results,
        bench.test.image_len(),
        dims3(&bench.test),
    )?;
    crate::report::refresh(&dir);
    Ok(())
}

/// What the bench restores, against what, and how.
fn print_header(args: &RestoreBenchArgs, what: &str, data: &std::path::Path, sizes: [usize; 3]) {
    let [n, bank, val] = sizes;
    println!(
        "restore-bench: {n} {what} images of {} ({bank} training images in the kNN bank, {val} \
         for choosing k); {} chains x {} MALA steps ({} kept), init {:?}",
        data.display(),
        args.chains,
        args.steps,
        args.keep,
        args.init
    );
}

fn dims3(set: &ImageSet) -> [usize; 3] {
    [set.channels, set.height, set.width]
}

fn dims4(set: &ImageSet, n: usize) -> [usize; 4] {
    [n, set.channels, set.height, set.width]
}

fn load_judge(args: &RestoreBenchArgs, device: &Device) -> Result<Option<Judge>> {
    let dir = ebm_train::RunDir::resolve(&args.judge);
    if !dir.root().is_dir() {
        println!(
            "no judge classifier at {} (train one with `ebm train-conditional --target judge`); \
             the class-agreement column is left empty",
            dir.root().display()
        );
        return Ok(None);
    }
    let judge = Judge::load(&dir, device)?;
    println!(
        "judge {}: held-out accuracy {:.4}",
        dir.root().display(),
        judge.held_out_accuracy
    );
    Ok(Some(judge))
}

impl Bench<'_> {
    /// Restores the test images under `case`; the result and the grid's images.
    fn run_case(&self, case: Case, index: u64) -> Result<(CaseResult, Vec<f32>)> {
        let a = self.args;
        let len = self.test.image_len();
        let mut rng = SeededRng::new(a.seed.wrapping_add(1000 * (index + 1)));
        let d = dims4(&self.test, self.test.len());
        let y = corrupt(case, &self.test.images, d, a.sp_sigma, &mut rng);
        let dv = dims4(&self.val, self.val.len());
        let yv = corrupt(case, &self.val.images, dv, a.sp_sigma, &mut rng);
        let (weights, keep) = knn_masks(case, &y);
        let (wv, kv) = knn_masks(case, &yv);
        let vbank = Bank {
            images: &self.val_bank.images,
            len,
        };
        let (k, _) = choose_k(&vbank, &yv.values, &wv, &kv, &self.val.images);
        let bank = Bank {
            images: &self.train.images,
            len,
        };
        let knn = bank.complete(&y.values, &weights, &keep, k);
        let val = Candidates::new(
            &vbank,
            (&yv.values, &wv, &kv),
            k,
            self.prior,
            dims3(&self.val),
            &self.device,
        )?;
        let tau = choose_tau(&val, &self.val.images);
        let weighted = self.candidates(&bank, &y, (&weights, &keep), k)?.mean(tau);
        let mut methods = vec![
            self.method("corrupted", &y.values)?,
            self.method(&format!("kNN (k={k})"), &knn)?,
            self.method(&format!("energy-weighted kNN (tau={tau:e})"), &weighted)?,
        ];
        let mut grid_rows = vec![
            self.test.images.clone(),
            y.values.clone(),
            knn.clone(),
            weighted,
        ];
        if !case.is_inpainting() {
            let median = median3(&y.values, self.test.height, self.test.width);
            methods.push(self.method("median 3x3", &median)?);
            grid_rows.push(median);
        }
        let (init, temperature) = self.choose_settings(case, (k, tau), &mut rng)?;
        let start = self.start(init, &y, (&bank, &weights, &keep), (k, tau), &mut rng)?;
        let restored = self.energy_restore(&self.test, case, &y, (start, temperature), &mut rng)?;
        methods.push(self.method("energy: posterior mean", &restored.mean)?);
        methods.push(self.method("energy: min energy", &restored.min_energy)?);
        grid_rows.push(restored.mean.clone());
        grid_rows.push(restored.min_energy.clone());
        grid_rows.extend(
            restored
                .finals
                .chunks(self.test.images.len())
                .map(<[f32]>::to_vec),
        );
        let grid = report::grid_images(&grid_rows, self.test.labels.as_deref(), len);
        let result = CaseResult {
            case: case.slug(),
            k,
            start: format!("{init:?}").to_lowercase(),
            temperature,
            methods,
            acceptance: restored.acceptance,
            step_size: restored.step_size,
            seconds: 0.0,
        };
        Ok((result, grid))
    }

    /// The energy-weighted candidates of the corrupted images `y` from `bank`.
    fn candidates(
        &self,
        bank: &Bank<'_>,
        y: &Corrupted,
        (weights, keep): (&[f32], &[f32]),
        k: usize,
    ) -> Result<Candidates> {
        let dims = [self.test.channels, self.test.height, self.test.width];
        Candidates::new(
            bank,
            (&y.values, weights, keep),
            k,
            self.prior,
            dims,
            &self.device,
        )
    }

    /// The chains' start for `init` (resolved, not `Auto`), `[chains, n, ...]`; `knn` holds the
    /// bank, weights and kept pixels of the kNN completion, `(k, tau)` its `k` and the weighted
    /// completion's temperature.
    fn start(
        &self,
        init: Init,
        y: &Corrupted,
        knn: (&Bank<'_>, &[f32], &[f32]),
        (k, tau): (usize, f64),
        rng: &mut SeededRng,
    ) -> Result<Vec<f32>> {
        let (bank, weights, keep) = knn;
        let chains = self.args.chains;
        Ok(match init {
            Init::Corrupted => y.values.repeat(chains),
            Init::Neighbours => bank.neighbours(&y.values, weights, keep, chains),
            Init::Noise => rng.uniform_vec(y.values.len() * chains, -1.0, 1.0),
            Init::Weighted => self
                .candidates(bank, y, (weights, keep), k)?
                .mean(tau)
                .repeat(chains),
            Init::Auto | Init::Knn => bank.complete(&y.values, weights, keep, k).repeat(chains),
        })
    }

    /// MALA on the conditional energy of `y` (images like `set`'s), the chains started at
    /// `start` (`[chains, n, ...]`) plus noise on the free pixels.
    fn energy_restore(
        &self,
        set: &ImageSet,
        case: Case,
        y: &Corrupted,
        (start, temperature): (Vec<f32>, f64),
        rng: &mut SeededRng,
    ) -> Result<sampler::Restored> {
        let a = self.args;
        let n = set.len();
        let d = dims4(set, n * a.chains);
        let dev = &self.device;
        let free = repeat_chains(&y.known, a.chains, d, dev).neg() + 1.0;
        let jitter = burn::tensor::Tensor::<4>::from_data(
            burn::tensor::TensorData::new(rng.normal_vec(n * a.chains * set.image_len()), d),
            dev,
        );
        let start =
            burn::tensor::Tensor::<4>::from_data(burn::tensor::TensorData::new(start, d), dev);
        let x0 = start + jitter.mul_scalar(a.init_noise) * free;
        let mut post = Posterior {
            prior: self.prior,
            observed: repeat_chains(&y.values, a.chains, d, dev),
            known: repeat_chains(&y.known, a.chains, d, dev),
            half_precision: y
                .likelihood_sigma
                .map(|s| 1.0 / (2.0 * f64::from(s).powi(2))),
            temperature,
            wall: a.wall,
            beta: 1.0,
        };
        sample(&mut post, x0, &a.anneal(case), rng).context("sampling the restoration posterior")
    }

    /// PSNR, SSIM and judge agreement of restored images.
    fn method(&self, name: &str, restored: &[f32]) -> Result<Method> {
        let (psnr, ssim) = metrics::batch_quality(restored, &self.test.images, dims3(&self.test));
        let agree = match (&self.judge, &self.test.labels) {
            (Some(j), Some(labels)) => {
                let d = dims4(&self.test, self.test.len());
                let predicted =
                    ebm_core::neural::classify::classify(&j.net, restored, d, &self.device)?;
                let hits = predicted
                    .iter()
                    .zip(labels)
                    .filter(|(p, l)| **p == usize::from(**l))
                    .count();
                Some(hits as f64 / labels.len().max(1) as f64)
            }
            _ => None,
        };
        Ok(Method {
            name: name.to_string(),
            psnr,
            ssim,
            judge_agreement: agree,
        })
    }
}

/// The kNN distance weights and the pixels kept from the query: the known pixels for
/// inpainting; all pixels weighed and none kept (a projection) for noise.
fn knn_masks(case: Case, y: &Corrupted) -> (Vec<f32>, Vec<f32>) {
    if case.is_inpainting() {
        (y.known.clone(), y.known.clone())
    } else {
        (vec![1.0; y.known.len()], vec![0.0; y.known.len()])
    }
}
