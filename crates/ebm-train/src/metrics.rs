//! What one contrastive-divergence step measured (a line of `metrics.jsonl`, inside the loop's
//! [`StepRecord`](crate::fit::StepRecord)).

use serde::{Deserialize, Serialize};

/// What one parameter step measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepMetrics {
    /// The loss.
    pub loss: f64,
    /// Mean energy of the data batch.
    pub e_pos: f64,
    /// Mean energy of the negatives.
    pub e_neg: f64,
    /// Mean acceptance probability of the sampler (absent for unadjusted kernels).
    pub acceptance: Option<f64>,
    /// L2 norm of the parameter gradient (before clipping).
    pub grad_norm: f64,
    /// The learning rate used.
    pub lr: f64,
}
