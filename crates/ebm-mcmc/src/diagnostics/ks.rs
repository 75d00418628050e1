//! The two-sample Kolmogorov-Smirnov test.

/// Two-sample Kolmogorov-Smirnov test: the statistic `D = sup_x |F_a(x) - F_b(x)|` of the two
/// empirical CDFs and its asymptotic p-value
///
/// ```text
/// p = Q_KS(lambda),   lambda = (s + 0.12 + 0.11/s) D,   s = sqrt(n_a n_b / (n_a + n_b)),
/// Q_KS(lambda) = 2 sum_{j>=1} (-1)^{j-1} exp(-2 j^2 lambda^2)
/// ```
///
/// (Stephens' small-sample correction, as in Numerical Recipes). Returns `(D, p)`; `(NaN, NaN)`
/// if either sample is empty or holds a NaN.
pub fn ks_two_sample(a: &[f64], b: &[f64]) -> (f64, f64) {
    if a.is_empty() || b.is_empty() || a.iter().chain(b).any(|x| x.is_nan()) {
        return (f64::NAN, f64::NAN);
    }
    let mut a = a.to_vec();
    let mut b = b.to_vec();
    a.sort_by(f64::total_cmp);
    b.sort_by(f64::total_cmp);
    let (na, nb) = (a.len() as f64, b.len() as f64);
    let (mut i, mut j) = (0, 0);
    let mut d: f64 = 0.0;
    while i < a.len() && j < b.len() {
        let x = a[i].min(b[j]);
        // Step both CDFs past every value equal to x (ties move together).
        while i < a.len() && a[i] <= x {
            i += 1;
        }
        while j < b.len() && b[j] <= x {
            j += 1;
        }
        d = d.max((i as f64 / na - j as f64 / nb).abs());
    }
    let s = (na * nb / (na + nb)).sqrt();
    (d, kolmogorov_q((s + 0.12 + 0.11 / s) * d))
}

/// The Kolmogorov survival function `Q_KS(lambda) = 2 sum_{j>=1} (-1)^{j-1} exp(-2 j^2 lambda^2)`,
/// the asymptotic `P(sqrt(n) D > lambda)`; 1 for `lambda` below about 0.2.
pub fn kolmogorov_q(lambda: f64) -> f64 {
    if lambda < 0.2 {
        return 1.0;
    }
    let mut sum = 0.0;
    let mut sign = 1.0;
    for j in 1..=100 {
        let term = (-2.0 * (j * j) as f64 * lambda * lambda).exp();
        sum += sign * term;
        sign = -sign;
        if term < 1e-16 {
            break;
        }
    }
    (2.0 * sum).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ebm_core::SeededRng;

    #[test]
    fn ks_statistic_and_p_value() {
        // D by hand: a = {1,2,3}, b = {2.5}: F_a - F_b peaks at x in [2, 2.5): 2/3 - 0.
        let (d, _) = ks_two_sample(&[1.0, 2.0, 3.0], &[2.5]);
        assert!((d - 2.0 / 3.0).abs() < 1e-12);
        // Known quantile of the Kolmogorov distribution: Q(1.3581) = 0.05.
        assert!((kolmogorov_q(1.3581) - 0.05).abs() < 1e-4);
        let mut rng = SeededRng::new(14);
        let a: Vec<f64> = (0..2000).map(|_| rng.normal_f64()).collect();
        let b: Vec<f64> = (0..2000).map(|_| rng.normal_f64()).collect();
        let c: Vec<f64> = (0..2000).map(|_| rng.normal_f64() + 0.3).collect();
        let (_, p_same) = ks_two_sample(&a, &b);
        let (_, p_shift) = ks_two_sample(&a, &c);
        assert!(p_same > 1e-3, "same distribution p {p_same}");
        // A shift of 0.3 sd moves the CDF by 0.12 at 0; the 1e-3 critical D here is ~0.062.
        assert!(p_shift < 1e-3, "shifted p {p_shift}");
    }
}
