//! Contrastive divergence: the gradient's sign and fixed point, checkpoints and resume,
//! divergence handling.

use ebm_core::burn;
use ebm_core::burn::module::{Module, Param};
use ebm_core::burn::optim::{AdamConfig, GradientsParams};
use ebm_core::burn::tensor::{Device, Tensor, TensorData};
use ebm_core::{Energy, MlpEnergy, MlpEnergyConfig, SeededRng};
use ebm_train::{
    InitDistribution, MetricsLog, NegativeConfig, OptimizerConfig, SamplerConfig, StepMetrics,
    StepRecord, TrainConfig, TrainError, Trainer, contrastive_loss,
};

/// `E(x) = 1/2 (x - m)^2 e^{-s} + s/2`: a 1-D Gaussian with learnable mean `m` and log-variance `s`.
#[derive(Module, Debug)]
struct LearnableGaussian {
    mean: Param<Tensor<1>>,
    log_var: Param<Tensor<1>>,
}

impl Energy<2> for LearnableGaussian {
    fn energy(&self, x: Tensor<2>) -> Tensor<1> {
        let [n, _] = x.dims();
        let m = self.mean.val().reshape([1, 1]);
        let s = self.log_var.val().reshape([1, 1]);
        ((x - m).powi_scalar(2) * s.clone().neg().exp() * 0.5 + s * 0.5).reshape([n])
    }
}

fn scalar(t: Tensor<1>) -> f64 {
    t.into_data().try_to_vec_as::<f64>().unwrap()[0]
}

#[test]
fn cd_with_exact_samples_converges_to_the_data_mean_and_variance() {
    let plain = Device::flex();
    let device = plain.clone().autodiff();
    let mut rng = SeededRng::new(1);
    // Data: 2,000 draws of N(2, 0.5^2). CD's fixed point with exact negatives is the maximum-
    // likelihood fit, i.e. the sample mean and the (biased) sample variance.
    let n = 2000;
    let data: Vec<f32> = rng.normal_vec(n).iter().map(|z| 2.0 + 0.5 * z).collect();
    let mean = data.iter().map(|&x| x as f64).sum::<f64>() / n as f64;
    let var = data.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / n as f64;
    let x_pos = Tensor::<2>::from_data(TensorData::new(data, [n, 1]), &plain);
    let mut model = LearnableGaussian {
        mean: Param::from_tensor(Tensor::from_floats([0.0], &device)),
        log_var: Param::from_tensor(Tensor::from_floats([0.0], &device)),
    };
    let mut optim = AdamConfig::new().init();
    let (mut m_avg, mut v_avg, mut count) = (0.0, 0.0, 0.0);
    let steps = 600;
    for step in 0..steps {
        let m = scalar(model.mean.val().inner());
        let s = scalar(model.log_var.val().inner());
        // Exact draws from the current model N(m, e^s).
        let neg: Vec<f32> = rng
            .normal_vec(n)
            .iter()
            .map(|z| (m + (s / 2.0).exp() * *z as f64) as f32)
            .collect();
        let x_neg = Tensor::<2>::from_data(TensorData::new(neg, [n, 1]), &plain);
        let (loss, _, _) = contrastive_loss(model.energy(x_pos.clone()), model.energy(x_neg), 0.0);
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        let lr = if step < 400 { 0.05 } else { 0.005 };
        model = optim.step(lr, model, grads);
        if step >= steps - 100 {
            m_avg += scalar(model.mean.val().inner());
            v_avg += scalar(model.log_var.val().inner()).exp();
            count += 1.0;
        }
    }
    let (m_fit, v_fit) = (m_avg / count, v_avg / count);
    // Each gradient uses n exact negatives, so the stochastic part of the fit has the scale of
    // the Monte-Carlo error of n draws: sd(mean) = sqrt(var / n), sd(var) = var sqrt(2 / n).
    let (se_m, se_v) = ((var / n as f64).sqrt(), var * (2.0 / n as f64).sqrt());
    assert!(
        (m_fit - mean).abs() < 4.0 * se_m,
        "mean {m_fit} vs data {mean} (se {se_m})"
    );
    assert!(
        (v_fit - var).abs() < 4.0 * se_v,
        "variance {v_fit} vs data {var} (se {se_v})"
    );
}

