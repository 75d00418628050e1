//! The one training loop every trainer goes through, and the run folder it writes.
//!
//! - [`Learner`]: what a trainer says (one step; save and load its state); [`Batches`]: the data.
//! - [`Fit`]: the loop (order, metrics, progress, Ctrl-C, checkpoints, resume, budget, best
//!   model, divergence recovery, per-epoch hook), configured by [`FitConfig`].
//! - [`RunDir`]: the run folder (`config.json`, `metrics.jsonl`, `checkpoints/`, `best/`,
//!   `samples/`); [`CheckpointStore`]: atomic, durable checkpoints with a `latest` pointer.
//! - [`StepRecord`] and [`MetricsLog`]: one JSON-lines metrics schema.
//! - [`epoch_order`]: the seeded data order; [`Progress`]; [`Interrupt`]; [`durable`] file
//!   writes; [`fault`]: staged crashes for durability tests (`EBM_FAULT`).

pub mod checkpoint;
pub mod config;
pub mod durable;
pub mod fault;
pub mod fitting;
pub mod interrupt;
pub mod learner;
pub mod order;
pub mod progress;
pub mod record;
pub mod run_dir;

pub use checkpoint::{CheckpointStore, SaveStage};
pub use config::{FitConfig, OnDivergence};
pub use fitting::{Best, Fit, FitOutcome, FitState, Stopped};
pub use interrupt::Interrupt;
pub use learner::{Batches, FnBatches, Learner};
pub use order::epoch_order;
pub use progress::Progress;
pub use record::{MetricsLog, StepRecord};
pub use run_dir::{RunDir, read_config_file};
