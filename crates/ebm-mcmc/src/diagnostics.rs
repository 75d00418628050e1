//! Convergence diagnostics on host draws: rank-normalised split R-hat, bulk ESS and the
//! two-sample Kolmogorov-Smirnov test.
//!
//! Everything here is plain `f64` host code. The draws of one scalar quantity are laid out
//! `[chains][draws]`: `draws[c][i]` is draw `i` of chain `c`; all chains must have the same length.
//!
//! The estimators follow Vehtari, Gelman, Simpson, Carpenter and Bürkner (2021), "Rank-normalization,
//! folding, and localization: an improved R-hat for assessing convergence of MCMC", as implemented in
//! Stan and ArviZ:
//!
//! * every chain is split in two halves (the middle draw of an odd chain is dropped), so that a
//!   trend inside a chain shows up as disagreement between half-chains;
//! * rank normalisation replaces each draw by `z = Phi^{-1}((r - 3/8) / (S + 1/4))`, where `r` is
//!   its rank among all `S` pooled draws (ties get their average rank), which makes the estimators
//!   robust to heavy tails;
//! * the effective sample size uses Geyer's initial monotone sequence on the multi-chain
//!   autocorrelation estimate.

/// Classic (non-split, non-normalised) potential scale reduction of `m` chains of `n` draws:
///
/// ```text
/// W = (1/m) sum_j s_j^2,   B = n/(m-1) sum_j (mean_j - mean)^2,
/// var+ = (n-1)/n W + B/n,   R = sqrt(var+ / W)
/// ```
///
/// Returns `NaN` for fewer than two chains, fewer than two draws, or zero within-chain variance.
pub fn rhat_basic(chains: &[Vec<f64>]) -> f64 {
    let m = chains.len();
    if m < 2 {
        return f64::NAN;
    }
    let n = chains[0].len();
    if n < 2 || chains.iter().any(|c| c.len() != n) {
        return f64::NAN;
    }
    let means: Vec<f64> = chains.iter().map(|c| mean(c)).collect();
    let grand = mean(&means);
    let w = chains
        .iter()
        .zip(&means)
        .map(|(c, &mu)| c.iter().map(|x| (x - mu).powi(2)).sum::<f64>() / (n as f64 - 1.0))
        .sum::<f64>()
        / m as f64;
    let b = n as f64 / (m as f64 - 1.0) * means.iter().map(|mu| (mu - grand).powi(2)).sum::<f64>();
    if w <= 0.0 {
        return f64::NAN;
    }
    let var_plus = (n as f64 - 1.0) / n as f64 * w + b / n as f64;
    (var_plus / w).sqrt()
}

/// Rank-normalised split R-hat (Vehtari et al. 2021):
///
/// ```text
/// R = max( R_basic(z(split(x))), R_basic(z(split(|x - median(x)|))) )
/// ```
///
/// the larger of the bulk value and the folded (tail, scale) value. Values near 1 indicate that
/// the chains agree; above about 1.01 (strict) or 1.1 (lenient) they do not. Works with a single
/// chain (it is split in two). Returns `NaN` when there are fewer than 4 draws per chain.
pub fn split_rhat(chains: &[Vec<f64>]) -> f64 {
    let Some(split) = split_chains(chains) else {
        return f64::NAN;
    };
    let bulk = rhat_basic(&rank_normalise(&split));
    let all: Vec<f64> = split.iter().flatten().copied().collect();
    let med = median(&all);
    let folded: Vec<Vec<f64>> = split
        .iter()
        .map(|c| c.iter().map(|x| (x - med).abs()).collect())
        .collect();
    let tail = rhat_basic(&rank_normalise(&folded));
    bulk.max(tail)
}

/// Bulk effective sample size: [`ess_basic`] on the rank-normalised split chains
/// (Vehtari et al. 2021). Returns `NaN` when there are fewer than 4 draws per chain.
pub fn ess_bulk(chains: &[Vec<f64>]) -> f64 {
    match split_chains(chains) {
        Some(split) => ess_basic(&rank_normalise(&split)),
        None => f64::NAN,
    }
}

