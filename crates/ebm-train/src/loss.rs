//! The contrastive-divergence loss.

use burn::tensor::Tensor;

/// `L = mean E(x+) - mean E(x-) + alpha * mean(E(x+)^2 + E(x-)^2)`.
///
/// Its parameter gradient is the CD estimate of the negative log-likelihood gradient,
/// `d/dθ [-log p(x+)] = dE(x+)/dθ - E_{x ~ p}[dE(x)/dθ]`, with model samples `x-` standing in for
/// the expectation; the `alpha` term keeps energies near zero so they cannot drift without bound.
/// Returns the loss `[1]`, the mean positive energy `[1]` and the mean negative energy `[1]`.
pub fn contrastive_loss(
    e_pos: Tensor<1>,
    e_neg: Tensor<1>,
    alpha: f64,
) -> (Tensor<1>, Tensor<1>, Tensor<1>) {
    let (mp, mn) = (e_pos.clone().mean(), e_neg.clone().mean());
    let reg = (e_pos.powi_scalar(2).mean() + e_neg.powi_scalar(2).mean()) * alpha;
    (mp.clone() - mn.clone() + reg, mp, mn)
}
