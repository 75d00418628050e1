//! The No-U-Turn Sampler (NUTS), batched: every chain grows its own tree.
//!
//! One transition (Hoffman and Gelman 2014, with Betancourt 2017's multinomial sampling and
//! generalised criterion, as Stan and blackjax implement it): draw `p ~ N(0, M)`, set
//! `H0 = E(x) + p^T M^{-1} p / 2`, and double a trajectory of leapfrog steps (step `eps`, inverse
//! mass [`InverseMass`]) until it turns back on itself or reaches `2^max_depth - 1` steps. At depth
//! `j` each chain draws a direction `v = +-1` and builds a new subtree of `2^j` steps from its
//! trajectory's end in that direction.
//!
//! * **Weights.** Each point has weight `w = exp(H0 - H)`. Within a subtree the proposal is
//!   drawn multinomially: merging halves `A` and `B`, `B`'s proposal is taken with probability
//!   `w_B / (w_A + w_B)`. At the top level the new subtree's proposal replaces the current one
//!   with probability `min(1, w_new / w_old)` (biased progressive sampling, which favours the far
//!   end and keeps the target invariant).
//! * **U-turn.** With `rho` the sum of the momenta of a (sub)tree and `p#- = M^{-1} p-`,
//!   `p#+ = M^{-1} p+` at its two ends, the tree has turned when `rho . p#- <= 0` or
//!   `rho . p#+ <= 0` (generalised criterion). Every merge of `A` and `B` (inside subtrees and at
//!   the top) checks the merged tree and, as Stan does, the two trees across the seam: `A` with
//!   `B`'s first point and `A`'s last point with `B`. A subtree that turned (or diverged) is
//!   discarded whole and ends the chain's transition; a merged trajectory that turned ends it
//!   after its proposal was considered.
//! * **Divergence.** A point with `H - H0 > 1000` ([`TrajectoryInfo::DIVERGENCE_THRESHOLD`]) or
//!   a non-finite `H` ends the transition and flags it divergent in the [`TrajectoryInfo`].
//! * **Info.** The acceptance statistic fed to step-size adaptation is the mean of
//!   `min(1, exp(H0 - H))` over every point the chain built (Stan's); `accepted` says whether the
//!   chain moved; [`TrajectoryInfo::num_steps`] counts the chain's own leapfrog steps.
//!
//! **Batching and its cost.** All chains double in lockstep: at depth `j` the batch integrates
//! `2^j` steps, one `energy_and_grad` call of the whole batch per step, with a per-chain mask. A
//! chain whose tree has stopped keeps its position and momentum frozen (its gradient is still
//! computed with the batch, and ignored), so the batch runs until every chain has stopped or the
//! maximum depth: a transition costs `2^(J + 1) - 1` batch gradient calls, `J` the deepest chain's
//! last depth, whereas the chains' own trees sum to less. No chain waits for another within a
//! depth except that the batch finishes the depth; a subtree half is skipped when every chain has
//! stopped in the first half (one host read of a flag per doubling and per subtree of at least 4
//! steps). On targets where chains need similar depths (after mass adaptation, the usual case)
//! the waste is small; on a funnel it is the price of batching.
//!
//! **On the CPU, chain by chain.** When the chains live on the CPU (`flex`) and the energy has
//! a host path ([`Energy::host`]; the analytic energies have one), the transition runs on host
//! memory instead (`nuts_host.rs`): each chain builds its own tree, in parallel, and none
//! waits for another or computes a gradient after it stopped. Same law, different random draws.

use burn::tensor::{Bool, Device, Tensor};
use ebm_core::{Energy, SeededRng};

use crate::error::McmcError;
use crate::kernel::{
    ChainState, Kernel, StepInfo, StepSize, TrajectoryInfo, mass_methods, per_chain, select,
    step_size_methods, sum_per_chain,
};
use crate::mass::{InverseMass, Metric};
use crate::metric_cache::MetricCache;

