//! A copy of the library's NUTS (identity mass, shared step size, `[N, d]` chains) with
//! switchable bugs for negative controls. With [`Fault::None`] it takes the library's transition
//! draw for draw (`nuts.rs` checks it).

use burn::tensor::{Bool, Tensor};
use ebm_core::{Energy, SeededRng};
use ebm_mcmc::{ChainState, Kernel, McmcError, StepInfo, StepSize};

/// The bug switched on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fault {
    /// None: the library's kernel.
    None,
    /// The U-turn check measured from the initial point instead of between the tree's ends:
    /// stop when `(x+ - x0) . p+ <= 0` or `(x0 - x-) . p- <= 0` (the criterion then depends on
    /// where in the trajectory the chain started, and detailed balance fails).
    UTurnFromStart,
    /// Within subtrees the second half's proposal is taken with probability `min(1, w_b / w_a)`
    /// instead of `w_b / (w_a + w_b)`: the multinomial choice biased towards the far end at every
    /// level, not only at the top.
    BiasedChoice,
}

/// NUTS copied from the library with one switchable [`Fault`].
pub struct NutsCopy {
    pub eps: StepSize,
    pub max_depth: usize,
    pub fault: Fault,
}

#[derive(Clone)]
struct Edge {
    x: Tensor<2>,
    p: Tensor<2>,
    g: Tensor<2>,
}

fn col(mask: &Tensor<1, Bool>, dims: [usize; 2]) -> Tensor<2, Bool> {
    mask.clone().reshape([dims[0], 1]).expand(dims)
}

impl Edge {
    fn mask_where(self, mask: &Tensor<1, Bool>, other: Edge) -> Edge {
        let m = col(mask, self.x.dims());
        Edge {
            x: self.x.mask_where(m.clone(), other.x),
            p: self.p.mask_where(m.clone(), other.p),
            g: self.g.mask_where(m, other.g),
        }
    }
}

#[derive(Clone)]
struct Tree {
    inner: Edge,
    outer: Edge,
    prop: (Tensor<2>, Tensor<1>, Tensor<2>),
    log_w: Tensor<1>,
    rho: Tensor<2>,
    stopped: Tensor<1, Bool>,
    sum_accept: Tensor<1>,
    n_leaves: Tensor<1>,
}

fn row_sum(x: Tensor<2>) -> Tensor<1> {
    let [n, _] = x.dims();
    x.sum_dim(1).reshape([n])
}

fn log_add_exp(a: Tensor<1>, b: Tensor<1>) -> Tensor<1> {
    let m = a.clone().max_pair(b.clone());
    let out = m.clone() + ((a - m.clone()).exp() + (b - m).exp()).log();
    let bad = out.clone().is_nan();
    out.mask_fill(bad, f32::NEG_INFINITY)
}

fn pick(
    a: (Tensor<2>, Tensor<1>, Tensor<2>),
    b: (Tensor<2>, Tensor<1>, Tensor<2>),
    take: &Tensor<1, Bool>,
) -> (Tensor<2>, Tensor<1>, Tensor<2>) {
    let m = col(take, a.0.dims());
    (
        a.0.mask_where(m.clone(), b.0),
        a.1.mask_where(take.clone(), b.1),
        a.2.mask_where(m, b.2),
    )
}

struct Ctx<'a, E: ?Sized> {
    energy: &'a E,
    h0: Tensor<1>,
    x0: Tensor<2>,
    fault: Fault,
}

fn no_turn(rho: Tensor<2>, a: Tensor<2>, b: Tensor<2>) -> Tensor<1, Bool> {
    let a = row_sum(rho.clone() * a).greater_elem(0.0);
    let b = row_sum(rho * b).greater_elem(0.0);
    a.bool_and(b)
}

