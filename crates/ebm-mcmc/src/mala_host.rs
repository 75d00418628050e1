//! MALA on host memory: the CPU path of [`crate::mala`] for energies with a [`HostEnergy`].
//!
//! The batched tensor step is about fifteen element-wise passes over `[N, d]`, each a separate
//! tensor operation with its own allocation. Here the proposal is one pass and the acceptance
//! another, chain by chain on rayon's threads, around one host `energy_and_grad` call of the whole
//! batch. The random numbers are the tensor path's (the same draws from the same stream, in the
//! same order), so both paths make the same proposals and the same accept decisions up to float
//! rounding: the host path computes in `f64` per chain.

use burn::tensor::{Tensor, TensorData};
use ebm_core::{HostEnergy, SeededRng};
use rayon::prelude::*;

use crate::host_metric::ChainMetric;
use crate::kernel::{ChainState, StepInfo, StepSize};
use crate::mass::InverseMass;

/// Three rows of `d` scratch values, one set per rayon task, so that the per-chain passes
/// allocate nothing.
fn scratch(d: usize) -> impl Fn() -> [Vec<f64>; 3] + Sync + Send {
    move || [vec![0.0; d], vec![0.0; d], vec![0.0; d]]
}

/// `dst <- src` widened to `f64`.
fn widen(src: &[f32], dst: &mut [f64]) {
    dst.iter_mut()
        .zip(src)
        .for_each(|(d, s)| *d = f64::from(*s));
}

/// `x' = x - eps M^{-1} g + sqrt(2 eps) L z`, chain by chain.
fn propose(
    x: &[f32],
    g: &[f32],
    z: &[f32],
    d: usize,
    eps: &StepSize,
    mass: &InverseMass,
) -> Vec<f32> {
    let mut out = vec![0.0f32; x.len()];
    out.par_chunks_mut(d)
        .enumerate()
        .for_each_init(scratch(d), |[gi, noise, drift], (i, row)| {
            let (metric, h) = (ChainMetric::of(mass, i), eps.of_chain(i));
            let span = i * d..(i + 1) * d;
            widen(&g[span.clone()], gi);
            widen(&z[span.clone()], noise);
            metric.velocity(gi, drift);
            metric.noise(noise);
            let scale = (2.0 * h).sqrt();
            for (j, o) in row.iter_mut().enumerate() {
                *o = (f64::from(x[i * d + j]) - h * drift[j] + scale * noise[j]) as f32;
            }
        });
    out
}

/// `log alpha = E(x) - E(x') - |x - x' + eps M^{-1} g'|^2_M / (4 eps) + |z|^2 / 2` per chain.
fn log_alpha(
    (x, e): (&[f32], &[f32]),
    (xp, ep, gp): (&[f32], &[f32], &[f32]),
    z: &[f32],
    d: usize,
    eps: &StepSize,
    mass: &InverseMass,
) -> Vec<f64> {
    (0..e.len())
        .into_par_iter()
        .map_init(scratch(d), |[gi, v, back], i| {
            let (metric, h) = (ChainMetric::of(mass, i), eps.of_chain(i));
            let span = i * d..(i + 1) * d;
            widen(&gp[span.clone()], gi);
            metric.velocity(gi, v);
            for ((b, k), v) in back.iter_mut().zip(span.clone()).zip(v.iter()) {
                *b = f64::from(x[k]) - f64::from(xp[k]) + h * v;
            }
            let z2: f64 = z[span].iter().map(|v| f64::from(*v) * f64::from(*v)).sum();
            f64::from(e[i]) - f64::from(ep[i]) - metric.mass_norm2(back) / (4.0 * h) + 0.5 * z2
        })
        .collect()
}