/// NUTS with step size `eps`, at most `2^max_depth - 1` leapfrog steps per transition.
#[derive(Debug, Clone, PartialEq)]
pub struct Nuts {
    eps: StepSize,
    max_depth: usize,
    mass: InverseMass,
    /// The device tensors of `mass`, built once.
    metric: MetricCache,
    divergence_threshold: f64,
}

impl Nuts {
    /// The kernel's name, `"nuts"`.
    pub const NAME: &'static str = "nuts";
    /// The default adaptation target of the mean acceptance statistic, 0.8 (Stan's, blackjax's).
    pub const TARGET_ACCEPT: f64 = 0.8;
    /// The default maximum tree depth, 10 (Stan's, blackjax's).
    pub const MAX_DEPTH: usize = 10;

    /// A kernel with step size `eps` (finite, positive) and `1 <= max_depth <= 20`.
    pub fn new(eps: StepSize, max_depth: usize) -> Result<Self, McmcError> {
        if !(1..=20).contains(&max_depth) {
            return Err(McmcError::invalid(
                Self::NAME,
                "max_depth",
                format!("must lie in 1..=20, got {max_depth}"),
            ));
        }
        Ok(Self {
            eps: eps.checked(Self::NAME)?,
            max_depth,
            mass: InverseMass::Identity,
            metric: MetricCache::default(),
            divergence_threshold: TrajectoryInfo::DIVERGENCE_THRESHOLD,
        })
    }

    /// The maximum tree depth.
    pub fn max_depth(&self) -> usize {
        self.max_depth
    }

    /// The kernel with inverse mass `mass` (identity by default; [`crate::mass`]).
    pub fn with_inverse_mass(mut self, mass: InverseMass) -> Self {
        self.mass = mass;
        self.metric = MetricCache::default();
        self
    }
}

/// One end of a trajectory: position, momentum, gradient.
#[derive(Debug, Clone)]
pub(crate) struct Edge<const D: usize> {
    pub(crate) x: Tensor<D>,
    pub(crate) p: Tensor<D>,
    pub(crate) g: Tensor<D>,
}

impl<const D: usize> Edge<D> {
    /// Chain by chain, `other` where `mask`, else `self`.
    pub(crate) fn mask_where(self, mask: &Tensor<1, Bool>, other: Edge<D>) -> Self {
        let m = per_chain(mask.clone(), self.x.dims());
        Edge {
            x: self.x.mask_where(m.clone(), other.x),
            p: self.p.mask_where(m.clone(), other.p),
            g: self.g.mask_where(m, other.g),
        }
    }
}

/// A subtree built in one direction, per chain.
#[derive(Debug, Clone)]
pub(crate) struct Tree<const D: usize> {
    /// The end next to where the subtree started.
    pub(crate) inner: Edge<D>,
    /// The end in the direction of travel.
    pub(crate) outer: Edge<D>,
    /// The proposal drawn from the subtree, and its `H - H0`.
    pub(crate) prop: ChainState<D>,
    pub(crate) prop_dh: Tensor<1>,
    /// `log` of the summed weights `exp(H0 - H)`.
    pub(crate) log_w: Tensor<1>,
    /// The sum of the momenta.
    pub(crate) rho: Tensor<D>,
    /// Turned or diverged inside (to be discarded).
    pub(crate) stopped: Tensor<1, Bool>,
    pub(crate) divergent: Tensor<1, Bool>,
    /// Sum of `min(1, exp(H0 - H))` and number of points, over active chains.
    pub(crate) sum_accept: Tensor<1>,
    pub(crate) n_leaves: Tensor<1>,
}

/// What every leaf of one transition shares.
pub(crate) struct Ctx<'a, E: ?Sized, const D: usize> {
    pub(crate) energy: &'a E,
    pub(crate) metric: Metric,
    /// `H0` per chain.
    pub(crate) h0: Tensor<1>,
    pub(crate) threshold: f64,
}

