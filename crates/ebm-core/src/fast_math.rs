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

/// `log(1 + t)` for `-0.3 <= t <= 1`: `2 atanh(s)` with `s = t / (2 + t)`, `|s| <= 1/3`, the odd
/// series to `s^13` (truncation below 1e-8), so a few `f32` ulps in all.
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

/// `ln x` for `0 < x <= 1` (normal numbers), branch-free: `x = m 2^e` with `m` read off the bits
/// and moved into `[sqrt(1/2), sqrt(2))`, then `e ln 2 + ln(1 + (m - 1))` by the series of
/// [`ln_1p_unit`] (which converges for `|m - 1| <= 0.42` too). `m - 1` is exact, so the result
/// keeps its relative accuracy near `x = 1`.
#[inline(always)]
pub(crate) fn ln_unit(x: f32) -> f32 {
    let bits = x.to_bits();
    let e = ((bits >> 23) as i32 - 127) as f32;
    let m = f32::from_bits((bits & 0x007f_ffff) | 0x3f80_0000);
    let big = m > std::f32::consts::SQRT_2;
    let (m, e) = if big { (0.5 * m, e + 1.0) } else { (m, e) };
    e * std::f32::consts::LN_2 + ln_1p_unit(m - 1.0)
}

/// `(cos 2 pi u, sin 2 pi u)` for `0 <= u < 1`, branch-free: the quarter turn `q` nearest to `u`
/// is taken out exactly (a swap and signs), and the rest, `|theta| <= pi / 4`, goes through the
/// Taylor polynomials of degree 10 (cos) and 11 (sin), whose remainders are below 1e-10.
#[inline(always)]
pub(crate) fn cos_sin_turn(u: f32) -> (f32, f32) {
    const ROUND: f32 = 12_582_912.0; // 1.5 * 2^23: adding it rounds to an integer.
    let t = 4.0 * u + ROUND;
    let q = t - ROUND;
    let quarter = t.to_bits().wrapping_sub(ROUND.to_bits()) & 3;
    let theta = (u - 0.25 * q) * std::f32::consts::TAU;
    let t2 = theta * theta;
    let c = 1.0
        - t2 * (0.5
            - t2 * (1.0 / 24.0 - t2 * (1.0 / 720.0 - t2 * (1.0 / 40_320.0 - t2 / 3_628_800.0))));
    let s = theta
        * (1.0
            - t2 * (1.0 / 6.0
                - t2 * (1.0 / 120.0
                    - t2 * (1.0 / 5_040.0 - t2 * (1.0 / 362_880.0 - t2 / 39_916_800.0)))));
    // Turning by q quarters: (c, s) -> (-s, c) -> (-c, -s) -> (s, -c).
    let (a, b) = if quarter & 1 == 0 { (c, s) } else { (s, c) };
    let cos_sign = if quarter == 1 || quarter == 2 {
        -1.0
    } else {
        1.0
    };
    let sin_sign = if quarter >= 2 { -1.0 } else { 1.0 };
    (cos_sign * a, sin_sign * b)
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

    #[test]
    fn ln_unit_matches_the_library() {
        let mut worst = 0.0f64;
        for i in 1..=200_000u32 {
            // Log-spaced over (2^-33, 1], the range the normal generator feeds it.
            let x = (2.0f64).powf(-33.0 * (1.0 - i as f64 / 200_000.0)) as f32;
            let (got, want) = (ln_unit(x) as f64, (x as f64).ln());
            worst = worst.max(((got - want) / want).abs());
        }
        assert!(worst < 1e-6, "worst relative error {worst:e}");
        assert_eq!(ln_unit(1.0), 0.0);
    }

    #[test]
    fn cos_sin_turn_matches_the_library() {
        let mut worst = 0.0f64;
        for i in 0..200_000u32 {
            let u = i as f32 / 200_000.0;
            let (c, s) = cos_sin_turn(u);
            let theta = u as f64 * std::f64::consts::TAU;
            worst = worst
                .max((c as f64 - theta.cos()).abs())
                .max((s as f64 - theta.sin()).abs());
        }
        assert!(worst < 1e-6, "worst absolute error {worst:e}");
    }
}