/// Effective sample size of the mean of `m` chains of `n` draws, as in Stan:
///
/// ```text
/// rho_t = 1 - (W - (1/m) sum_j acov_j(t)) / var+,
/// tau   = -1 + 2 sum_{t=0}^{2K+1} rho_t   (Geyer's initial positive, monotone sequence),
/// ESS   = m n / tau
/// ```
///
/// `acov_j(t)` is the biased autocovariance of chain `j` at lag `t`, `W` the mean within-chain
/// variance and `var+` the pooled variance estimate of [`rhat_basic`]. The pairs
/// `rho_{2k} + rho_{2k+1}` are summed while positive and forced to be non-increasing. `tau` is
/// bounded below by `1 / log10(m n)`, so the ESS can exceed `m n` for antithetic chains, but not by
/// much. The chains are used as given (not split); returns `NaN` for chains shorter than 4 draws
/// or of zero variance.
pub fn ess_basic(chains: &[Vec<f64>]) -> f64 {
    let m = chains.len();
    if m == 0 {
        return f64::NAN;
    }
    let n = chains[0].len();
    if n < 4 || chains.iter().any(|c| c.len() != n) {
        return f64::NAN;
    }
    let centred: Vec<Vec<f64>> = chains
        .iter()
        .map(|c| {
            let mu = mean(c);
            c.iter().map(|x| x - mu).collect()
        })
        .collect();
    let means: Vec<f64> = chains.iter().map(|c| mean(c)).collect();
    // Mean over chains of the biased autocovariance at lag t, computed on demand (the sequence
    // usually stops after a few lags, so this is cheaper than a full FFT).
    let mean_acov = |t: usize| -> f64 {
        centred
            .iter()
            .map(|c| {
                c[..n - t]
                    .iter()
                    .zip(&c[t..])
                    .map(|(a, b)| a * b)
                    .sum::<f64>()
                    / n as f64
            })
            .sum::<f64>()
            / m as f64
    };
    let nf = n as f64;
    let mean_var = mean_acov(0) * nf / (nf - 1.0);
    let mut var_plus = mean_var * (nf - 1.0) / nf;
    if m > 1 {
        let grand = mean(&means);
        var_plus += means.iter().map(|mu| (mu - grand).powi(2)).sum::<f64>() / (m as f64 - 1.0);
    }
    if var_plus <= 0.0 || !var_plus.is_finite() {
        return f64::NAN;
    }
    let rho = |t: usize| 1.0 - (mean_var - mean_acov(t)) / var_plus;
    let mut rho_hat = vec![0.0; n];
    rho_hat[0] = 1.0;
    let mut rho_even = 1.0;
    let mut rho_odd = rho(1);
    rho_hat[1] = rho_odd;
    // Geyer's initial positive sequence: sum pairs while their sum is positive.
    let mut t = 1;
    while t < n - 3 && rho_even + rho_odd > 0.0 {
        rho_even = rho(t + 1);
        rho_odd = rho(t + 2);
        if rho_even + rho_odd >= 0.0 {
            rho_hat[t + 1] = rho_even;
            rho_hat[t + 2] = rho_odd;
        }
        t += 2;
    }
    let total = (m * n) as f64;
    let tau_floor = 1.0 / total.log10();
    if t == 1 {
        // The very first pair was negative (strongly antithetic chains): Stan's formula then
        // gives tau = 0, bounded below by the floor.
        return total / tau_floor;
    }
    let max_t = t - 2;
    // Improve the estimate of the truncated tail, as Stan does.
    if rho_even > 0.0 {
        rho_hat[max_t + 1] = rho_even;
    }
    // Geyer's initial monotone sequence.
    let mut t = 1;
    while t + 2 <= max_t {
        if rho_hat[t + 1] + rho_hat[t + 2] > rho_hat[t - 1] + rho_hat[t] {
            rho_hat[t + 1] = (rho_hat[t - 1] + rho_hat[t]) / 2.0;
            rho_hat[t + 2] = rho_hat[t + 1];
        }
        t += 2;
    }
    let tau = -1.0 + 2.0 * rho_hat[..=max_t].iter().sum::<f64>() + rho_hat[max_t + 1];
    total / tau.max(tau_floor)
}