/// `log(exp(a) + exp(b))`, `-inf` when both are.
pub(crate) fn log_add_exp(a: Tensor<1>, b: Tensor<1>) -> Tensor<1> {
    let m = a.clone().max_pair(b.clone());
    let out = m.clone() + ((a - m.clone()).exp() + (b - m).exp()).log();
    let bad = out.clone().is_nan();
    out.mask_fill(bad, f32::NEG_INFINITY)
}

/// `rho . p#a > 0 and rho . p#b > 0` per chain (`p#a`, `p#b` already `M^{-1} p`).
fn no_turn<const D: usize>(
    rho: Tensor<D>,
    sharp_a: Tensor<D>,
    sharp_b: Tensor<D>,
) -> Tensor<1, Bool> {
    let a = sum_per_chain(rho.clone() * sharp_a).greater_elem(0.0);
    let b = sum_per_chain(rho * sharp_b).greater_elem(0.0);
    a.bool_and(b)
}

/// Whether the merge of `a` (its ends `a_in`, `a_out`, momentum sum `rho_a`) and the subtree `b`
/// grown from `a_out` has not turned: the merged tree and both trees across the seam (Stan's
/// extra checks).
pub(crate) fn merge_keeps_going<const D: usize>(
    metric: &Metric,
    (a_in, a_out, rho_a): (&Edge<D>, &Edge<D>, &Tensor<D>),
    b: &Tree<D>,
) -> Tensor<1, Bool> {
    let sharp = |e: &Edge<D>| metric.velocity(e.p.clone());
    let (sa_in, sa_out) = (sharp(a_in), sharp(a_out));
    let (sb_in, sb_out) = (sharp(&b.inner), sharp(&b.outer));
    let merged = no_turn(rho_a.clone() + b.rho.clone(), sa_in.clone(), sb_out.clone());
    let left = no_turn(rho_a.clone() + b.inner.p.clone(), sa_in, sb_in);
    let right = no_turn(b.rho.clone() + a_out.p.clone(), sa_out, sb_out);
    merged.bool_and(left).bool_and(right)
}

/// One leapfrog step from `from` with signed per-chain step `h` (`[N, ...]`); chains not
/// `active` stay where they are.
fn leaf<const D: usize, E: Energy<D> + ?Sized>(
    ctx: &Ctx<'_, E, D>,
    from: &Edge<D>,
    h: &Tensor<D>,
    active: &Tensor<1, Bool>,
) -> Tree<D> {
    let mask = per_chain(active.clone(), from.x.dims());
    let half = |g: Tensor<D>| g * h.clone().mul_scalar(0.5);
    let p_half = from.p.clone() - half(from.g.clone());
    let x = from.x.clone() + h.clone() * ctx.metric.velocity(p_half.clone());
    let x = from.x.clone().mask_where(mask.clone(), x);
    let (e, g) = ctx.energy.energy_and_grad(x.clone());
    let p = from.p.clone().mask_where(mask, p_half - half(g.clone()));
    let dh = e.clone() + ctx.metric.kinetic(p.clone()) - ctx.h0.clone();
    let log_w = dh.clone().neg();
    let nan = log_w.clone().is_nan();
    let log_w = log_w.mask_fill(nan.clone(), f32::NEG_INFINITY);
    let divergent = dh
        .clone()
        .lower_equal_elem(ctx.threshold)
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
        prop: ChainState {
            position: x,
            energy: e,
            grad: Some(g),
        },
        prop_dh: dh,
        log_w,
        rho: p,
        stopped: divergent.clone(),
        divergent,
        sum_accept: accept * live.clone(),
        n_leaves: live,
    }
}

/// Whether any chain is set (one host read).
pub(crate) fn any(mask: &Tensor<1, Bool>) -> bool {
    mask.clone().any().into_scalar::<bool>()
}

