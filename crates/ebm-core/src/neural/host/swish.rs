//! The bias and Swish of a layer, `a = swish(z + b)`, and Swish's derivative, in one vectorised
//! pass on a branch-free `exp`.

use crate::fast_math::exp;

/// Adds the bias and applies Swish in place, row by row: `z <- x sigma(x)` with `x = z + b`
/// (`b = bias`, one value per column; `z` is row-major with `bias.len()` columns), writing the
/// derivative `sigma(x) (1 + x (1 - sigma(x)))` to `deriv` for the backward pass.
///
/// Adding the bias here instead of before the matrix product saves a pass over `z` (and the
/// per-row copies that filled it with the bias). Uses AVX2 and FMA where the CPU has them.
pub(super) fn bias_swish(z: &mut [f32], bias: &[f32], deriv: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU has the features `bias_swish_avx2` is compiled for.
        #[allow(unsafe_code)]
        return unsafe { bias_swish_avx2(z, bias, deriv) };
    }
    bias_swish_portable(z, bias, deriv)
}

/// [`bias_swish_portable`] compiled for AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn bias_swish_avx2(z: &mut [f32], bias: &[f32], deriv: &mut [f32]) {
    bias_swish_portable(z, bias, deriv)
}

#[inline(always)]
fn bias_swish_portable(z: &mut [f32], bias: &[f32], deriv: &mut [f32]) {
    let width = bias.len();
    for (z, d) in z.chunks_exact_mut(width).zip(deriv.chunks_exact_mut(width)) {
        for ((z, d), b) in z.iter_mut().zip(d.iter_mut()).zip(bias) {
            let x = *z + b;
            let s = 1.0 / (1.0 + exp(-x));
            *d = s * (1.0 + x * (1.0 - s));
            *z = x * s;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bias_swish_matches_the_formulas() {
        let bias = [0.5f32, -1.0, 2.0];
        let x: Vec<f32> = (0..24).map(|i| (i as f32 - 12.0) * 0.7).collect();
        let (mut z, mut deriv) = (x.clone(), vec![0.0; x.len()]);
        bias_swish(&mut z, &bias, &mut deriv);
        for (i, &x) in x.iter().enumerate() {
            let x = (x + bias[i % 3]) as f64;
            let s = 1.0 / (1.0 + (-x).exp());
            assert!(
                (z[i] as f64 - x * s).abs() < 1e-5 * (1.0 + x.abs()),
                "swish at {i}"
            );
            let d = s * (1.0 + x * (1.0 - s));
            assert!((deriv[i] as f64 - d).abs() < 1e-5, "derivative at {i}");
        }
    }
}