/// Splits every chain into its first and second half (dropping the middle draw of an odd chain).
/// `None` if there are no chains, chains of unequal length or fewer than 4 draws per chain.
pub fn split_chains(chains: &[Vec<f64>]) -> Option<Vec<Vec<f64>>> {
    let n = chains.first()?.len();
    if n < 4 || chains.iter().any(|c| c.len() != n) {
        return None;
    }
    let half = n / 2;
    let mut out = Vec::with_capacity(2 * chains.len());
    for c in chains {
        out.push(c[..half].to_vec());
        out.push(c[n - half..].to_vec());
    }
    Some(out)
}

/// Rank normalisation: each value becomes `Phi^{-1}((r - 3/8) / (S + 1/4))` with `r` its
/// (1-based, tie-averaged) rank among all `S` pooled values. The layout is kept.
pub fn rank_normalise(chains: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let mut pooled: Vec<(f64, usize)> = chains
        .iter()
        .flatten()
        .copied()
        .enumerate()
        .map(|(i, x)| (x, i))
        .collect();
    let s = pooled.len();
    pooled.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut ranks = vec![0.0; s];
    let mut i = 0;
    while i < s {
        let mut j = i;
        while j + 1 < s && pooled[j + 1].0 == pooled[i].0 {
            j += 1;
        }
        // Positions i..=j (0-based) tie: average 1-based rank.
        let r = (i + j) as f64 / 2.0 + 1.0;
        for p in &pooled[i..=j] {
            ranks[p.1] = r;
        }
        i = j + 1;
    }
    let sf = s as f64;
    let mut k = 0;
    chains
        .iter()
        .map(|c| {
            c.iter()
                .map(|_| {
                    let z = normal_quantile((ranks[k] - 0.375) / (sf + 0.25));
                    k += 1;
                    z
                })
                .collect()
        })
        .collect()
}

