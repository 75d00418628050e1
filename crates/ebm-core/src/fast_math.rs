//! Branch-free `f32` versions of `exp` and `log(1 + t)`, so that loops over them vectorise (the C
//! library's `expf` and `log1pf` are calls, and a loop with a call in it stays scalar). The CPU
//! fast paths of the CNN's Swish and of the logistic-regression likelihood use them.

/// `e^x` to about 2e-7 relative error, branch-free so that loops over it vectorise (the C
/// library's `expf` does not). Arguments beyond `[-87, 88]` are clamped.
///
/// `x = k ln 2 + r` with `k` the nearest integer to `x / ln 2` and `|r| <= ln 2 / 2`; `e^r` is its
/// degree-6 Taylor polynomial and `2^k` is put straight into the exponent bits.
#[inline(always)]
pub(crate) fn exp(x: f32) -> f32 {
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

/// `log(1 + t)` for `0 <= t <= 1`: `2 atanh(s)` with `s = t / (2 + t) <= 1/3`, the odd series to
/// `s^13` (truncation below 1e-8), so a few `f32` ulps in all.
#[inline(always)]
pub(crate) fn ln_1p_unit(t: f32) -> f32 {
    let s = t / (2.0 + t);
    let s2 = s * s;
    let series = 1.0
        + s2 * (1.0 / 3.0
            + s2 * (1.0 / 5.0
                + s2 * (1.0 / 7.0 + s2 * (1.0 / 9.0 + s2 * (1.0 / 11.0 + s2 / 13.0)))));
    2.0 * s * series
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_is_accurate_over_the_range_of_f32() {
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

    #[test]
    fn ln_1p_unit_matches_the_library() {
        for i in 0..=20_000 {
            let t = i as f32 / 20_000.0;
            let (got, want) = (ln_1p_unit(t), t.ln_1p());
            assert!(
                (got - want).abs() <= 3e-7 * want,
                "log1p({t}): {got} vs {want}"
            );
        }
    }
}