/// A subtree of `2^depth` leapfrog steps from `from`, in the direction of the signed step `h`.
pub(crate) fn build<const D: usize, E: Energy<D> + ?Sized>(
    ctx: &Ctx<'_, E, D>,
    from: &Edge<D>,
    depth: usize,
    h: &Tensor<D>,
    active: &Tensor<1, Bool>,
    rng: &mut SeededRng,
) -> Tree<D> {
    if depth == 0 {
        return leaf(ctx, from, h, active);
    }
    let a = build(ctx, from, depth - 1, h, active, rng);
    let active_b = active.clone().bool_and(a.stopped.clone().bool_not());
    if depth >= 2 && !any(&active_b) {
        return a;
    }
    let b = build(ctx, &a.outer, depth - 1, h, &active_b, rng);
    merge_subtrees(ctx, a, b, &active_b, rng)
}

/// Merges the halves of a subtree: `b`'s proposal with probability `w_b / (w_a + w_b)`
/// (multinomial), the U-turn checks of [`merge_keeps_going`].
fn merge_subtrees<const D: usize, E: Energy<D> + ?Sized>(
    ctx: &Ctx<'_, E, D>,
    a: Tree<D>,
    b: Tree<D>,
    active_b: &Tensor<1, Bool>,
    rng: &mut SeededRng,
) -> Tree<D> {
    let [n] = a.log_w.dims();
    let log_w = log_add_exp(a.log_w.clone(), b.log_w.clone());
    let u = rng.uniform([n], 0.0, 1.0, &log_w.device());
    let take_b = u
        .lower((b.log_w.clone() - log_w.clone()).exp())
        .bool_and(active_b.clone());
    let keeps_going = merge_keeps_going(&ctx.metric, (&a.inner, &a.outer, &a.rho), &b);
    let turned = b.stopped.clone().bool_or(keeps_going.bool_not());
    Tree {
        stopped: a.stopped.bool_or(turned.bool_and(active_b.clone())),
        divergent: a.divergent.bool_or(b.divergent),
        prop_dh: a.prop_dh.mask_where(take_b.clone(), b.prop_dh),
        prop: select(a.prop, b.prop, &take_b),
        log_w,
        rho: a.rho + b.rho,
        inner: a.inner,
        outer: b.outer,
        sum_accept: a.sum_accept + b.sum_accept,
        n_leaves: a.n_leaves + b.n_leaves,
    }
}

impl<const D: usize> Kernel<D> for Nuts {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn step<E: Energy<D> + ?Sized>(
        &self,
        energy: &E,
        state: ChainState<D>,
        rng: &mut SeededRng,
    ) -> (ChainState<D>, StepInfo) {
        let (state, info, _) = self.step_traced(energy, state, rng);
        (state, info)
    }

    fn step_traced<E: Energy<D> + ?Sized>(
        &self,
        energy: &E,
        state: ChainState<D>,
        rng: &mut SeededRng,
    ) -> (ChainState<D>, StepInfo, Option<TrajectoryInfo>) {
        if state.position.device() == Device::flex()
            && let Some(host) = energy.host()
            && let Some(next) = crate::nuts_host::transition(self, host, &state, rng)
        {
            return next;
        }
        crate::nuts_transition::transition(self, energy, state, rng)
    }

    step_size_methods!(eps, Self::NAME);
    mass_methods!();
}

impl Nuts {
    /// The parts of the kernel a transition reads, with the metric on `device`.
    pub(crate) fn parts(&self, device: &burn::tensor::Device) -> (&StepSize, usize, Metric, f64) {
        (
            &self.eps,
            self.max_depth,
            self.metric.get(&self.mass, device),
            self.divergence_threshold,
        )
    }

    /// The parts of the kernel the host transition (`nuts_host.rs`) reads.
    pub(crate) fn host_parts(&self) -> (&StepSize, usize, &InverseMass, f64) {
        (
            &self.eps,
            self.max_depth,
            &self.mass,
            self.divergence_threshold,
        )
    }
}
