//! Noise-contrastive estimation recovers a known log density ratio, and a checkpoint resumes it
//! exactly.

use burn::module::Module;
use burn::tensor::{Device, Tensor, TensorData};
use ebm_core::{MlpEnergy, MlpEnergyConfig, SeededRng};
use ebm_train::{NceConfig, NceTrainer, NoiseSource, nce_loss};

/// `N(0, sd^2)` in one dimension.
struct Normal(f32);

impl NoiseSource for Normal {
    fn cols(&self) -> usize {
        1
    }
    fn sample(&self, n: usize, rng: &mut SeededRng) -> Vec<f32> {
        rng.normal_vec(n).into_iter().map(|z| z * self.0).collect()
    }
}

fn config(seed: u64) -> NceConfig {
    NceConfig {
        seed,
        noise_ratio: 1,
        lr: 3e-3,
        weight_decay: 0.0,
        grad_clip_norm: Some(10.0),
    }
}

/// Trains `f` by NCE with data from `data` and noise from `noise`; returns `f(x) - f(0)` at `xs`.
fn fit(data: &Normal, noise: Normal, steps: usize, seed: u64) -> Vec<f64> {
    let device = Device::flex().autodiff();
    let net = MlpEnergyConfig::new(1)
        .with_hidden(vec![32, 32])
        .init(&device, seed)
        .unwrap();
    let mut trainer = NceTrainer::new(net, noise, config(seed)).unwrap();
    let mut rng = SeededRng::new(seed + 100);
    for _ in 0..steps {
        let batch = data.sample(256, &mut rng);
        let x = Tensor::<2>::from_data(TensorData::new(batch, [256, 1]), &device);
        trainer.step(x).unwrap();
    }
    relative_f(&trainer.model().valid())
}

const XS: [f32; 4] = [-1.5, -0.75, 0.75, 1.5];

fn relative_f(model: &MlpEnergy) -> Vec<f64> {
    let device = Device::flex();
    let mut points = vec![0.0f32];
    points.extend(XS);
    let x = Tensor::<2>::from_data(TensorData::new(points, [5, 1]), &device);
    let f: Vec<f32> = model.forward(x).into_data().try_to_vec().unwrap();
    f[1..].iter().map(|&v| f64::from(v - f[0])).collect()
}

/// Data `N(0, 1)`, noise `N(0, 4)`: NCE's minimiser is `f = log q - log p = 3/8 x^2 - ln 2`, so
/// `f(x) - f(0) = 3/8 x^2` (0.21 and 0.84 at 0.75 and 1.5).
///
/// The tolerance, 0.12: over seeds 0..3 the spread of `f(1.5) - f(0)` was measured at about
/// 0.03 (SGD noise of 256-row batches), so 0.12 is four of those; the negative control below
/// (data and noise swapped, the wrong sign of the answer) misses by more than 1.
#[test]
fn nce_learns_the_log_density_ratio() {
    for seed in 0..2 {
        let got = fit(&Normal(1.0), Normal(2.0), 1500, seed);
        for (x, g) in XS.iter().zip(&got) {
            let want = 0.375 * f64::from(x * x);
            assert!(
                (g - want).abs() < 0.12,
                "seed {seed}: f({x}) - f(0) = {g}, want {want}"
            );
        }
    }
    // Negative control: the roles swapped learn -3/8 x^2, which the same check rejects.
    let wrong = fit(&Normal(2.0), Normal(1.0), 1500, 0);
    let want = 0.375 * 1.5f64 * 1.5;
    assert!((wrong[3] - want).abs() > 1.0, "{wrong:?}");
}

#[test]
fn host_loss_matches_the_definition() {
    // At f = -ln nu everywhere the logit is 0: each term is ln 2, so L = (1 + nu) ln 2.
    let ln2 = std::f64::consts::LN_2;
    assert!((nce_loss(&[-0.0; 3], &[-0.0; 3], 1) - 2.0 * ln2).abs() < 1e-12);
    let nu3 = -(3f64.ln());
    assert!((nce_loss(&[nu3; 2], &[nu3; 6], 3) - 4.0 * ln2).abs() < 1e-12);
}

#[test]
fn checkpoint_resumes_exactly() {
    let device = Device::flex().autodiff();
    let make = || {
        let net = MlpEnergyConfig::new(1)
            .with_hidden(vec![8])
            .init(&device, 3)
            .unwrap();
        NceTrainer::new(net, Normal(2.0), config(3)).unwrap()
    };
    let batch = |i: usize| {
        let v: Vec<f32> = SeededRng::new(i as u64).normal_vec(32);
        Tensor::<2>::from_data(TensorData::new(v, [32, 1]), &device)
    };
    let mut straight = make();
    for i in 0..6 {
        straight.step(batch(i)).unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let mut first = make();
    for i in 0..3 {
        first.step(batch(i)).unwrap();
    }
    first.save_to(dir.path()).unwrap();
    let mut resumed = make();
    resumed.load_from(dir.path()).unwrap();
    assert_eq!(resumed.steps_done(), 3);
    for i in 3..6 {
        resumed.step(batch(i)).unwrap();
    }
    assert_eq!(
        relative_f(&straight.model().valid()),
        relative_f(&resumed.model().valid())
    );
}
