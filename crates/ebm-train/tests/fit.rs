//! The one training loop: exact resume after a stop at any step, divergence recovery, the
//! wall-clock budget, the best model on validation, and refusals that protect a run.

use std::path::Path;

use ebm_core::burn::tensor::{Device, Tensor, TensorData};
use ebm_core::{MlpEnergy, MlpEnergyConfig, SeededRng};
use ebm_train::{
    Fit, FitConfig, FnBatches, InitDistribution, Interrupt, Learner, NegativeConfig, OnDivergence,
    OptimizerConfig, RunDir, SamplerConfig, StepMetrics, Stopped, TrainConfig, TrainError, Trainer,
};

type Cd = Trainer<2, MlpEnergy>;

fn config(seed: u64) -> TrainConfig {
    TrainConfig {
        seed,
        batch_size: 8,
        alpha: 0.1,
        data_noise: 0.01,
        sampler_steps: 4,
        sampler: SamplerConfig::Sgld {
            step_size: 0.1,
            noise: 0.05,
            grad_clip: Some(1.0),
            domain: Some((-4.0, 4.0)),
        },
        negatives: NegativeConfig::Persistent {
            capacity: 32,
            reinit_prob: 0.05,
            reinit_noise: 0.0,
        },
        init: InitDistribution::Uniform { lo: -4.0, hi: 4.0 },
        optimizer: OptimizerConfig {
            lr: 1e-3,
            beta1: 0.0,
            beta2: 0.999,
            lr_decay_every: None,
            lr_decay: 1.0,
            grad_clip_norm: Some(1.0),
        },
        checkpoint_every: 3,
    }
}

fn trainer(seed: u64) -> Cd {
    let model = MlpEnergyConfig::new(2)
        .with_hidden(vec![8])
        .init(&Device::flex().autodiff(), seed)
        .unwrap();
    Trainer::new(model, config(seed), &[2]).unwrap()
}

/// 40 points of a shifted Gaussian: 5 batches of 8 per epoch.
fn data() -> Vec<f32> {
    let mut rng = SeededRng::new(5);
    (0..80)
        .map(|_| (rng.normal_f64() * 0.5 + 1.0) as f32)
        .collect()
}

fn batch(data: &[f32], idx: &[usize]) -> Result<Tensor<2>, TrainError> {
    let v: Vec<f32> = idx
        .iter()
        .flat_map(|&i| [data[2 * i], data[2 * i + 1]])
        .collect();
    Ok(Tensor::from_data(
        TensorData::new(v, [idx.len(), 2]),
        &Device::flex(),
    ))
}

fn fit_config(epochs: usize) -> FitConfig {
    let mut f = FitConfig::new(3, 8, epochs);
    f.checkpoint_every = 3;
    f
}

/// Runs the loop on `learner` in `dir` with `fit`.
fn run<L: Learner<Batch = Tensor<2>>>(
    learner: &mut L,
    dir: &RunDir,
    fit: FitConfig,
    resume: bool,
) -> Result<ebm_train::FitOutcome, TrainError> {
    let data = data();
    let batches = FnBatches::new(40, |idx: &[usize]| batch(&data, idx));
    Fit::new(dir, fit)
        .resume(resume)
        .progress(false)
        .run(learner, &batches)
}

fn weights(dir: &Path) -> Vec<u8> {
    let store = ebm_train::CheckpointStore::new(dir.join("checkpoints"));
    let latest = store.latest().unwrap();
    let mut bytes = std::fs::read(latest.join("model.bpk")).unwrap();
    bytes.extend(std::fs::read(latest.join("buffer.f32")).unwrap());
    bytes
}

/// The losses of `metrics.jsonl`, step by step.
fn losses(dir: &RunDir) -> Vec<(u64, f64)> {
    ebm_train::MetricsLog::read(&dir.metrics_path())
        .unwrap()
        .iter()
        .map(|l| (l["step"].as_u64().unwrap(), l["loss"].as_f64().unwrap()))
        .collect()
}

#[test]
fn a_run_stopped_at_any_step_and_resumed_is_the_uninterrupted_run() {
    let tmp = tempfile::tempdir().unwrap();
    let straight = RunDir::new(tmp.path().join("straight"));
    let out = run(&mut trainer(1), &straight, fit_config(3), false).unwrap();
    assert_eq!((out.state.step, out.stopped), (15, Stopped::Finished));
    let expected = weights(straight.root());
    let expected_losses = losses(&straight);
    assert_eq!(expected_losses.len(), 15);
    // Stop after step k (a step limit ends with a checkpoint), then kill the newest checkpoint
    // when it is not a scheduled one: the run resumes from the one before and replays.
    for k in [1, 4, 5, 7, 11] {
        let dir = RunDir::new(tmp.path().join(format!("stop-{k}")));
        let mut fit = fit_config(3);
        fit.max_steps = Some(k);
        run(&mut trainer(1), &dir, fit, false).unwrap();
        if k % 3 != 0 && k % 5 != 0 {
            let latest = dir.checkpoints().latest().unwrap();
            std::fs::remove_dir_all(&latest).unwrap();
        }
        // A fresh trainer with other weights: resume replaces everything.
        let out = run(&mut trainer(77), &dir, fit_config(3), true).unwrap();
        assert_eq!(out.state.step, 15, "k = {k}");
        assert_eq!(weights(dir.root()), expected, "k = {k}");
        assert_eq!(losses(&dir), expected_losses, "k = {k}");
    }
}

