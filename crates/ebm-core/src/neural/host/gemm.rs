//! Single-threaded matrix products and the row helpers around them.

/// Adds the column sums of the row-major matrix `m` (`sums.len()` columns) into `sums`.
pub(super) fn add_column_sums(sums: &mut [f32], m: &[f32]) {
    for row in m.chunks_exact(sums.len()) {
        sums.iter_mut().zip(row).for_each(|(s, v)| *s += v);
    }
}

/// Sets `dst` to `rows` copies of `row`.
pub(super) fn fill_rows(dst: &mut Vec<f32>, row: &[f32], rows: usize) {
    dst.clear();
    for _ in 0..rows {
        dst.extend_from_slice(row);
    }
}

/// `dst[m, n] = (accumulate ? dst : 0) + lhs[m, k] rhs[k, n]`, all row-major, on this thread.
///
/// `lhs_t` reads `lhs` stored as `[k, m]`, `rhs_t` reads `rhs` stored as `[n, k]`.
#[allow(clippy::too_many_arguments)]
#[allow(unsafe_code)]
pub(super) fn matmul(
    m: usize,
    n: usize,
    k: usize,
    dst: &mut [f32],
    accumulate: bool,
    lhs: &[f32],
    lhs_t: bool,
    rhs: &[f32],
    rhs_t: bool,
) {
    assert!(dst.len() >= m * n && lhs.len() >= m * k && rhs.len() >= k * n);
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            dst[..m * n].fill(0.0);
        }
        return;
    }
    let (lhs_cs, lhs_rs) = if lhs_t { (m, 1) } else { (1, k) };
    let (rhs_cs, rhs_rs) = if rhs_t { (k, 1) } else { (1, n) };
    // SAFETY: the lengths were checked above, so every index `gemm` forms from these sizes and
    // strides (row-major `dst[m, n]`, `lhs` `m x k`, `rhs` `k x n`) lies inside its slice; `dst`
    // is borrowed mutably, so it aliases neither input.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            lhs.as_ptr(),
            lhs_cs as isize,
            lhs_rs as isize,
            rhs.as_ptr(),
            rhs_cs as isize,
            rhs_rs as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}
