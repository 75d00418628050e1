//! RBM training by CD-1 and PCD on draws of a known "teacher" RBM, scored by the exact
//! log-likelihood (log Z by enumeration), and exact resume from a checkpoint.

use ebm_core::burn::module::Module;
use ebm_core::burn::tensor::{Device, Tensor, TensorData};
use ebm_core::rbm::log_z_exact;
use ebm_core::{BaseRateRbm, Energy, Rbm, RbmParams, SeededRng};
use ebm_train::{RbmTrainConfig, RbmTrainer};

const NV: usize = 8;

/// The teacher: 8 visible and 3 hidden units, hidden unit `j` switching on the visibles
/// `i = j mod 3` (weights 4, visible bias -2, hidden bias -7: each on with probability ~0.27): strongly correlated blocks.
fn teacher() -> RbmParams {
    RbmParams {
        n_visible: NV,
        n_hidden: 3,
        weights: (0..NV * 3)
            .map(|k| if (k / 3) % 3 == k % 3 { 4.0 } else { 0.0 })
            .collect(),
        visible_bias: vec![-2.0; NV],
        hidden_bias: vec![-7.0; 3],
    }
}

/// `n` exact draws of the teacher, by inverting the cumulative distribution over its 256 visible
/// states.
fn teacher_draws(n: usize, seed: u64) -> Vec<f32> {
    let p = teacher();
    let bits = |s: usize| (0..NV).map(|i| ((s >> i) & 1) as f64).collect::<Vec<_>>();
    let w: Vec<f64> = (0..1 << NV)
        .map(|s| (-p.free_energy(&bits(s))).exp())
        .collect();
    let total: f64 = w.iter().sum();
    let mut rng = SeededRng::new(seed);
    let mut out = Vec::with_capacity(n * NV);
    for _ in 0..n {
        let mut u = rng.uniform_f64() * total;
        let mut s = 0;
        while s + 1 < w.len() && u >= w[s] {
            u -= w[s];
            s += 1;
        }
        out.extend(bits(s).into_iter().map(|x| x as f32));
    }
    out
}

fn tensor(v: &[f32], device: &Device) -> Tensor<2> {
    Tensor::from_data(TensorData::new(v.to_vec(), [v.len() / NV, NV]), device)
}

/// Mean exact log-likelihood `mean(-F(v)) - log Z` and its standard error.
fn log_lik(rbm: &Rbm, data: &[f32], device: &Device) -> (f64, f64) {
    let rbm = rbm.valid();
    let log_z = log_z_exact(&rbm).unwrap();
    let f: Vec<f64> = rbm
        .energy(tensor(data, device))
        .into_data()
        .try_to_vec::<f32>()
        .unwrap()
        .into_iter()
        .map(|x| -f64::from(x) - log_z)
        .collect();
    let n = f.len() as f64;
    let m = f.iter().sum::<f64>() / n;
    let sd = (f.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    (m, sd / n.sqrt())
}

fn config(persistent: bool) -> RbmTrainConfig {
    RbmTrainConfig {
        seed: 3,
        n_hidden: 4,
        batch_size: 50,
        gibbs_steps: 1,
        persistent,
        lr: 0.02,
        weight_decay: 0.0,
        init_sd: 0.01,
    }
}

#[test]
fn cd_and_pcd_learn_the_teacher_beyond_independent_units() {
    let device = Device::flex();
    let train = teacher_draws(2000, 2);
    let held = teacher_draws(2000, 3);
    // The independent-units model of the training data: its held-out log-likelihood in closed form.
    let base = BaseRateRbm::from_data(&train, NV, 1.0, &device).unwrap();
    let base_ll: Vec<f64> = base
        .energy(tensor(&held, &device))
        .into_data()
        .try_to_vec::<f32>()
        .unwrap()
        .into_iter()
        .map(|e| -f64::from(e) - base.log_z())
        .collect();
    let base_ll = base_ll.iter().sum::<f64>() / base_ll.len() as f64;
    let (truth, _) = log_lik(
        &Rbm::from_params(&teacher(), &device).unwrap(),
        &held,
        &device,
    );
    println!("teacher's own held-out log-likelihood {truth:.3}");
    for persistent in [false, true] {
        let mut t = RbmTrainer::new(NV, config(persistent), None, &device).unwrap();
        let (before, _) = log_lik(t.model(), &held, &device);
        for epoch in 0..15 {
            for b in 0..40 {
                let _ = epoch;
                t.step(tensor(&train[b * 50 * NV..(b + 1) * 50 * NV], &device))
                    .unwrap();
            }
        }
        let (after, se) = log_lik(t.model(), &held, &device);
        println!(
            "{}: held-out log-likelihood {before:.3} -> {after:.3} ± {se:.3}; independent units {base_ll:.3}",
            t.config().method()
        );
        // The same held-out draws score all three models, so the paired differences are far
        // less noisy than `se`; a learned RBM must beat the independent-units model by more
        // than 3 standard errors of the mean.
        assert!(after > before + 3.0 * se);
        assert!(after > base_ll + 3.0 * se, "{after} vs {base_ll}");
    }
}

#[test]
fn resume_from_a_checkpoint_reproduces_the_uninterrupted_run() {
    let device = Device::flex();
    let data = teacher_draws(500, 4);
    let batch = |i: usize| tensor(&data[(i % 10) * 50 * NV..((i % 10) + 1) * 50 * NV], &device);
    let mut a = RbmTrainer::new(NV, config(true), None, &device).unwrap();
    for i in 0..5 {
        a.step(batch(i)).unwrap();
    }
    let dir = std::env::temp_dir().join(format!("ebm-rbm-resume-{}", std::process::id()));
    a.save(&dir).unwrap();
    let mut b = RbmTrainer::resume(&dir, &device).unwrap();
    assert_eq!(b.steps_done(), 5);
    for i in 5..10 {
        let ma = a.step(batch(i)).unwrap();
        let mb = b.step(batch(i)).unwrap();
        assert_eq!(ma.free_energy_data, mb.free_energy_data);
        assert_eq!(ma.free_energy_model, mb.free_energy_model);
    }
    assert_eq!(a.model().valid().params(), b.model().valid().params());
    let latest = ebm_train::CheckpointStore::new(&dir).latest().unwrap();
    let loaded = ebm_train::load_rbm(&latest, &device).unwrap();
    assert_eq!(loaded.n_hidden(), 4);
    assert!(RbmTrainer::resume(&dir.join("missing"), &device).is_err());
    let _ = std::fs::remove_dir_all(&dir);
}
