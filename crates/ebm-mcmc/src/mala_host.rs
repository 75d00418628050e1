//! MALA on host memory: the CPU path of [`crate::mala`] for energies with a [`HostEnergy`].
//!
//! The batched tensor step is about fifteen element-wise passes over `[N, d]`, each a separate
//! tensor operation with its own allocation. Here the step is one pass over chunks of chains on
//! rayon's threads: each chunk is proposed, evaluated by the host energy (its rows alone: a host
//! energy's rows are independent), given its acceptance probabilities and written out as the next
//! state while it is still in cache. The random numbers are the tensor path's (the same draws
//! from the same stream, in the same order), so both paths make the same proposals and the same
//! accept decisions up to float rounding: the host path computes in `f64` per chain.

use burn::tensor::{DType, Tensor, TensorData};
use ebm_core::{HostEnergy, SeededRng};
use rayon::prelude::*;

use crate::host_metric::ChainMetric;
use crate::kernel::{ChainState, StepInfo, StepSize};
use crate::mala_rows;
use crate::mass::InverseMass;

/// Chunks per thread: enough for rayon to balance them, few enough that each chunk's call of the
/// energy has rows to work on.
const CHUNKS_PER_THREAD: usize = 8;

/// Three rows of `d` scratch values, one set per rayon task, so that the per-chain work
/// allocates nothing.
fn scratch(d: usize) -> impl Fn() -> [Vec<f64>; 3] + Sync + Send {
    move || [vec![0.0; d], vec![0.0; d], vec![0.0; d]]
}

/// `dst <- src` widened to `f64`.
fn widen(src: &[f32], dst: &mut [f64]) {
    dst.iter_mut()
        .zip(src)
        .for_each(|(d, s)| *d = f64::from(*s));
}

/// The inverse mass as one step uses it: diagonal forms go through the SIMD rows of
/// [`mala_rows`], a dense one through [`ChainMetric`].
enum StepMetric<'a> {
    /// The identity or one diagonal for all chains: `v` and `sqrt(v)`, formed once per step.
    Shared { v: Vec<f64>, sqrt_v: Vec<f64> },
    /// One diagonal per chain, `[N, d]` (the square roots are taken chain by chain).
    PerChain { values: &'a [f64] },
    /// A dense inverse mass.
    Dense,
}

impl<'a> StepMetric<'a> {
    fn new(mass: &'a InverseMass, d: usize) -> Self {
        let shared = |v: Vec<f64>| Self::Shared {
            sqrt_v: v.iter().map(|v| v.sqrt()).collect(),
            v,
        };
        match mass {
            InverseMass::Identity => shared(vec![1.0; d]),
            InverseMass::Diagonal { rows: 1, values } => shared(values.clone()),
            InverseMass::Diagonal { values, .. } => Self::PerChain { values },
            InverseMass::Dense { .. } => Self::Dense,
        }
    }
}

/// One step's inputs: the current state on the host, its noise and uniforms, and the kernel's
/// step sizes and metric.
struct Moves<'a> {
    x: &'a [f32],
    e: &'a [f32],
    g: &'a [f32],
    z: &'a [f32],
    u: &'a [f32],
    d: usize,
    eps: &'a StepSize,
    mass: &'a InverseMass,
    metric: StepMetric<'a>,
}

/// The next state on the host, with each chain's acceptance probability.
struct Next {
    x: Vec<f32>,
    e: Vec<f32>,
    g: Vec<f32>,
    accept_prob: Vec<f32>,
}

