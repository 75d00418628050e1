//! One NUTS transition of the whole batch: the top-level doubling loop of [`crate::nuts`].

use burn::tensor::{Bool, Tensor};
use ebm_core::{Energy, SeededRng};

use crate::kernel::{ChainState, StepInfo, TrajectoryInfo, per_chain, select};
use crate::nuts::{Ctx, Edge, Nuts, Tree, any, build, log_add_exp, merge_keeps_going};

/// The trajectory so far, per chain.
struct Trajectory<const D: usize> {
    minus: Edge<D>,
    plus: Edge<D>,
    prop: ChainState<D>,
    prop_dh: Tensor<1>,
    log_w: Tensor<1>,
    rho: Tensor<D>,
    /// Still growing.
    active: Tensor<1, Bool>,
    moved: Tensor<1, Bool>,
    divergent: Tensor<1, Bool>,
    sum_accept: Tensor<1>,
    n_leaves: Tensor<1>,
}

/// One transition (module docs of [`crate::nuts`]).
pub(crate) fn transition<const D: usize, E: Energy<D> + ?Sized>(
    nuts: &Nuts,
    energy: &E,
    state: ChainState<D>,
    rng: &mut SeededRng,
) -> (ChainState<D>, StepInfo, Option<TrajectoryInfo>) {
    let (state, grad) = state.with_grad(energy);
    let dims = state.position.dims();
    let n = dims[0];
    let device = state.position.device();
    let (eps, max_depth, metric, threshold) = nuts.parts(&device);
    let p = metric.momentum(rng.normal(dims, &device));
    let h0 = state.energy.clone() + metric.kinetic(p.clone());
    let ctx = Ctx {
        energy,
        metric,
        h0,
        threshold,
    };
    let start = Edge {
        x: state.position.clone(),
        p: p.clone(),
        g: grad,
    };
    let zeros = Tensor::<1>::zeros([n], &device);
    let no = zeros.clone().greater_elem(1.0);
    let mut t = Trajectory {
        minus: start.clone(),
        plus: start,
        prop: state,
        prop_dh: zeros.clone(),
        log_w: zeros.clone(),
        rho: p,
        active: no.clone().bool_not(),
        moved: no.clone(),
        divergent: no,
        sum_accept: zeros.clone(),
        n_leaves: zeros,
    };
    let eps = eps.per_chain_tensor(n, &device);
    for depth in 0..max_depth {
        let forward = rng.uniform([n], 0.0, 1.0, &device).lower_elem(0.5);
        let sign = forward.clone().float().mul_scalar(2.0).sub_scalar(1.0);
        let h = per_chain(eps.clone() * sign, dims);
        let near = t.minus.clone().mask_where(&forward, t.plus.clone());
        let subtree = build(&ctx, &near, depth, &h, &t.active, rng);
        t = extend(&ctx, t, subtree, &forward, rng);
        if !any(&t.active) {
            break;
        }
    }
    finish(t, threshold)
}

/// Adds a subtree grown from the end in direction `forward`: the proposal moves to its own with
/// probability `min(1, w_new / w_old)` unless it turned or diverged; the trajectory stops growing
/// when it did, or when the extended trajectory turned.
fn extend<const D: usize, E: Energy<D> + ?Sized>(
    ctx: &Ctx<'_, E, D>,
    mut t: Trajectory<D>,
    s: Tree<D>,
    forward: &Tensor<1, Bool>,
    rng: &mut SeededRng,
) -> Trajectory<D> {
    let [n] = t.log_w.dims();
    t.divergent = t.divergent.bool_or(s.divergent.clone());
    t.sum_accept = t.sum_accept + s.sum_accept.clone();
    t.n_leaves = t.n_leaves + s.n_leaves.clone();
    let ok = t.active.clone().bool_and(s.stopped.clone().bool_not());
    let u = rng.uniform([n], 0.0, 1.0, &t.log_w.device());
    let take = u
        .lower((s.log_w.clone() - t.log_w.clone()).exp())
        .bool_and(ok.clone());
    t.prop_dh = t.prop_dh.mask_where(take.clone(), s.prop_dh.clone());
    t.prop = select(t.prop, s.prop.clone(), &take);
    t.moved = t.moved.bool_or(take);
    let merged = log_add_exp(t.log_w.clone(), s.log_w.clone());
    t.log_w = t.log_w.mask_where(ok.clone(), merged);
    let far = t.plus.clone().mask_where(forward, t.minus.clone());
    let near = t.minus.clone().mask_where(forward, t.plus.clone());
    let keeps_going = merge_keeps_going(&ctx.metric, (&far, &near, &t.rho), &s);
    let rho_mask = per_chain(ok.clone(), t.rho.dims());
    t.rho = t.rho.clone().mask_where(rho_mask, t.rho + s.rho);
    let go_plus = ok.clone().bool_and(forward.clone());
    let go_minus = ok.clone().bool_and(forward.clone().bool_not());
    t.plus = t.plus.mask_where(&go_plus, s.outer.clone());
    t.minus = t.minus.mask_where(&go_minus, s.outer);
    t.active = ok.bool_and(keeps_going);
    t
}

/// The state and records of a finished trajectory.
fn finish<const D: usize>(
    t: Trajectory<D>,
    threshold: f64,
) -> (ChainState<D>, StepInfo, Option<TrajectoryInfo>) {
    let accept_prob = t.sum_accept / t.n_leaves.clone().clamp_min(1.0);
    let mut trajectory = TrajectoryInfo::from_energy_error(t.prop_dh, threshold);
    trajectory.divergent = t.divergent;
    trajectory.num_steps = Some(t.n_leaves);
    let info = StepInfo {
        accept_prob,
        accepted: t.moved,
    };
    (t.prop, info, Some(trajectory))
}