/// The standard normal quantile `Phi^{-1}(p)` for `0 < p < 1` (Wichura's AS241, relative error
/// about `1e-16`); `-inf`/`+inf` at 0/1 and `NaN` outside `[0, 1]`.
// The coefficients are quoted with all the digits Wichura published, as in R's qnorm.
#[allow(clippy::excessive_precision, clippy::inconsistent_digit_grouping)]
pub fn normal_quantile(p: f64) -> f64 {
    if !(0.0..=1.0).contains(&p) {
        return f64::NAN;
    }
    if p == 0.0 {
        return f64::NEG_INFINITY;
    }
    if p == 1.0 {
        return f64::INFINITY;
    }
    let q = p - 0.5;
    if q.abs() <= 0.425 {
        let r = 0.180625 - q * q;
        return q
            * (((((((r * 2509.080_928_730_122_7 + 33430.575_583_588_128) * r
                + 67265.770_927_008_700_853)
                * r
                + 45921.953_931_549_871_457)
                * r
                + 13731.693_765_509_461_125)
                * r
                + 1971.590_950_306_551_442_7)
                * r
                + 133.141_667_891_784_377_02)
                * r
                + 3.387_132_872_796_366_608)
            / (((((((r * 5226.495_278_852_854_561 + 28729.085_735_721_942_674) * r
                + 39307.895_800_092_710_610)
                * r
                + 21213.794_301_586_595_867)
                * r
                + 5394.196_021_424_751_077_1)
                * r
                + 687.187_007_492_057_908_95)
                * r
                + 42.313_330_701_600_911_252)
                * r
                + 1.0);
    }
    let mut r = if q < 0.0 { p } else { 1.0 - p };
    r = (-r.ln()).sqrt();
    let val = if r <= 5.0 {
        r -= 1.6;
        (((((((r * 7.745_450_142_783_414_076_0e-4 + 0.022_723_844_989_269_184_583) * r
            + 0.241_780_725_177_450_611_77)
            * r
            + 1.270_458_252_452_368_382_58)
            * r
            + 3.647_848_324_763_204_605_04)
            * r
            + 5.769_497_221_460_691_405_5)
            * r
            + 4.630_337_846_156_545_295_9)
            * r
            + 1.423_437_110_749_683_577_34)
            / (((((((r * 1.050_750_071_644_416_843_24e-9 + 5.475_938_084_995_344_946_0e-4) * r
                + 0.015_198_666_563_616_457_2)
                * r
                + 0.148_103_976_427_480_074_59)
                * r
                + 0.689_767_334_985_100_004_55)
                * r
                + 1.676_384_830_183_803_849_4)
                * r
                + 2.053_191_626_637_758_821_87)
                * r
                + 1.0)
    } else {
        r -= 5.0;
        (((((((r * 2.010_334_399_292_288_132_65e-7 + 2.711_555_568_743_487_578_86e-5) * r
            + 0.001_242_660_947_388_078_438_6)
            * r
            + 0.026_532_189_526_576_123_093)
            * r
            + 0.296_560_571_828_504_891_23)
            * r
            + 1.784_826_539_917_291_335_8)
            * r
            + 5.463_784_911_164_114_369_9)
            * r
            + 6.657_904_643_501_103_777_2)
            / (((((((r * 2.044_263_103_389_939_785_41e-15 + 1.421_511_758_316_445_887_8e-7)
                * r
                + 1.846_318_317_510_054_681_8e-5)
                * r
                + 7.868_691_311_456_132_591e-4)
                * r
                + 0.014_875_361_290_850_615_025)
                * r
                + 0.136_929_880_922_735_805_31)
                * r
                + 0.599_832_206_555_887_937_69)
                * r
                + 1.0)
    };
    if q < 0.0 { -val } else { val }
}

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

fn mean(x: &[f64]) -> f64 {
    x.iter().sum::<f64>() / x.len() as f64
}

