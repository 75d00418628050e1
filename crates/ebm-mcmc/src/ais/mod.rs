//! Annealed importance sampling (Neal 2001): `log Z` of any energy, with its standard error.
//!
//! Between a base `p_0 = exp(-E_0) / Z_0` with known `Z_0` (an isotropic Gaussian, or the uniform
//! distribution on a box) and the target `exp(-E_1) / Z_1`, the geometric path at inverse
//! temperatures `0 = beta_0 < beta_1 < ... < beta_K = 1` is
//!
//! ```text
//! f_k(x) = -(1 - beta_k) E_0(x) - beta_k E_1(x)          (log of the unnormalised density)
//! ```
//!
//! Each chain starts at an exact draw `x_1 ~ p_0`, and for `k = 1..K` adds
//! `f_k(x_k) - f_{k-1}(x_k) = -(beta_k - beta_{k-1}) (E_1(x_k) - E_0(x_k))` to its log weight, then
//! moves `x_{k+1} ~ T_k(x_k, .)` with an MCMC kernel (MALA, HMC or RWM, any adjusted
//! [`KernelSpec`](crate::KernelSpec)) that leaves `p_k` invariant.
//! The weight `w = exp(sum)` is unbiased for `Z_1 / Z_0`, so with `M` chains
//!
//! ```text
//! log Z_1 ≈ log Z_0 + log( (1/M) sum_m w_m )
//! se(log Z_1) ≈ sd(w) / (sqrt(M) mean(w))          (delta method)
//! ESS = (sum_m w_m)^2 / sum_m w_m^2
//! ```
//!
//! By Jensen's inequality the log of the mean weight is biased low: forward AIS is a stochastic
//! lower bound on `log Z_1`. Run backwards from exact draws of the target (`x_K ~ p_K`, adding
//! `f_{k-1}(x_k) - f_k(x_k)` and moving with `T_{k-1}`), the weights are unbiased for `Z_0 / Z_1`,
//! so `log Z_0 - log mean(w)` is a stochastic upper bound (reverse AIS, as in the bidirectional
//! Monte Carlo of Grosse et al. 2015). The pair is a sandwich around `log Z_1`; it is a proof only
//! when the reverse chains start at exact draws.
//!
//! With the uniform box as base the path is the target restricted to the box
//! (`p_k ∝ 1_box(x) exp(-beta_k E_1(x))`, `log Z_0 = d log(hi - lo)`): AIS then estimates `log Z`
//! of the target on the box, exactly what quadrature computes in 1-D and 2-D.
//!
//! Step sizes: a fixed one, or one adapted beforehand by a pilot run on a ladder of temperatures
//! (Robbins-Monro on the acceptance probability) and interpolated along the schedule; the main run
//! then uses a schedule fixed in advance, so its weights stay unbiased.
//!
//! One concern per file: [`base`] (the start of the path), [`path`] (the intermediate energies),
//! [`schedule`] (the temperatures), [`config`] (what a run does), `transition` (the kernel at one
//! temperature), `pilot` (the pilot run's step sizes), `forward` (the driver and forward AIS),
//! [`reverse`] (reverse AIS and the sandwich), [`estimate`] (log weights to `log Z`) and
//! [`likelihood`] (held-out log-likelihood).

pub mod base;
pub mod config;
pub mod estimate;
mod forward;
pub mod likelihood;
pub mod path;
mod pilot;
pub mod reverse;
pub mod schedule;
mod transition;

pub use base::AisBase;
pub use config::{AisAdapt, AisConfig};
pub use estimate::{AisEstimate, Direction, log_mean_exp_stats};
pub use forward::ais;
pub use likelihood::{HeldOutLogLikelihood, held_out_log_likelihood};
pub use path::PathEnergy;
pub use reverse::{Sandwich, reverse_ais};
pub use schedule::Temperatures;