#[test]
fn a_fresh_run_over_checkpoints_and_a_resume_without_any_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = RunDir::new(tmp.path().join("r"));
    let err = run(&mut trainer(1), &dir, fit_config(1), true).unwrap_err();
    assert!(err.to_string().contains("no checkpoint"), "{err}");
    run(&mut trainer(1), &dir, fit_config(1), false).unwrap();
    let err = run(&mut trainer(1), &dir, fit_config(1), false).unwrap_err();
    assert!(err.to_string().contains("--resume"), "{err}");
}

/// The CD trainer, with a NaN batch injected at one step the first `times` it is reached.
struct Poisoned {
    inner: Cd,
    at_step: usize,
    times: usize,
}

impl Learner for Poisoned {
    type Batch = Tensor<2>;
    type Metrics = StepMetrics;

    fn step(&mut self, batch: Tensor<2>) -> Result<StepMetrics, TrainError> {
        if self.inner.steps_done() + 1 == self.at_step && self.times > 0 {
            self.times -= 1;
            let nan =
                Tensor::from_data(TensorData::new(vec![f32::NAN; 16], [8, 2]), &Device::flex());
            return self.inner.step(nan);
        }
        self.inner.step(batch)
    }
    fn save(&self, dir: &Path) -> Result<(), TrainError> {
        Learner::save(&self.inner, dir)
    }
    fn load(&mut self, dir: &Path) -> Result<(), TrainError> {
        Learner::load(&mut self.inner, dir)
    }
    fn scale_learning_rate(&mut self, factor: f64) -> Result<(), TrainError> {
        self.inner.scale_learning_rate(factor)
    }
    fn reseed(&mut self, salt: u64) -> Result<(), TrainError> {
        self.inner.reseed(salt)
    }
}

#[test]
fn a_divergence_stops_with_the_checkpoint_intact_or_is_survived_by_restoring() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = RunDir::new(tmp.path().join("stop"));
    let mut p = Poisoned {
        inner: trainer(1),
        at_step: 5,
        times: 1,
    };
    let err = run(&mut p, &dir, fit_config(2), false).unwrap_err();
    assert!(err.is_divergence(), "{err}");
    assert!(err.to_string().contains("step 5"), "{err}");
    // The last good checkpoint (step 3) loads, and the metrics stop at step 4.
    assert!(
        dir.checkpoints()
            .latest()
            .unwrap()
            .ends_with("step-00000003")
    );
    assert_eq!(losses(&dir).len(), 4);

    let dir = RunDir::new(tmp.path().join("restore"));
    let mut fit = fit_config(2);
    fit.on_divergence = OnDivergence::Restore { max_restores: 2 };
    let mut p = Poisoned {
        inner: trainer(1),
        at_step: 5,
        times: 1,
    };
    let out = run(&mut p, &dir, fit.clone(), false).unwrap();
    assert_eq!((out.state.step, out.state.restores), (10, 1));
    assert_eq!(p.inner.config().optimizer.lr, 0.5e-3, "halved once");
    let steps: Vec<u64> = losses(&dir).iter().map(|l| l.0).collect();
    assert_eq!(steps, (1..=10).collect::<Vec<_>>(), "no step logged twice");

    // More divergences than allowed restores: the run stops with the error.
    let dir = RunDir::new(tmp.path().join("exhausted"));
    let mut p = Poisoned {
        inner: trainer(1),
        at_step: 5,
        times: 3,
    };
    let err = run(&mut p, &dir, fit, false).unwrap_err();
    assert!(err.is_divergence(), "{err}");
}

#[test]
fn the_budget_stops_with_a_checkpoint_and_validation_keeps_the_best() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = RunDir::new(tmp.path().join("budget"));
    let mut fit = fit_config(3);
    fit.budget_seconds = Some(1e-9);
    let out = run(&mut trainer(1), &dir, fit, false).unwrap();
    assert_eq!((out.state.step, out.stopped), (1, Stopped::Budget));
    assert!(
        dir.checkpoints()
            .latest()
            .unwrap()
            .ends_with("step-00000001")
    );

    // Validation scores epoch 1 best: `best/` holds step 5 while training goes on to 15.
    let dir = RunDir::new(tmp.path().join("best"));
    let data = data();
    let batches = FnBatches::new(40, |idx: &[usize]| batch(&data, idx));
    let mut scores = vec![3.0, 1.0, 2.0].into_iter();
    let out = Fit::new(&dir, fit_config(3))
        .progress(false)
        .validate(move |_: &Cd| Ok(scores.next().unwrap()))
        .run(&mut trainer(1), &batches)
        .unwrap();
    assert_eq!(out.state.best.map(|b| (b.step, b.score)), Some((5, 3.0)));
    assert!(dir.best().latest().unwrap().ends_with("step-00000005"));

    // Ctrl-C (here raised by the epoch hook) finishes the step and checkpoints.
    let dir = RunDir::new(tmp.path().join("interrupt"));
    let flag = Interrupt::new();
    let raise = flag.clone();
    let out = Fit::new(&dir, fit_config(3))
        .progress(false)
        .interrupt(flag)
        .on_epoch(move |_: &Cd, _| {
            raise.request();
            Ok(())
        })
        .run(&mut trainer(1), &batches)
        .unwrap();
    assert_eq!((out.state.step, out.stopped), (5, Stopped::Interrupted));
}
