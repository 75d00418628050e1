//! Block Gibbs sampling of a tiny RBM against its exact distribution over the visible states.

use ebm_core::burn::tensor::{Device, Tensor};
use ebm_core::rbm::log_z_exact;
use ebm_core::{Rbm, RbmParams, SeededRng};
use ebm_mcmc::{BlockGibbs, bernoulli};

#[test]
fn block_gibbs_draws_follow_the_exact_visible_distribution() {
    let device = Device::flex();
    let (nv, nh) = (4, 3);
    let mut rng = SeededRng::new(21);
    let mut draw = |n: usize| (0..n).map(|_| rng.normal_f64()).collect::<Vec<_>>();
    let p = RbmParams {
        n_visible: nv,
        n_hidden: nh,
        weights: draw(nv * nh),
        visible_bias: draw(nv),
        hidden_bias: draw(nh),
    };
    let rbm = Rbm::from_params(&p, &device).unwrap();
    let log_z = log_z_exact(&rbm).unwrap();
    // 4,000 independent chains from uniform noise, 30 sweeps each (this RBM mixes in a few).
    let chains = 4000;
    let mut rng = SeededRng::new(22);
    let start = bernoulli(Tensor::full([chains, nv], 0.5, &device), &mut rng);
    let v = BlockGibbs::new(30)
        .unwrap()
        .run(&rbm, start, &mut rng)
        .visible
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();
    let mut counts = [0usize; 16];
    for row in v.chunks(nv) {
        let s: usize = row
            .iter()
            .enumerate()
            .map(|(i, &x)| (x as usize) << i)
            .sum();
        counts[s] += 1;
    }
    // Pearson's statistic over the 16 states is chi-square with 15 degrees of freedom under the
    // exact distribution: mean 15, sd sqrt(30) ~ 5.5; P(X > 50) ~ 1e-5.
    let mut x2 = 0.0;
    for (s, &c) in counts.iter().enumerate() {
        let bits: Vec<f64> = (0..nv).map(|i| ((s >> i) & 1) as f64).collect();
        let expected = chains as f64 * (-p.free_energy(&bits) - log_z).exp();
        x2 += (c as f64 - expected).powi(2) / expected;
    }
    println!("chi-square over 16 visible states: {x2:.2} (15 degrees of freedom)");
    assert!(x2 < 50.0, "chi-square {x2}, counts {counts:?}");
    assert!(BlockGibbs::new(0).is_err());
}