impl Moves<'_> {
    /// Chain `i`'s diagonal `v` of `M^{-1}`; `None` for a dense metric.
    fn inverse_row(&self, i: usize) -> Option<&[f64]> {
        match &self.metric {
            StepMetric::Shared { v, .. } => Some(v),
            StepMetric::PerChain { values } => Some(&values[i * self.d..(i + 1) * self.d]),
            StepMetric::Dense => None,
        }
    }

    /// Chain `i`'s diagonal `v` and `sqrt(v)`, the latter formed in `sqrt_row` when per chain;
    /// `None` for a dense metric.
    fn diagonal<'s>(&'s self, i: usize, sqrt_row: &'s mut [f64]) -> Option<(&'s [f64], &'s [f64])> {
        let v = self.inverse_row(i)?;
        if let StepMetric::Shared { sqrt_v, .. } = &self.metric {
            return Some((v, sqrt_v));
        }
        sqrt_row.iter_mut().zip(v).for_each(|(s, v)| *s = v.sqrt());
        Some((v, sqrt_row))
    }

    /// Chain `i`'s proposal `x' = x - eps M^{-1} g + sqrt(2 eps) L z` into `out`.
    fn propose(&self, i: usize, out: &mut [f32], [gi, noise, drift]: &mut [Vec<f64>; 3]) {
        let h = self.eps.of_chain(i);
        let span = i * self.d..(i + 1) * self.d;
        let row = (
            &self.x[span.clone()],
            &self.g[span.clone()],
            &self.z[span.clone()],
        );
        if let Some(diagonal) = self.diagonal(i, gi) {
            return mala_rows::propose(row, diagonal, h, out);
        }
        let metric = ChainMetric::of(self.mass, i);
        widen(row.1, gi);
        widen(row.2, noise);
        metric.velocity(gi, drift);
        metric.noise(noise);
        let scale = (2.0 * h).sqrt();
        for ((o, x), (dr, nz)) in out
            .iter_mut()
            .zip(row.0)
            .zip(drift.iter().zip(noise.iter()))
        {
            *o = (f64::from(*x) - h * dr + scale * nz) as f32;
        }
    }

    /// Chain `i`'s `log alpha = E(x) - E(x') - |x - x' + eps M^{-1} g'|^2_M / (4 eps) + |z|^2 / 2`
    /// for the proposal `xp` with energy `ep` and gradient `gp`.
    fn log_alpha(
        &self,
        i: usize,
        (xp, ep, gp): (&[f32], f32, &[f32]),
        [gi, v, back]: &mut [Vec<f64>; 3],
    ) -> f64 {
        let h = self.eps.of_chain(i);
        let span = i * self.d..(i + 1) * self.d;
        let (x, z) = (&self.x[span.clone()], &self.z[span]);
        let (norm, z2) = match self.inverse_row(i) {
            Some(v) => mala_rows::log_alpha_sums((x, xp, gp), z, v, h),
            None => {
                let metric = ChainMetric::of(self.mass, i);
                widen(gp, gi);
                metric.velocity(gi, v);
                for ((b, (x, xp)), v) in back.iter_mut().zip(x.iter().zip(xp)).zip(v.iter()) {
                    *b = f64::from(*x) - f64::from(*xp) + h * v;
                }
                let z2: f64 = z.iter().map(|v| f64::from(*v) * f64::from(*v)).sum();
                (metric.mass_norm2(back), z2)
            }
        };
        f64::from(self.e[i]) - f64::from(ep) - norm / (4.0 * h) + 0.5 * z2
    }

    /// Proposes, evaluates and accepts or rejects the chains of one chunk, starting at chain
    /// `first`, writing the next state into the chunk's rows. `None` when the energy rejects the
    /// chunk.
    fn chunk<const D: usize>(
        &self,
        energy: &dyn HostEnergy<D>,
        mut dims: [usize; D],
        first: usize,
        (x, e, g, prob): (&mut [f32], &mut [f32], &mut [f32], &mut [f32]),
        rows: &mut [Vec<f64>; 3],
    ) -> Option<()> {
        let d = self.d;
        for (r, out) in x.chunks_exact_mut(d).enumerate() {
            self.propose(first + r, out, rows);
        }
        dims[0] = e.len();
        let (ep, gp) = energy.energy_and_grad_host(x, dims).ok()?;
        for r in 0..e.len() {
            let (i, row) = (first + r, r * d..(r + 1) * d);
            let a = self.log_alpha(i, (&x[row.clone()], ep[r], &gp[row.clone()]), rows);
            prob[r] = if a.is_nan() {
                0.0
            } else {
                a.min(0.0).exp() as f32
            };
            if self.u[i] < prob[r] {
                e[r] = ep[r];
                g[row.clone()].copy_from_slice(&gp[row]);
            } else {
                let at = i * d..(i + 1) * d;
                e[r] = self.e[i];
                x[row.clone()].copy_from_slice(&self.x[at.clone()]);
                g[row].copy_from_slice(&self.g[at]);
            }
        }
        Some(())
    }

    /// Every chain's move, chunk by chunk on rayon's threads.
    fn run<const D: usize>(&self, energy: &dyn HostEnergy<D>, dims: [usize; D]) -> Option<Next> {
        let (n, d) = (self.e.len(), self.d);
        let per = n
            .div_ceil(CHUNKS_PER_THREAD * rayon::current_num_threads())
            .max(1);
        let mut next = Next {
            x: vec![0.0; n * d],
            e: vec![0.0; n],
            g: vec![0.0; n * d],
            accept_prob: vec![0.0; n],
        };
        next.x
            .par_chunks_mut(per * d)
            .zip(next.g.par_chunks_mut(per * d))
            .zip(next.e.par_chunks_mut(per))
            .zip(next.accept_prob.par_chunks_mut(per))
            .enumerate()
            .map_init(scratch(d), |rows, (c, (((x, g), e), p))| {
                self.chunk(energy, dims, c * per, (x, e, g, p), rows)
            })
            .collect::<Option<Vec<()>>>()?;
        Some(next)
    }
}