/// A small persistent-CD config on 2-D data.
fn small_config(seed: u64) -> TrainConfig {
    TrainConfig {
        seed,
        batch_size: 16,
        alpha: 0.1,
        data_noise: 0.01,
        sampler_steps: 5,
        sampler: SamplerConfig::Sgld {
            step_size: 0.1,
            noise: 0.05,
            grad_clip: Some(1.0),
            domain: Some((-4.0, 4.0)),
        },
        negatives: NegativeConfig::Persistent {
            capacity: 64,
            reinit_prob: 0.05,
            reinit_noise: 0.0,
        },
        init: InitDistribution::Uniform { lo: -4.0, hi: 4.0 },
        optimizer: OptimizerConfig {
            lr: 1e-3,
            beta1: 0.0,
            beta2: 0.999,
            lr_decay_every: Some(4),
            lr_decay: 0.5,
            grad_clip_norm: Some(1.0),
        },
        checkpoint_every: 3,
    }
}

fn model(seed: u64) -> MlpEnergy {
    MlpEnergyConfig::new(2)
        .with_hidden(vec![16, 16])
        .init(&Device::flex().autodiff(), seed)
        .unwrap()
}

fn batches(count: usize) -> Vec<Tensor<2>> {
    let mut rng = SeededRng::new(99);
    (0..count)
        .map(|_| rng.normal([16, 2], &Device::flex()) * 0.5 + 1.0)
        .collect()
}

fn params(m: &MlpEnergy) -> Vec<f32> {
    let mut out = Vec::new();
    for layer in m.hidden.iter().chain(std::iter::once(&m.output)) {
        out.extend(
            layer
                .weight
                .val()
                .into_data()
                .try_to_vec_as::<f32>()
                .unwrap(),
        );
        out.extend(
            layer
                .bias
                .as_ref()
                .unwrap()
                .val()
                .into_data()
                .try_to_vec_as::<f32>()
                .unwrap(),
        );
    }
    out
}

