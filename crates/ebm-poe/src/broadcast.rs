//! Per-item arithmetic shared by the compositions: scalars per item broadcast over an item's axes.

use burn::tensor::Tensor;

/// Broadcasts one value per item, `[N]`, to a batch of shape `dims = [N, ...]`
/// (reshape to `[N, 1, ..., 1]`, then expand).
pub(crate) fn per_item<const D: usize>(v: Tensor<1>, dims: [usize; D]) -> Tensor<D> {
    let mut shape = [1usize; D];
    shape[0] = dims[0];
    v.reshape(shape).expand(dims)
}

/// `[N, K]` from `K` tensors of shape `[N]` (column `k` is `columns[k]`).
pub(crate) fn stack_columns(columns: Vec<Tensor<1>>) -> Tensor<2> {
    let n = columns[0].dims()[0];
    let cols: Vec<Tensor<2>> = columns.into_iter().map(|c| c.reshape([n, 1])).collect();
    Tensor::cat(cols, 1)
}

pub(crate) use ebm_core::neural::conditional::log_sum_exp_rows;

/// `softplus(z) = log(1 + e^z)`, stable for large `|z|`: `max(z, 0) + log(1 + e^{-|z|})`.
pub(crate) fn softplus<const D: usize>(z: Tensor<D>) -> Tensor<D> {
    z.clone().clamp_min(0.0) + (z.abs().neg().exp() + 1.0).log()
}

/// The logistic function `sigma(z) = 1 / (1 + e^{-z}) = exp(-softplus(-z))`, stable.
pub(crate) fn sigmoid<const D: usize>(z: Tensor<D>) -> Tensor<D> {
    softplus(z.neg()).neg().exp()
}