/// One MALA step of every chain on host memory, or `None` when the state cannot be read as
/// `f32` or the energy rejects the batch (the caller then takes the tensor path, having drawn
/// nothing from `rng`).
pub(crate) fn step<const D: usize>(
    eps: &StepSize,
    mass: &InverseMass,
    energy: &dyn HostEnergy<D>,
    state: &ChainState<D>,
    rng: &mut SeededRng,
) -> Option<(ChainState<D>, StepInfo)> {
    let dims = state.position.dims();
    let n = dims[0];
    let x = state.position.try_to_vec_as::<f32>().ok()?;
    let d = x.len() / n.max(1);
    let (e, g) = match &state.grad {
        Some(g) => (
            state.energy.try_to_vec_as::<f32>().ok()?,
            g.try_to_vec_as::<f32>().ok()?,
        ),
        None => energy.energy_and_grad_host(&x, dims).ok()?,
    };
    // Draw from a copy, kept only once the energy has taken the proposals.
    let mut probe = rng.clone();
    let z = probe.normal_vec_parallel(x.len());
    let xp = propose(&x, &g, &z, d, eps, mass);
    let (ep, gp) = energy.energy_and_grad_host(&xp, dims).ok()?;
    *rng = probe;
    let log_alpha = log_alpha((&x, &e), (&xp, &ep, &gp), &z, d, eps, mass);
    let u = rng.uniform_vec(n, 0.0, 1.0);
    let accept_prob: Vec<f32> = log_alpha
        .iter()
        .map(|a| {
            if a.is_nan() {
                0.0
            } else {
                a.min(0.0).exp() as f32
            }
        })
        .collect();
    let accepted: Vec<bool> = u.iter().zip(&accept_prob).map(|(u, p)| u < p).collect();
    let pick = |cur: &[f32], new: &[f32], width: usize| -> Vec<f32> {
        let mut out = cur.to_vec();
        for (i, _) in accepted.iter().enumerate().filter(|(_, a)| **a) {
            out[i * width..(i + 1) * width].copy_from_slice(&new[i * width..(i + 1) * width]);
        }
        out
    };
    let device = state.position.device();
    let tensor = |v: Vec<f32>| Tensor::<D>::from_data(TensorData::new(v, dims), &device);
    let vector = |v: Vec<f32>| Tensor::<1>::from_data(TensorData::new(v, [n]), &device);
    let next = ChainState {
        position: tensor(pick(&x, &xp, d)),
        energy: vector(pick(&e, &ep, 1)),
        grad: Some(tensor(pick(&g, &gp, d))),
    };
    let info = StepInfo {
        accepted: vector(accepted.iter().map(|a| *a as u8 as f32).collect()).greater_elem(0.5),
        accept_prob: vector(accept_prob),
    };
    Some((next, info))
}

#[cfg(test)]
mod tests {
    use burn::tensor::{Device, Tensor};
    use ebm_core::{Banana, Energy, SeededRng};

    use crate::kernel::{Kernel, StepSize};
    use crate::mala::Mala;
    use crate::mass::InverseMass;

    /// The banana without its host path.
    struct TensorOnly(Banana);

    impl Energy<2> for TensorOnly {
        fn energy(&self, x: Tensor<2>) -> Tensor<1> {
            self.0.energy(x)
        }

        fn energy_and_grad(&self, x: Tensor<2>) -> (Tensor<1>, Tensor<2>) {
            self.0.energy_and_grad(x)
        }
    }

    /// Same seed, same proposals and decisions: five steps of the host path and of the tensor
    /// path end at the same positions (to float rounding), with the identity, a per-chain
    /// diagonal and a dense mass, and per-chain step sizes.
    #[test]
    fn host_and_tensor_paths_make_the_same_moves() {
        let device = Device::flex();
        let banana = Banana::new(3, 0.1, &device).unwrap();
        let x0 = banana.sample(16, &mut SeededRng::new(1));
        let dense = vec![4.0, 0.5, 0.0, 0.5, 1.0, 0.2, 0.0, 0.2, 0.5];
        let masses = [
            InverseMass::Identity,
            InverseMass::per_chain_diagonal(16, (0..48).map(|k| 0.5 + (k % 5) as f64).collect())
                .unwrap(),
            InverseMass::dense(3, dense).unwrap(),
        ];
        let eps = StepSize::PerChain((0..16).map(|i| 0.05 + 0.02 * i as f64).collect());
        for mass in masses {
            let k = Mala::new(eps.clone())
                .unwrap()
                .with_inverse_mass(mass.clone());
            let tensor_only = TensorOnly(banana.clone());
            let (mut a, mut b) = (
                k.init(&banana, x0.clone()),
                k.init(&tensor_only, x0.clone()),
            );
            let (mut ra, mut rb) = (SeededRng::new(2), SeededRng::new(2));
            let mut moves = 0;
            for _ in 0..5 {
                let (na, ia) = k.step(&banana, a, &mut ra);
                let (nb, ib) = k.step(&tensor_only, b, &mut rb);
                let read = |t: Tensor<1, burn::tensor::Bool>| -> Vec<bool> {
                    t.into_data().try_to_vec::<bool>().unwrap()
                };
                let acc = read(ia.accepted);
                assert_eq!(acc, read(ib.accepted), "{mass:?}");
                moves += acc.iter().filter(|a| **a).count();
                (a, b) = (na, nb);
            }
            let dx = (a.position - b.position).abs().max().into_scalar::<f32>();
            let de = (a.energy - b.energy).abs().max().into_scalar::<f32>();
            assert!(
                dx < 1e-4 && de < 1e-3,
                "{mass:?}: positions {dx}, energies {de}"
            );
            assert!(moves > 10 && moves < 80, "{mass:?}: {moves} of 80 accepted");
            assert_eq!(ra, rb, "both paths draw the same numbers");
        }
    }
}