fn temp_dir(tag: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("ebm-train-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn resume_reproduces_an_uninterrupted_run() {
    let data = batches(6);
    let mut straight = Trainer::<2, _>::new(model(5), small_config(7), &[2]).unwrap();
    for b in &data {
        straight.step(b.clone()).unwrap();
    }

    let dir = temp_dir("resume");
    let mut first = Trainer::<2, _>::new(model(5), small_config(7), &[2]).unwrap();
    for b in &data[..3] {
        first.step(b.clone()).unwrap();
    }
    first.save_checkpoint(&dir).unwrap();
    drop(first);
    // A fresh model with other weights: resume must replace them.
    let mut resumed = Trainer::<2, MlpEnergy>::resume(model(123), &dir).unwrap();
    assert_eq!(resumed.steps_done(), 3);
    for b in &data[3..] {
        resumed.step(b.clone()).unwrap();
    }
    assert_eq!(params(straight.model()), params(resumed.model()));
    assert_eq!(straight.buffer(), resumed.buffer());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn checkpoints_keep_the_two_newest_and_point_at_the_last() {
    let dir = temp_dir("keep");
    let mut t = Trainer::<2, _>::new(model(1), small_config(1), &[2]).unwrap();
    for b in batches(4) {
        t.step(b).unwrap();
        t.save_checkpoint(&dir).unwrap();
    }
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with("step-"))
        .collect();
    names.sort();
    assert_eq!(names, vec!["step-00000003", "step-00000004"]);
    assert_eq!(
        std::fs::read_to_string(dir.join("latest")).unwrap(),
        "step-00000004"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn missing_or_corrupt_checkpoints_are_clear_errors() {
    let dir = temp_dir("corrupt");
    let err = Trainer::<2, MlpEnergy>::resume(model(0), &dir)
        .err()
        .unwrap();
    assert!(
        err.to_string().contains("no checkpoint to resume from"),
        "{err}"
    );

    let mut t = Trainer::<2, _>::new(model(1), small_config(1), &[2]).unwrap();
    t.step(batches(1).remove(0)).unwrap();
    let ckpt = t.save_checkpoint(&dir).unwrap();
    std::fs::write(ckpt.join("model.bpk"), b"not a model").unwrap();
    let err = Trainer::<2, MlpEnergy>::resume(model(0), &dir)
        .err()
        .unwrap();
    assert!(
        matches!(&err, TrainError::Checkpoint { path, .. } if path.ends_with("model.bpk")),
        "{err}"
    );

    // A second save of the same step goes beside the first, and `latest` points at it.
    let ckpt = t.save_checkpoint(&dir).unwrap();
    let wrong = MlpEnergyConfig::new(2)
        .with_hidden(vec![8])
        .init(&Device::flex().autodiff(), 0)
        .unwrap();
    let err = Trainer::<2, MlpEnergy>::resume(wrong, &dir).err().unwrap();
    assert!(err.to_string().contains("does not fit this model"), "{err}");

    std::fs::write(ckpt.join("state.json"), b"{").unwrap();
    let err = Trainer::<2, MlpEnergy>::resume(model(0), &dir)
        .err()
        .unwrap();
    assert!(err.to_string().contains("state.json"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_nan_loss_stops_with_an_error_and_leaves_the_checkpoint_intact() {
    let dir = temp_dir("nan");
    let mut t = Trainer::<2, _>::new(model(2), small_config(2), &[2]).unwrap();
    t.step(batches(1).remove(0)).unwrap();
    t.save_checkpoint(&dir).unwrap();
    let before = params(t.model());
    let bad = Tensor::<2>::from_data(
        TensorData::new(vec![f32::NAN; 32], [16, 2]),
        &Device::flex(),
    );
    let err = t.step(bad).unwrap_err();
    assert!(
        matches!(err, TrainError::NonFinite { step: 2, .. }),
        "{err}"
    );
    assert_eq!(params(t.model()), before, "no update after a NaN loss");
    let resumed = Trainer::<2, MlpEnergy>::resume(model(0), &dir).unwrap();
    assert_eq!(params(resumed.model()), before);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_settings_and_batches_are_errors() {
    let mut c = small_config(0);
    c.batch_size = 0;
    assert!(matches!(
        Trainer::<2, _>::new(model(0), c, &[2]),
        Err(TrainError::Config { .. })
    ));
    let mut c = small_config(0);
    c.negatives = NegativeConfig::Persistent {
        capacity: 4,
        reinit_prob: 0.05,
        reinit_noise: 0.0,
    };
    let err = Trainer::<2, _>::new(model(0), c, &[2]).err().unwrap();
    assert!(err.to_string().contains("negatives.capacity"), "{err}");
    let mut t = Trainer::<2, _>::new(model(0), small_config(0), &[2]).unwrap();
    let err = t.step(Tensor::zeros([4, 3], &Device::flex())).unwrap_err();
    assert!(matches!(err, TrainError::Batch { .. }), "{err}");
}

#[test]
fn metrics_log_drops_lines_past_the_resumed_step() {
    let dir = temp_dir("metrics");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("metrics.jsonl");
    let mut log = MetricsLog::open(&path, None).unwrap();
    for step in 1..=5 {
        let values = StepMetrics {
            loss: 0.0,
            e_pos: 0.0,
            e_neg: 0.0,
            acceptance: None,
            grad_norm: 0.0,
            lr: 0.1,
        };
        log.write(&StepRecord {
            step,
            epoch: 1,
            seconds: 0.0,
            values,
        })
        .unwrap();
    }
    drop(log);
    MetricsLog::open(&path, Some(3)).unwrap();
    let steps: Vec<u64> = MetricsLog::read(&path)
        .unwrap()
        .iter()
        .map(|m| m["step"].as_u64().unwrap())
        .collect();
    assert_eq!(steps, vec![1, 2, 3]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn every_negative_source_and_kernel_trains_a_step() {
    let samplers = [
        SamplerConfig::Ula { eps: 0.01 },
        SamplerConfig::Mala { eps: 0.01 },
        SamplerConfig::Hmc {
            eps: 0.05,
            leapfrog: 3,
            jitter: 0.0,
        },
        SamplerConfig::Rwm { sigma: 0.1 },
    ];
    let sources = [NegativeConfig::CdK, NegativeConfig::ShortRun];
    for (sampler, negatives) in samplers.iter().zip(sources.iter().cycle()) {
        let mut c = small_config(3);
        c.sampler = *sampler;
        c.negatives = negatives.clone();
        let mut t = Trainer::<2, _>::new(model(3), c, &[2]).unwrap();
        let m = t.step(batches(1).remove(0)).unwrap();
        assert_eq!(m.acceptance.is_some(), sampler.is_adjusted(), "{sampler:?}");
        let acc = m.acceptance.unwrap_or(1.0);
        assert!(
            (0.0..=1.0).contains(&acc) && m.loss.is_finite() && m.grad_norm > 0.0,
            "{sampler:?}: {m:?}"
        );
    }
}

/// The CNN energy with only `energy` implemented, so training takes burn's autodiff path.
#[derive(Module, Debug)]
struct AutodiffCnn {
    inner: ebm_core::CnnEnergy,
}

impl Energy<4> for AutodiffCnn {
    fn energy(&self, x: Tensor<4>) -> Tensor<1> {
        self.inner.energy(x)
    }
}

/// On the CPU the CNN's training step takes its hand-derived parameter gradient
/// (`HostEnergy::weighted_param_grads`); three steps of it reach the same parameters and losses as
/// three steps of burn's autodiff on the same model, seed and data.
#[test]
fn host_cnn_parameter_gradient_trains_like_autodiff() {
    let device = Device::flex();
    let cnn = || {
        ebm_core::CnnEnergyConfig::new()
            .with_hidden(8)
            .init(&device.clone().autodiff(), 5)
            .unwrap()
    };
    let mut config = TrainConfig::uva_images();
    config.batch_size = 6;
    config.sampler_steps = 3;
    config.negatives = NegativeConfig::Persistent {
        capacity: 32,
        reinit_prob: 0.05,
        reinit_noise: 0.0,
    };
    config.optimizer.lr = 1e-3;
    let mut host = Trainer::<4, _>::new(cnn(), config.clone(), &[1, 28, 28]).unwrap();
    let mut tape =
        Trainer::<4, _>::new(AutodiffCnn { inner: cnn() }, config, &[1, 28, 28]).unwrap();
    let mut rng = SeededRng::new(6);
    for _ in 0..3 {
        let data = rng.uniform([6, 1, 28, 28], -1.0, 1.0, &device);
        let (a, b) = (host.step(data.clone()).unwrap(), tape.step(data).unwrap());
        for (what, x, y) in [
            ("loss", a.loss, b.loss),
            ("E+", a.e_pos, b.e_pos),
            ("E-", a.e_neg, b.e_neg),
        ] {
            assert!(
                (x - y).abs() <= 1e-4 * (1.0 + y.abs()),
                "{what}: host {x} vs autodiff {y}"
            );
        }
        assert!(
            (a.grad_norm - b.grad_norm).abs() <= 1e-4 * b.grad_norm,
            "gradient norms differ"
        );
    }
    let flat = |m: &ebm_core::CnnEnergy| -> Vec<f32> {
        let mut v = Vec::new();
        for c in &m.convs {
            v.extend(c.weight.val().try_to_vec_as::<f32>().unwrap());
        }
        v.extend(m.hidden.weight.val().try_to_vec_as::<f32>().unwrap());
        v.extend(m.output.weight.val().try_to_vec_as::<f32>().unwrap());
        v
    };
    let (p, q) = (flat(host.model()), flat(&tape.model().inner));
    let worst = p
        .iter()
        .zip(&q)
        .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
    // Three Adam steps of lr 1e-3 move each parameter by at most 3e-3; the paths agree far closer.
    assert!(worst < 1e-5, "largest parameter difference {worst:e}");
}