/// The library's checks, or the faulty one from the start point.
fn keeps_going<E: ?Sized>(
    ctx: &Ctx<'_, E>,
    a_in: &Edge,
    a_out: &Edge,
    rho_a: &Tensor<2>,
    b: &Tree,
) -> Tensor<1, Bool> {
    if ctx.fault == Fault::UTurnFromStart {
        let out =
            row_sum((b.outer.x.clone() - ctx.x0.clone()) * b.outer.p.clone()).greater_elem(0.0);
        let back = row_sum((ctx.x0.clone() - a_in.x.clone()) * a_in.p.clone()).greater_elem(0.0);
        return out.bool_and(back);
    }
    let merged = no_turn(
        rho_a.clone() + b.rho.clone(),
        a_in.p.clone(),
        b.outer.p.clone(),
    );
    let left = no_turn(
        rho_a.clone() + b.inner.p.clone(),
        a_in.p.clone(),
        b.inner.p.clone(),
    );
    let right = no_turn(
        b.rho.clone() + a_out.p.clone(),
        a_out.p.clone(),
        b.outer.p.clone(),
    );
    merged.bool_and(left).bool_and(right)
}

fn leaf<E: Energy<2> + ?Sized>(
    ctx: &Ctx<'_, E>,
    from: &Edge,
    h: &Tensor<2>,
    active: &Tensor<1, Bool>,
) -> Tree {
    let mask = col(active, from.x.dims());
    let half = |g: Tensor<2>| g * h.clone().mul_scalar(0.5);
    let p_half = from.p.clone() - half(from.g.clone());
    let x = from.x.clone() + h.clone() * p_half.clone();
    let x = from.x.clone().mask_where(mask.clone(), x);
    let (e, g) = ctx.energy.energy_and_grad(x.clone());
    let p = from.p.clone().mask_where(mask, p_half - half(g.clone()));
    let dh = e.clone() + row_sum(p.clone().powi_scalar(2)).mul_scalar(0.5) - ctx.h0.clone();
    let log_w = dh.clone().neg();
    let nan = log_w.clone().is_nan();
    let log_w = log_w.mask_fill(nan.clone(), f32::NEG_INFINITY);
    let divergent = dh
        .lower_equal_elem(1000.0)
        .bool_not()
        .bool_and(active.clone());
    let accept = log_w.clone().clamp_max(0.0).exp().mask_fill(nan, 0.0);
    let live = active.clone().float();
    let edge = Edge {
        x: x.clone(),
        p: p.clone(),
        g: g.clone(),
    };
    Tree {
        inner: edge.clone(),
        outer: edge,
        prop: (x, e, g),
        log_w,
        rho: p,
        stopped: divergent,
        sum_accept: accept * live.clone(),
        n_leaves: live,
    }
}

fn build<E: Energy<2> + ?Sized>(
    ctx: &Ctx<'_, E>,
    from: &Edge,
    depth: usize,
    h: &Tensor<2>,
    active: &Tensor<1, Bool>,
    rng: &mut SeededRng,
) -> Tree {
    if depth == 0 {
        return leaf(ctx, from, h, active);
    }
    let a = build(ctx, from, depth - 1, h, active, rng);
    let active_b = active.clone().bool_and(a.stopped.clone().bool_not());
    if depth >= 2 && !active_b.clone().any().into_scalar::<bool>() {
        return a;
    }
    let b = build(ctx, &a.outer, depth - 1, h, &active_b, rng);
    let [n] = a.log_w.dims();
    let log_w = log_add_exp(a.log_w.clone(), b.log_w.clone());
    let u = rng.uniform([n], 0.0, 1.0, &log_w.device());
    let ratio = match ctx.fault {
        Fault::BiasedChoice => b.log_w.clone() - a.log_w.clone(),
        _ => b.log_w.clone() - log_w.clone(),
    };
    let take_b = u.lower(ratio.exp()).bool_and(active_b.clone());
    let go = keeps_going(ctx, &a.inner, &a.outer, &a.rho, &b);
    let turned = b.stopped.clone().bool_or(go.bool_not());
    Tree {
        stopped: a.stopped.bool_or(turned.bool_and(active_b)),
        prop: pick(a.prop, b.prop, &take_b),
        log_w,
        rho: a.rho + b.rho,
        inner: a.inner,
        outer: b.outer,
        sum_accept: a.sum_accept + b.sum_accept,
        n_leaves: a.n_leaves + b.n_leaves,
    }
}

