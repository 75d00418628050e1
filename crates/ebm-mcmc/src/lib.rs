//! Batched MCMC samplers for energy-based models.
//!
//! Many chains run at once as one tensor `[chains, ...]` on whatever burn device the energy lives
//! on. Every sampler is a pure kernel in the style of blackjax: a [`ChainState`] (positions with
//! the energy and gradient cached at them) goes in with a [`SeededRng`](ebm_core::SeededRng), the
//! next state and a [`StepInfo`] (per-chain acceptance probability and accepted mask) come out.
//! Which kernel runs is data: a [`KernelSpec`] (from a config file or a word such as
//! `hmc:eps=0.1,leapfrog=20`) builds an [`AnyKernel`], the one place where kernel kinds are
//! matched.
//!
//! Contents, one concept per module:
//!
//! | module | what |
//! |---|---|
//! | [`kernel`] | [`Kernel`] trait, [`ChainState`], [`StepInfo`], [`TrajectoryInfo`] (HMC's energy error and divergences), [`StepSize`] (shared or per chain) |
//! | [`rwm`] | [`Rwm`]: random-walk Metropolis-Hastings, `x' = x + sigma z` |
//! | [`ula`] | [`Ula`]: unadjusted Langevin, `x' = x - eps dE/dx + sqrt(2 eps) z` (biased) |
//! | [`sgld`] | [`Sgld`]: clipped SGLD as image EBMs use it (a biased heuristic) |
//! | [`mala`] | [`Mala`]: Metropolis-adjusted Langevin, optionally preconditioned by a mass matrix (exact); on the CPU in two fused passes for energies with a host path |
//! | [`hmc`] | [`Hmc`]: Hamiltonian Monte Carlo, leapfrog, mass matrix, jittered length (exact) |
//! | [`nuts`] | [`Nuts`]: the No-U-Turn Sampler, batched (multinomial, generalised U-turn, divergences); on the CPU, chain by chain in parallel for energies with a host path |
//! | [`mass`] | [`InverseMass`] (identity, diagonal, dense) and its windowed estimate [`MassEstimator`] |
//! | [`spec`] | [`KernelSpec`]: any kernel as serialisable data or a word (`mala:eps=0.1`), built by [`KernelSpec::build`] |
//! | [`any`] | [`AnyKernel`]: the kernel a spec builds, a [`Kernel`] that dispatches to the one inside |
//! | [`tempering`] | [`ReplicaExchange`]: parallel tempering over any kernel and energy, on a [`Ladder`] of temperatures, with exchange statistics ([`SwapInfo`]) |
//! | [`adaptation`] | dual-averaging step-size adaptation, shared or per chain |
//! | [`warmup`] | windowed warm-up as Stan's: step size, then the mass matrix in doubling windows ([`Windows`]) |
//! | [`diagnostics`] | rank-normalised split R-hat, bulk ESS, two-sample KS test, Fréchet distance of feature sets (host `f64`) |
//! | [`runner`] | [`run`]: warm-up, draws, thinning, progress, report (with divergences) |
//! | [`gibbs`] | [`BlockGibbs`]: block Gibbs sampling of an RBM, and the annealed sweep of RBM AIS |
//! | [`ais`](mod@ais) | [`ais()`]: annealed importance sampling of `log Z` (any adjusted kernel), reverse AIS, sandwich |
//! | [`ais_rbm`](mod@ais_rbm) | [`ais_rbm()`]: AIS for an RBM from the base-rate RBM with Gibbs transitions |
//! | [`error`] | [`McmcError`] |

pub mod adaptation;
pub mod ais;
pub mod ais_rbm;
pub mod any;
pub mod diagnostics;
pub mod error;
pub mod gibbs;
pub mod hmc;
mod host_metric;
pub mod kernel;
pub mod mala;
mod mala_host;
mod mala_rows;
pub mod mass;
mod metric_cache;
pub mod nuts;
mod nuts_host;
mod nuts_transition;
pub mod runner;
pub mod rwm;
pub mod sgld;
pub mod spec;
pub mod tempering;
pub mod ula;
pub mod warmup;

pub use adaptation::{AdaptScope, DualAveraging, StepSizeAdapter};
pub use ais::{
    AisAdapt, AisBase, AisConfig, AisEstimate, Direction, HeldOutLogLikelihood, PathEnergy,
    Sandwich, Temperatures, ais, held_out_log_likelihood, reverse_ais,
};
pub use ais_rbm::{ais_rbm, reverse_ais_rbm};
pub use any::AnyKernel;
pub use error::{McmcError, Phase};
pub use gibbs::{BlockGibbs, GibbsSweep, bernoulli};
pub use hmc::{Hmc, LeapfrogEnd, hamiltonian, leapfrog};
pub use kernel::{ChainState, Kernel, StepInfo, StepSize, TrajectoryInfo};
pub use mala::Mala;
pub use mass::{InverseMass, MassAdapt, MassEstimator};
pub use nuts::Nuts;
pub use runner::{AdaptConfig, Progress, RunConfig, RunOutput, RunReport, run};
pub use rwm::Rwm;
pub use sgld::Sgld;
pub use spec::KernelSpec;
pub use tempering::{Ladder, ReplicaExchange, SwapInfo, TemperingState};
pub use ula::Ula;
pub use warmup::Windows;
