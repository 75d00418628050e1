//! NUTS on host memory, chain by chain: the CPU path of [`crate::nuts`] for energies with a
//! [`HostEnergy`].
//!
//! The transition is the batched one's (module docs of [`crate::nuts`]: multinomial sampling
//! inside subtrees, biased progressive sampling at the top, the generalised U-turn criterion with
//! Stan's two checks across each merge, divergence at `H - H0 > threshold`), but every chain
//! builds its own tree on its own: no chain waits for another's depth, and no gradient is spent
//! on a chain that has stopped. Chains run in parallel on rayon's threads. Each draws from its
//! own random stream, seeded from the step's stream in chain order, so the result depends on the
//! seed alone, not on the number of threads; the draws differ from the batched path's (which
//! draws one batch-wide stream), the law is the same.
//!
//! Positions, momenta and gradients are `f64` inside a tree; the energy sees the positions
//! rounded to `f32` and the new state is those rounded positions with the energy and gradient
//! evaluated there.

use burn::tensor::{Tensor, TensorData};
use ebm_core::{EnergyError, HostEnergy, SeededRng};
use rayon::prelude::*;

use crate::host_metric::ChainMetric;
use crate::kernel::{ChainState, StepInfo, TrajectoryInfo};
use crate::nuts::Nuts;

/// A point of a trajectory: position, momentum, gradient and energy.
#[derive(Debug, Clone)]
struct Point {
    x: Vec<f64>,
    p: Vec<f64>,
    g: Vec<f64>,
    e: f64,
}

/// A subtree built in one direction (the host twin of [`crate::nuts`]'s `Tree`).
#[derive(Debug, Clone)]
struct Subtree {
    /// The end next to where the subtree started, and the end in the direction of travel.
    inner: Point,
    outer: Point,
    /// The proposal drawn from the subtree, and its `H - H0`.
    prop: Point,
    prop_dh: f64,
    /// `log` of the summed weights `exp(H0 - H)`.
    log_w: f64,
    /// The sum of the momenta.
    rho: Vec<f64>,
    /// Turned or diverged inside (to be discarded).
    stopped: bool,
    divergent: bool,
    /// Sum of `min(1, exp(H0 - H))` over the points built, and their number.
    sum_accept: f64,
    n_leaves: usize,
}

/// One chain's transition: what it reads and its random stream.
struct Chain<'a, const D: usize> {
    energy: &'a dyn HostEnergy<D>,
    /// `[1, ...]`: one row of the batch.
    dims: [usize; D],
    metric: ChainMetric<'a>,
    h0: f64,
    threshold: f64,
    rng: SeededRng,
}

/// What one chain's transition returns.
struct Outcome {
    prop: Point,
    prop_dh: f64,
    moved: bool,
    divergent: bool,
    accept: f64,
    n_leaves: usize,
}

/// `log(exp(a) + exp(b))`, `-inf` when both are.
fn log_add_exp(a: f64, b: f64) -> f64 {
    let m = a.max(b);
    if m == f64::NEG_INFINITY {
        return m;
    }
    m + ((a - m).exp() + (b - m).exp()).ln()
}

fn add(a: &[f64], b: &[f64]) -> Vec<f64> {
    a.iter().zip(b).map(|(a, b)| a + b).collect()
}