impl Kernel<2> for NutsCopy {
    fn name(&self) -> &'static str {
        "nuts copy"
    }

    fn step<E: Energy<2> + ?Sized>(
        &self,
        energy: &E,
        state: ChainState<2>,
        rng: &mut SeededRng,
    ) -> (ChainState<2>, StepInfo) {
        let (state, grad) = state.with_grad(energy);
        let dims = state.position.dims();
        let n = dims[0];
        let device = state.position.device();
        let p: Tensor<2> = rng.normal(dims, &device);
        let h0 = state.energy.clone() + row_sum(p.clone().powi_scalar(2)).mul_scalar(0.5);
        let ctx = Ctx {
            energy,
            h0,
            x0: state.position.clone(),
            fault: self.fault,
        };
        let start = Edge {
            x: state.position.clone(),
            p: p.clone(),
            g: grad.clone(),
        };
        let (mut minus, mut plus) = (start.clone(), start);
        let mut prop = (state.position, state.energy, grad);
        let zeros = Tensor::<1>::zeros([n], &device);
        let mut log_w = zeros.clone();
        let mut rho = p;
        let mut active = zeros.clone().lower_elem(1.0);
        let (mut sum_accept, mut n_leaves) = (zeros.clone(), zeros.clone());
        let mut moved = zeros.greater_elem(1.0);
        let eps = Tensor::<1>::full([n], self.eps.mean() as f32, &device);
        for depth in 0..self.max_depth {
            let forward = rng.uniform([n], 0.0, 1.0, &device).lower_elem(0.5);
            let sign = forward.clone().float().mul_scalar(2.0).sub_scalar(1.0);
            let h = (eps.clone() * sign).reshape([n, 1]).expand(dims);
            let near = minus.clone().mask_where(&forward, plus.clone());
            let s = build(&ctx, &near, depth, &h, &active, rng);
            sum_accept = sum_accept + s.sum_accept.clone();
            n_leaves = n_leaves + s.n_leaves.clone();
            let ok = active.clone().bool_and(s.stopped.clone().bool_not());
            let u = rng.uniform([n], 0.0, 1.0, &device);
            let take = u
                .lower((s.log_w.clone() - log_w.clone()).exp())
                .bool_and(ok.clone());
            prop = pick(prop, s.prop.clone(), &take);
            moved = moved.bool_or(take);
            log_w = log_w
                .clone()
                .mask_where(ok.clone(), log_add_exp(log_w, s.log_w.clone()));
            let far = plus.clone().mask_where(&forward, minus.clone());
            let near = minus.clone().mask_where(&forward, plus.clone());
            let go = keeps_going(&ctx, &far, &near, &rho, &s);
            rho = rho.clone().mask_where(col(&ok, dims), rho + s.rho);
            plus = plus.mask_where(&ok.clone().bool_and(forward.clone()), s.outer.clone());
            minus = minus.mask_where(&ok.clone().bool_and(forward.bool_not()), s.outer);
            active = ok.bool_and(go);
            if !active.clone().any().into_scalar::<bool>() {
                break;
            }
        }
        let info = StepInfo {
            accept_prob: sum_accept / n_leaves.clamp_min(1.0),
            accepted: moved,
        };
        let state = ChainState {
            position: prop.0,
            energy: prop.1,
            grad: Some(prop.2),
        };
        (state, info)
    }

    fn step_size(&self) -> &StepSize {
        &self.eps
    }

    fn set_step_size(&mut self, step_size: StepSize) -> Result<(), McmcError> {
        self.eps = step_size;
        Ok(())
    }
}
