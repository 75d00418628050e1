//! One chain's MALA arithmetic under a diagonal inverse mass `M^{-1} = diag(v)` (the identity is
//! `v = 1`), element by element so that the loops run in SIMD lanes: the host step
//! ([`crate::mala_host`]) spends its time here for the identity and diagonal metrics.
//!
//! The sums run in eight independent accumulators: a single running sum is a chain of dependent
//! additions, one latency each, which is what a 100-coordinate row would otherwise cost. The
//! result differs from the sequential sum by rounding only.

/// Lanes of the accumulators.
const LANES: usize = 8;

/// The proposal `x' = x - h v g + sqrt(2 h) sqrt(v) z` into `out`, with `sqrt_v = sqrt(v)`.
pub(crate) fn propose(
    (x, g, z): (&[f32], &[f32], &[f32]),
    (v, sqrt_v): (&[f64], &[f64]),
    h: f64,
    out: &mut [f32],
) {
    let scale = (2.0 * h).sqrt();
    for ((o, (x, g)), (z, (v, s))) in out
        .iter_mut()
        .zip(x.iter().zip(g))
        .zip(z.iter().zip(v.iter().zip(sqrt_v)))
    {
        let drift = f64::from(*g) * v;
        let noise = f64::from(*z) * s;
        *o = (f64::from(*x) - h * drift + scale * noise) as f32;
    }
}

/// The two sums of MALA's log acceptance ratio: `|x - x' + h v g'|^2_M` (with `M = diag(1/v)`)
/// and `|z|^2`.
pub(crate) fn log_alpha_sums(
    (x, xp, gp): (&[f32], &[f32], &[f32]),
    z: &[f32],
    v: &[f64],
    h: f64,
) -> (f64, f64) {
    let term = |x: f32, xp: f32, g: f32, v: f64| {
        let back = f64::from(x) - f64::from(xp) + h * (f64::from(g) * v);
        back * back / v
    };
    let (mut back, mut noise) = ([0.0f64; LANES], [0.0f64; LANES]);
    let full = x.len() - x.len() % LANES;
    for k in (0..full).step_by(LANES) {
        let (xs, xps, gs) = (&x[k..k + LANES], &xp[k..k + LANES], &gp[k..k + LANES]);
        let (zs, vs) = (&z[k..k + LANES], &v[k..k + LANES]);
        for l in 0..LANES {
            back[l] += term(xs[l], xps[l], gs[l], vs[l]);
            noise[l] += f64::from(zs[l]) * f64::from(zs[l]);
        }
    }
    let (mut b, mut n) = (back.iter().sum::<f64>(), noise.iter().sum::<f64>());
    for k in full..x.len() {
        b += term(x[k], xp[k], gp[k], v[k]);
        n += f64::from(z[k]) * f64::from(z[k]);
    }
    (b, n)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Against the formulas written out sequentially, on a row whose length is not a multiple
    /// of the lanes.
    #[test]
    fn match_the_sequential_formulas() {
        let d = 19;
        let f = |k: usize, a: f32| (k as f32 * 0.37 + a).sin() * 1.5;
        let (x, g, z): (Vec<f32>, Vec<f32>, Vec<f32>) = (
            (0..d).map(|k| f(k, 0.1)).collect(),
            (0..d).map(|k| f(k, 0.7)).collect(),
            (0..d).map(|k| f(k, 1.3)).collect(),
        );
        let v: Vec<f64> = (0..d).map(|k| 0.5 + k as f64 / 7.0).collect();
        let sqrt_v: Vec<f64> = v.iter().map(|v| v.sqrt()).collect();
        let h = 0.13;
        let mut xp = vec![0.0f32; d];
        propose((&x, &g, &z), (&v, &sqrt_v), h, &mut xp);
        for k in 0..d {
            let want =
                x[k] as f64 - h * v[k] * g[k] as f64 + (2.0 * h).sqrt() * sqrt_v[k] * z[k] as f64;
            assert!((xp[k] as f64 - want).abs() < 1e-6, "{k}");
        }
        let (b, n) = log_alpha_sums((&x, &xp, &g), &z, &v, h);
        let (mut b_want, mut n_want) = (0.0, 0.0);
        for k in 0..d {
            let back = x[k] as f64 - xp[k] as f64 + h * v[k] * g[k] as f64;
            b_want += back * back / v[k];
            n_want += (z[k] as f64).powi(2);
        }
        assert!(
            (b - b_want).abs() < 1e-12 * b_want.max(1.0),
            "{b} vs {b_want}"
        );
        assert!(
            (n - n_want).abs() < 1e-12 * n_want.max(1.0),
            "{n} vs {n_want}"
        );
    }
}
