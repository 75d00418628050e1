//! # ebm-train
//!
//! Contrastive-divergence training of energy-based models on burn: any energy module, any
//! `ebm-mcmc` kernel.
//!
//! - [`config`]: every setting in one serialisable [`TrainConfig`].
//! - [`loss`]: the CD loss with energy regularisation.
//! - [`sampler`]: running a configured kernel ([`SamplerConfig`], `ebm-mcmc`'s `KernelSpec`) to
//!   make negatives.
//! - [`buffer`]: the replay buffer of persistent CD and where its fresh items come from.
//! - [`augment`]: random translations of image batches.
//! - [`class_base`]: per-class Gaussians fitted to images ([`ClassGaussians`]), JEM++'s
//!   informative initialisation of the replay buffer.
//! - [`mixture_base`]: a mixture of diagonal Gaussians fitted by k-means ([`GaussianMixture`]),
//!   a simple fitted base for fresh chains (`InitDistribution::Mixture`).
//! - [`fit`]: the one training loop ([`Fit`], [`Learner`]), the run folder ([`RunDir`]), atomic
//!   checkpoints, metrics as JSON lines, progress, Ctrl-C.
//! - [`trainer`]: the contrastive-divergence step ([`Trainer`]); [`trainer_io`]: its checkpoint
//!   files and its [`Learner`] implementation.
//! - [`metrics`]: what a CD step measured.
//! - [`eval`]: exact held-out NLL in 2-D by quadrature, a Gaussian KDE baseline, MMD².
//! - [`conditional`]: joint CD (or cross-entropy) for a conditional energy `E(x, y)`
//!   ([`ConditionalTrainer`]); [`conditional_io`]: its checkpoints and [`Learner`] implementation.
//! - [`nce`]: noise-contrastive estimation against a noise density with exact draws
//!   ([`NceTrainer`]); [`nce_io`]: its checkpoints and [`Learner`] implementation.
//! - [`rbm`]: CD-k and persistent CD for the RBM ([`RbmTrainer`]), checkpoints.
//! - [`error`][]: [`TrainError`].

pub mod augment;
pub mod buffer;
pub mod class_base;
pub mod conditional;
pub mod conditional_io;
pub mod config;
pub mod error;
pub mod eval;
pub mod fit;
pub mod loss;
pub mod metrics;
pub mod mixture_base;
pub mod nce;
pub mod nce_io;
pub mod rbm;
pub mod record_io;
pub mod sampler;
pub mod trainer;
pub mod trainer_io;

pub use augment::random_shift;
pub use buffer::{BufferFill, ReplayBuffer};
pub use class_base::ClassGaussians;
pub use conditional::{
    ConditionalStepMetrics, ConditionalTrainConfig, ConditionalTrainer, Objective,
};
pub use config::{InitDistribution, NegativeConfig, OptimizerConfig, SamplerConfig, TrainConfig};
pub use error::TrainError;
pub use eval::{EvalError, ExactNll, Kde, KdeFit, MeanSe, Mmd, exact_nll, mmd, mmd2_unbiased};
pub use fit::{
    Batches, CheckpointStore, Fit, FitConfig, FitOutcome, FitState, FnBatches, Interrupt, Learner,
    MetricsLog, OnDivergence, RunDir, StepRecord, Stopped, epoch_order,
};
pub use loss::contrastive_loss;
pub use metrics::StepMetrics;
pub use mixture_base::{GaussianMixture, KMEANS_ROUNDS};
pub use nce::{NceConfig, NceStepMetrics, NceTrainer, NoiseSource, nce_loss};
pub use rbm::{RbmStepMetrics, RbmTrainConfig, RbmTrainer, load_rbm};
pub use record_io::{load_optimizer, read_module_record};
pub use sampler::{run_kernel, run_sampler};
pub use trainer::Trainer;

/// The README's code blocks, run as doctests (`cargo test --doc -p ebm-train`).
#[doc = include_str!("../../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
