//! Swish `z sigma(z)` and its derivative in one vectorised pass, on a branch-free `exp`.

use crate::fast_math::exp;

/// Swish in place, `z <- z sigma(z)`, writing its derivative `sigma(z) (1 + z (1 - sigma(z)))`
/// to `deriv` for the backward pass. Uses AVX2 and FMA where the CPU has them.
pub(super) fn swish(z: &mut [f32], deriv: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU has the features `swish_avx2` is compiled for.
        #[allow(unsafe_code)]
        return unsafe { swish_avx2(z, deriv) };
    }
    swish_portable(z, deriv)
}

/// [`swish_portable`] compiled for AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn swish_avx2(z: &mut [f32], deriv: &mut [f32]) {
    swish_portable(z, deriv)
}

#[inline(always)]
fn swish_portable(z: &mut [f32], deriv: &mut [f32]) {
    for (z, d) in z.iter_mut().zip(deriv.iter_mut()) {
        let s = 1.0 / (1.0 + exp(-*z));
        *d = s * (1.0 + *z * (1.0 - s));
        *z *= s;
    }
}
