//! Swish `z sigma(z)` and its derivative in one vectorised pass, on a branch-free `exp`.

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

/// `e^x` to about 2e-7 relative error, branch-free so that loops over it vectorise (the C
/// library's `expf` does not). Arguments beyond `[-87, 88]` are clamped.
///
/// `x = k ln 2 + r` with `k` the nearest integer to `x / ln 2` and `|r| <= ln 2 / 2`; `e^r` is its
/// degree-6 Taylor polynomial and `2^k` is put straight into the exponent bits.
#[inline(always)]
fn exp(x: f32) -> f32 {
    const ROUND: f32 = 12_582_912.0; // 1.5 * 2^23: adding it rounds to an integer.
    // Not `clamp`: its NaN check keeps the loop from vectorising.
    #[allow(clippy::manual_clamp)]
    let x = x.max(-87.0).min(88.0);
    let t = x * std::f32::consts::LOG2_E + ROUND;
    let k = t - ROUND;
    // ln 2 in two parts (Cody-Waite), so that k ln 2 is exact to f32 precision for |k| <= 127.
    let r = (x - k * (355.0 / 512.0)) + k * 2.121_944_4e-4;
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0))))));
    // `t`'s low mantissa bits hold k (offset by ROUND's bits): 2^k without a float-int conversion.
    let k_bits = t.to_bits().wrapping_sub(ROUND.to_bits());
    p * f32::from_bits(k_bits.wrapping_add(127) << 23)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_exp_is_accurate_over_the_range_swish_meets() {
        let mut worst = 0.0f64;
        for i in 0..=200_000 {
            let x = -80.0 + 160.0 * i as f32 / 200_000.0;
            let (fast, exact) = (exp(x) as f64, (x as f64).exp());
            worst = worst.max(((fast - exact) / exact).abs());
        }
        // Degree-6 Taylor remainder on |r| <= ln 2 / 2 is 1.6e-7 relative, plus f32 rounding.
        assert!(worst < 5e-7, "worst relative error {worst:e}");
        assert_eq!(exp(-1000.0), exp(-87.0));
        assert!(exp(1000.0).is_finite());
    }
}
