//! Special functions needed for closed-form normalising constants.

/// `ln Gamma(x)` for `x > 0` by the Lanczos approximation (g = 7, n = 9), accurate to ~1e-15.
pub(crate) fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection: Gamma(x) Gamma(1 - x) = pi / sin(pi x).
        return (std::f64::consts::PI / (std::f64::consts::PI * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let t = x + G + 0.5;
    let sum = C[0] + (1..9).map(|i| C[i] / (x + i as f64)).sum::<f64>();
    super::HALF_LN_2PI + (x + 0.5) * t.ln() - t + sum.ln()
}

/// `ln I_nu(z)`, the modified Bessel function of the first kind, for `z > 0` and `nu > -1`, by
/// its power series `I_nu(z) = sum_k (z/2)^(2k+nu) / (k! Gamma(k+nu+1))` summed in log space.
pub(crate) fn ln_bessel_i(nu: f64, z: f64) -> f64 {
    let lz = (z / 2.0).ln();
    let terms: Vec<f64> = (0..2000)
        .map(|k| {
            let k = k as f64;
            (2.0 * k + nu) * lz - ln_gamma(k + 1.0) - ln_gamma(k + nu + 1.0)
        })
        .collect();
    log_sum_exp(&terms)
}

/// `ln sum_i exp(v_i)`, stable.
pub(crate) fn log_sum_exp(v: &[f64]) -> f64 {
    let m = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !m.is_finite() {
        return m;
    }
    m + v.iter().map(|x| (x - m).exp()).sum::<f64>().ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gamma_at_known_points() {
        assert!((ln_gamma(1.0)).abs() < 1e-13);
        assert!((ln_gamma(5.0) - 24f64.ln()).abs() < 1e-12);
        assert!((ln_gamma(0.5) - std::f64::consts::PI.sqrt().ln()).abs() < 1e-12);
        // Gamma(0.75) = 1.2254167024651776
        assert!((ln_gamma(0.75) - 1.225_416_702_465_177_6f64.ln()).abs() < 1e-12);
    }

    #[test]
    fn bessel_i_at_known_points() {
        // I_0(1) = 1.2660658777520082, I_{1/2}(z) = sqrt(2 / (pi z)) sinh z.
        assert!((ln_bessel_i(0.0, 1.0) - 1.266_065_877_752_008_2f64.ln()).abs() < 1e-12);
        let z: f64 = 3.7;
        let exact = ((2.0 / (std::f64::consts::PI * z)).sqrt() * z.sinh()).ln();
        assert!((ln_bessel_i(0.5, z) - exact).abs() < 1e-12);
    }
}