/// The median of `x` (the mean of the two middle values for an even count).
pub fn median(x: &[f64]) -> f64 {
    let mut v = x.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ebm_core::SeededRng;

    /// `m` chains of `n` draws of a stationary Gaussian AR(1), `x_t = phi x_{t-1} + sqrt(1-phi^2) e_t`.
    fn ar1(m: usize, n: usize, phi: f64, rng: &mut SeededRng) -> Vec<Vec<f64>> {
        (0..m)
            .map(|_| {
                let mut x = rng.normal_f64();
                (0..n)
                    .map(|_| {
                        x = phi * x + (1.0 - phi * phi).sqrt() * rng.normal_f64();
                        x
                    })
                    .collect()
            })
            .collect()
    }

    /// Relative Monte-Carlo sd of an integrated-autocorrelation-time estimate summed over a window
    /// of `w` lags from `n` draws (Sokal's approximation `var(tau)/tau^2 ~ 2 (2w + 1) / n`).
    fn tau_rel_sd(w: f64, n: f64) -> f64 {
        (2.0 * (2.0 * w + 1.0) / n).sqrt()
    }

    #[test]
    fn normal_quantile_matches_known_values() {
        let cases = [
            (0.5, 0.0),
            (0.975, 1.959_963_984_540_054),
            (0.841_344_746_068_542_9, 1.0),
            (0.001, -3.090_232_306_167_813_5),
            (1e-10, -6.361_340_902_404_056),
            (1.0 - 1e-6, 4.753_424_308_822_899),
        ];
        for (p, z) in cases {
            let got = normal_quantile(p);
            assert!(
                (got - z).abs() < 1e-9 * (1.0 + z.abs()),
                "p={p}: {got} vs {z}"
            );
        }
        assert!(normal_quantile(-0.1).is_nan());
    }

    #[test]
    fn ess_of_ar1_matches_theory() {
        let mut rng = SeededRng::new(11);
        let (m, n) = (8, 5000);
        let total = (m * n) as f64;
        for phi in [0.5, 0.8] {
            let chains = ar1(m, n, phi, &mut rng);
            let truth = total * (1.0 - phi) / (1.0 + phi);
            // Window: the lag where phi^w falls below the noise floor 1/sqrt(N) of the
            // autocorrelation estimates; 4 relative sds of the tau estimate (12% for phi=0.5,
            // 20% for phi=0.8 at N=40,000).
            let w = (total.sqrt().ln() / -phi.ln()).ceil();
            let tol = 4.0 * tau_rel_sd(w, total);
            for (name, ess) in [("basic", ess_basic(&chains)), ("bulk", ess_bulk(&chains))] {
                let rel = (ess - truth).abs() / truth;
                eprintln!("phi={phi} {name}: ess {ess} vs {truth} (rel {rel}, tol {tol})");
                assert!(
                    rel < tol,
                    "phi={phi} {name}: ess {ess} vs {truth} (rel {rel} > {tol})"
                );
            }
        }
    }

    #[test]
    fn ess_of_iid_draws_is_about_n() {
        let mut rng = SeededRng::new(12);
        let (m, n) = (8, 5000);
        let total = (m * n) as f64;
        let chains = ar1(m, n, 0.0, &mut rng);
        // Geyer's sequence for iid draws keeps a few noise pairs (each pair sum ~ N(0, 2/N));
        // a window of 3 lags bounds that: 4 sds = 7.5%.
        let tol = 4.0 * tau_rel_sd(3.0, total);
        for ess in [ess_basic(&chains), ess_bulk(&chains)] {
            eprintln!("iid: ess {ess} vs {total} (tol {tol})");
            assert!((ess - total).abs() / total < tol, "ess {ess} vs {total}");
        }
    }

    #[test]
    fn rhat_is_one_for_iid_and_large_for_shifted_chains() {
        let mut rng = SeededRng::new(13);
        let chains = ar1(4, 1000, 0.0, &mut rng);
        // 8 half-chains of 500 iid draws: R^2 - 1 ~ (chi2_7/7 - 1)/n, so R - 1 < 2.47/(2*500)
        // = 0.0025 with probability 0.999 (and the same for the folded value).
        let r = split_rhat(&chains);
        eprintln!("iid rhat {r}");
        assert!(r > 0.99 && r < 1.0025, "iid rhat {r}");
        let mut shifted = chains.clone();
        for (c, chain) in shifted.iter_mut().enumerate() {
            for x in chain.iter_mut() {
                *x += c as f64;
            }
        }
        let r = split_rhat(&shifted);
        assert!(r > 1.1, "shifted rhat {r}");
        // A trend inside a single chain shows up through the split.
        let trend = vec![
            (0..1000)
                .map(|i| i as f64 / 100.0 + rng.normal_f64())
                .collect(),
        ];
        assert!(split_rhat(&trend) > 1.1);
        // Antithetic chains (alternating signs): ESS above the number of draws, no panic.
        let alternating: Vec<Vec<f64>> = vec![
            (0..100)
                .map(|i| if i % 2 == 0 { 1.0 } else { -1.0 })
                .collect(),
        ];
        assert!(ess_basic(&alternating) > 100.0);
        let four = vec![vec![1.0, -1.0, 2.0, 0.5]; 2];
        assert!(!ess_basic(&four).is_nan());
        // Too short: NaN, not a panic.
        assert!(split_rhat(&[vec![1.0, 2.0]]).is_nan());
        assert!(ess_bulk(&[vec![1.0, 2.0]]).is_nan());
    }

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
