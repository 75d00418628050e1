//! The logistic-regression posterior on host memory, vectorised over the data rows.
//!
//! For one coefficient vector `theta` the work is `n` logits, `n` softplus and sigmoid values
//! and a `[d + 1] x [n]` product back. With the design stored column by column
//! ([`Columns`]), each of the three passes is a plain loop over rows that the compiler turns
//! into SIMD instructions, provided no call to the C library's `exp` or `log1p` sits inside: the
//! branch-free polynomials of [`crate::fast_math`] take their place. The whole evaluation is
//! compiled twice, for AVX2 with FMA and for the baseline, and chosen at run time.

use crate::fast_math::{exp, ln_1p_unit};

/// Rows per block: the logits of one block stay in registers and L1.
const BLOCK: usize = 256;

/// The design column by column (`[d + 1][n]`, the intercept's ones first) and the labels.
#[derive(Debug, Clone)]
pub(crate) struct Columns {
    cols: Vec<f32>,
    labels: Vec<f32>,
    rows: usize,
}

/// `sum_i a_i b_i` (`b` all ones when `None`) in 8 lanes, so that the loop vectorises (a single
/// running sum would fix the order of the additions and keep it scalar).
#[inline(always)]
fn dot(a: &[f32], b: Option<&[f32]>) -> f32 {
    let mut lanes = [0.0f32; 8];
    let head = a.len() / 8 * 8;
    match b {
        Some(b) => {
            for (ca, cb) in a[..head].chunks_exact(8).zip(b[..head].chunks_exact(8)) {
                for k in 0..8 {
                    lanes[k] += ca[k] * cb[k];
                }
            }
            lanes[0] += a[head..]
                .iter()
                .zip(&b[head..])
                .map(|(x, y)| x * y)
                .sum::<f32>();
        }
        None => {
            for ca in a[..head].chunks_exact(8) {
                for k in 0..8 {
                    lanes[k] += ca[k];
                }
            }
            lanes[0] += a[head..].iter().sum::<f32>();
        }
    }
    lanes.iter().sum()
}

impl Columns {
    /// From the row-major design `[n, d + 1]` and labels `[n]`.
    pub(crate) fn new(design: &[f32], labels: &[f32]) -> Self {
        let rows = labels.len();
        let dim = design.len() / rows.max(1);
        let mut cols = vec![0.0; design.len()];
        for (i, row) in design.chunks_exact(dim).enumerate() {
            for (j, v) in row.iter().enumerate() {
                cols[j * rows + i] = *v;
            }
        }
        Self {
            cols,
            labels: labels.to_vec(),
            rows,
        }
    }

    /// The negative log-likelihood `sum_i softplus(z_i) - y_i z_i` at `theta`, and its gradient
    /// `sum_i (sigma(z_i) - y_i) (1, x_i)` added into `grad`. Uses AVX2 and FMA where the CPU
    /// has them.
    pub(crate) fn nll_and_grad(&self, theta: &[f32], grad: &mut [f64]) -> f64 {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: the CPU has the features `nll_and_grad_avx2` is compiled for.
            #[allow(unsafe_code)]
            return unsafe { self.nll_and_grad_avx2(theta, grad) };
        }
        self.nll_and_grad_portable(theta, grad)
    }

    /// [`Self::nll_and_grad_portable`] compiled for AVX2 and FMA.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    fn nll_and_grad_avx2(&self, theta: &[f32], grad: &mut [f64]) -> f64 {
        self.nll_and_grad_portable(theta, grad)
    }

    #[inline(always)]
    fn nll_and_grad_portable(&self, theta: &[f32], grad: &mut [f64]) -> f64 {
        let (mut z, mut terms) = ([0.0f32; BLOCK], [0.0f32; BLOCK]);
        let mut nll = 0.0f64;
        for start in (0..self.rows).step_by(BLOCK) {
            let len = BLOCK.min(self.rows - start);
            let (z, terms) = (&mut z[..len], &mut terms[..len]);
            z.fill(0.0);
            for (j, t) in theta.iter().enumerate() {
                let col = &self.cols[j * self.rows + start..][..len];
                z.iter_mut().zip(col).for_each(|(z, x)| *z += t * x);
            }
            let labels = &self.labels[start..start + len];
            for ((z, term), y) in z.iter_mut().zip(terms.iter_mut()).zip(labels) {
                let t = exp(-z.abs());
                *term = z.max(0.0) + ln_1p_unit(t) - y * *z;
                let sigma = if *z >= 0.0 { 1.0 } else { t } / (1.0 + t);
                *z = sigma - y; // the residual, in place
            }
            nll += f64::from(dot(terms, None));
            for (j, g) in grad.iter_mut().enumerate() {
                let col = &self.cols[j * self.rows + start..][..len];
                *g += f64::from(dot(z, Some(col)));
            }
        }
        nll
    }
}