impl<const D: usize> Chain<'_, D> {
    /// `E` and `dE/dx` at `x` (rounded to `f32`).
    fn energy_and_grad(&self, x: &[f64]) -> Result<(f64, Vec<f64>), EnergyError> {
        let x32: Vec<f32> = x.iter().map(|v| *v as f32).collect();
        let (e, g) = self.energy.energy_and_grad_host(&x32, self.dims)?;
        Ok((e[0] as f64, g.into_iter().map(f64::from).collect()))
    }

    fn velocity(&self, p: &[f64]) -> Vec<f64> {
        let mut v = vec![0.0; p.len()];
        self.metric.velocity(p, &mut v);
        v
    }

    /// `rho . M^{-1} a > 0` and `rho . M^{-1} b > 0`.
    fn no_turn(&self, rho: &[f64], a: &[f64], b: &[f64]) -> bool {
        self.metric.dot(rho, a) > 0.0 && self.metric.dot(rho, b) > 0.0
    }

    /// Whether merging `a` (its ends `a_in`, `a_out`, momentum sum `rho_a`) with the subtree `b`
    /// grown from `a_out` keeps going: the merged tree and both trees across the seam.
    fn merge_keeps_going(&self, a_in: &Point, a_out: &Point, rho_a: &[f64], b: &Subtree) -> bool {
        self.no_turn(&add(rho_a, &b.rho), &a_in.p, &b.outer.p)
            && self.no_turn(&add(rho_a, &b.inner.p), &a_in.p, &b.inner.p)
            && self.no_turn(&add(&b.rho, &a_out.p), &a_out.p, &b.outer.p)
    }

    /// One leapfrog step of signed size `h` from `from`.
    fn leaf(&self, from: &Point, h: f64) -> Result<Subtree, EnergyError> {
        let p_half: Vec<f64> = from
            .p
            .iter()
            .zip(&from.g)
            .map(|(p, g)| p - 0.5 * h * g)
            .collect();
        let v = self.velocity(&p_half);
        let x: Vec<f64> = from.x.iter().zip(&v).map(|(x, v)| x + h * v).collect();
        let (e, g) = self.energy_and_grad(&x)?;
        let p: Vec<f64> = p_half
            .iter()
            .zip(&g)
            .map(|(p, g)| p - 0.5 * h * g)
            .collect();
        let dh = e + self.metric.kinetic(&p) - self.h0;
        let divergent = dh.is_nan() || dh > self.threshold;
        let (log_w, accept) = if dh.is_nan() {
            (f64::NEG_INFINITY, 0.0)
        } else {
            (-dh, (-dh).min(0.0).exp())
        };
        let point = Point { x, p, g, e };
        Ok(Subtree {
            inner: point.clone(),
            outer: point.clone(),
            rho: point.p.clone(),
            prop: point,
            prop_dh: dh,
            log_w,
            stopped: divergent,
            divergent,
            sum_accept: accept,
            n_leaves: 1,
        })
    }

    /// A subtree of `2^depth` leapfrog steps from `from`; stops at the first half that turned or
    /// diverged.
    fn build(&mut self, from: &Point, depth: usize, h: f64) -> Result<Subtree, EnergyError> {
        if depth == 0 {
            return self.leaf(from, h);
        }
        let a = self.build(from, depth - 1, h)?;
        if a.stopped {
            return Ok(a);
        }
        let b = self.build(&a.outer, depth - 1, h)?;
        Ok(self.merge(a, b))
    }

    /// `b`'s proposal with probability `w_b / (w_a + w_b)`, and the U-turn checks.
    fn merge(&mut self, a: Subtree, b: Subtree) -> Subtree {
        let log_w = log_add_exp(a.log_w, b.log_w);
        let take_b = self.rng.uniform_f64() < (b.log_w - log_w).exp();
        let keeps_going = self.merge_keeps_going(&a.inner, &a.outer, &a.rho, &b);
        let (prop, prop_dh) = if take_b {
            (b.prop, b.prop_dh)
        } else {
            (a.prop, a.prop_dh)
        };
        Subtree {
            stopped: b.stopped || !keeps_going,
            divergent: a.divergent || b.divergent,
            rho: add(&a.rho, &b.rho),
            inner: a.inner,
            outer: b.outer,
            prop,
            prop_dh,
            log_w,
            sum_accept: a.sum_accept + b.sum_accept,
            n_leaves: a.n_leaves + b.n_leaves,
        }
    }

    /// The doubling loop from `start` (its momentum already drawn), step `eps`.
    fn run(&mut self, start: Point, eps: f64, max_depth: usize) -> Result<Outcome, EnergyError> {
        let (mut minus, mut plus) = (start.clone(), start.clone());
        let mut rho = start.p.clone();
        let mut out = Outcome {
            prop: start,
            prop_dh: 0.0,
            moved: false,
            divergent: false,
            accept: 0.0,
            n_leaves: 0,
        };
        let mut log_w = 0.0;
        for depth in 0..max_depth {
            let forward = self.rng.uniform_f64() < 0.5;
            let (h, from) = if forward {
                (eps, &plus)
            } else {
                (-eps, &minus)
            };
            let s = self.build(from, depth, h)?;
            out.divergent |= s.divergent;
            out.accept += s.sum_accept;
            out.n_leaves += s.n_leaves;
            if s.stopped {
                break;
            }
            if self.rng.uniform_f64() < (s.log_w - log_w).exp() {
                out.prop = s.prop.clone();
                out.prop_dh = s.prop_dh;
                out.moved = true;
            }
            log_w = log_add_exp(log_w, s.log_w);
            let (far, near) = if forward {
                (&minus, &plus)
            } else {
                (&plus, &minus)
            };
            let keeps_going = self.merge_keeps_going(far, near, &rho, &s);
            rho = add(&rho, &s.rho);
            if forward {
                plus = s.outer;
            } else {
                minus = s.outer;
            }
            if !keeps_going {
                break;
            }
        }
        out.accept /= out.n_leaves.max(1) as f64;
        Ok(out)
    }
}