/// A tensor's values, without a copy when the tensor holds its buffer alone (the caller has
/// checked that it is `f32`).
fn take<const K: usize>(t: Tensor<K>) -> Vec<f32> {
    t.into_data()
        .try_into_vec::<f32>()
        .unwrap_or_else(|e| unreachable!("an f32 tensor reads as f32: {e}"))
}

/// One MALA step of every chain on host memory. The state comes back unchanged (`Err`) when it
/// is not `f32` or the energy rejects the batch: the caller then takes the tensor path, and
/// nothing has been drawn from `rng`.
pub(crate) fn step<const D: usize>(
    eps: &StepSize,
    mass: &InverseMass,
    energy: &dyn HostEnergy<D>,
    state: ChainState<D>,
    rng: &mut SeededRng,
) -> Result<(ChainState<D>, StepInfo), Box<ChainState<D>>> {
    let f32s = [state.position.dtype(), state.energy.dtype()]
        .into_iter()
        .chain(state.grad.as_ref().map(|g| g.dtype()))
        .all(|t| t == DType::F32);
    if !f32s {
        return Err(Box::new(state));
    }
    let (dims, device) = (state.position.dims(), state.position.device());
    let n = dims[0];
    let tensor = |v: Vec<f32>| Tensor::<D>::from_data(TensorData::new(v, dims), &device);
    let vector = |v: Vec<f32>| Tensor::<1>::from_data(TensorData::new(v, [n]), &device);
    let x = take(state.position);
    let (e, g) = match state.grad {
        Some(g) => (take(state.energy), take(g)),
        None => match energy.energy_and_grad_host(&x, dims) {
            Ok(eg) => eg,
            Err(_) => {
                return Err(Box::new(ChainState {
                    position: tensor(x),
                    energy: state.energy,
                    grad: None,
                }));
            }
        },
    };
    // Draw from a copy, kept only once the energy has taken the proposals.
    let mut probe = rng.clone();
    let z = probe.normal_vec_parallel(x.len());
    let u = probe.uniform_vec(n, 0.0, 1.0);
    let d = x.len() / n.max(1);
    let moves = Moves {
        x: &x,
        e: &e,
        g: &g,
        z: &z,
        u: &u,
        d,
        eps,
        mass,
        metric: StepMetric::new(mass, d),
    };
    let Some(next) = moves.run(energy, dims) else {
        return Err(Box::new(ChainState {
            position: tensor(x),
            energy: vector(e),
            grad: Some(tensor(g)),
        }));
    };
    *rng = probe;
    let accepted: Vec<f32> = u
        .iter()
        .zip(&next.accept_prob)
        .map(|(u, p)| f32::from(u8::from(u < p)))
        .collect();
    let info = StepInfo {
        accepted: vector(accepted).greater_elem(0.5),
        accept_prob: vector(next.accept_prob),
    };
    let next = ChainState {
        position: tensor(next.x),
        energy: vector(next.e),
        grad: Some(tensor(next.g)),
    };
    Ok((next, info))
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