/// One NUTS transition of every chain on host memory, or `None` when the state cannot be read
/// as `f32` or the energy rejects a row (the caller then takes the batched path).
pub(crate) fn transition<const D: usize>(
    nuts: &Nuts,
    energy: &dyn HostEnergy<D>,
    state: &ChainState<D>,
    rng: &mut SeededRng,
) -> Option<(ChainState<D>, StepInfo, Option<TrajectoryInfo>)> {
    let dims = state.position.dims();
    let device = state.position.device();
    let n = dims[0];
    let x = state.position.try_to_vec_as::<f32>().ok()?;
    let (e, g) = match &state.grad {
        Some(g) => (
            state.energy.try_to_vec_as::<f32>().ok()?,
            g.try_to_vec_as::<f32>().ok()?,
        ),
        None => energy.energy_and_grad_host(&x, dims).ok()?,
    };
    let d = x.len() / n.max(1);
    let (eps, max_depth, mass, threshold) = nuts.host_parts();
    let mut row_dims = dims;
    row_dims[0] = 1;
    let seeds: Vec<u64> = (0..n).map(|_| rng.next_u64()).collect();
    let outcomes: Vec<Outcome> = seeds
        .into_par_iter()
        .enumerate()
        .map(|(i, seed)| {
            let to64 = |v: &[f32]| {
                v[i * d..(i + 1) * d]
                    .iter()
                    .map(|v| f64::from(*v))
                    .collect()
            };
            let metric = ChainMetric::of(mass, i);
            let mut rng = SeededRng::new(seed);
            let mut p = (0..d).map(|_| rng.normal_f64()).collect::<Vec<_>>();
            metric.momentum(&mut p);
            let start = Point {
                x: to64(&x),
                g: to64(&g),
                e: f64::from(e[i]),
                p,
            };
            let mut chain = Chain {
                energy,
                dims: row_dims,
                metric,
                h0: start.e + metric.kinetic(&start.p),
                threshold,
                rng,
            };
            chain.run(start, eps.of_chain(i), max_depth)
        })
        .collect::<Result<_, _>>()
        .ok()?;
    Some(assemble(&outcomes, dims, threshold, &device))
}

/// The batch's state and records from the chains' outcomes.
fn assemble<const D: usize>(
    outcomes: &[Outcome],
    dims: [usize; D],
    threshold: f64,
    device: &burn::tensor::Device,
) -> (ChainState<D>, StepInfo, Option<TrajectoryInfo>) {
    let n = outcomes.len();
    let rows = |f: &dyn Fn(&Outcome) -> &[f64]| -> Tensor<D> {
        let v: Vec<f32> = outcomes
            .iter()
            .flat_map(|o| f(o).iter().map(|v| *v as f32))
            .collect();
        Tensor::from_data(TensorData::new(v, dims), device)
    };
    let per_chain = |f: &dyn Fn(&Outcome) -> f64| -> Tensor<1> {
        let v: Vec<f32> = outcomes.iter().map(|o| f(o) as f32).collect();
        Tensor::from_data(TensorData::new(v, [n]), device)
    };
    let flag = |f: &dyn Fn(&Outcome) -> bool| per_chain(&|o| f(o) as u8 as f64).greater_elem(0.5);
    let state = ChainState {
        position: rows(&|o| &o.prop.x),
        energy: per_chain(&|o| o.prop.e),
        grad: Some(rows(&|o| &o.prop.g)),
    };
    let info = StepInfo {
        accept_prob: per_chain(&|o| o.accept),
        accepted: flag(&|o| o.moved),
    };
    let mut trajectory = TrajectoryInfo::from_energy_error(per_chain(&|o| o.prop_dh), threshold);
    trajectory.divergent = flag(&|o| o.divergent);
    trajectory.num_steps = Some(per_chain(&|o| o.n_leaves as f64));
    (state, info, Some(trajectory))
}
