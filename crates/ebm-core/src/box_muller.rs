//! Standard normal draws from raw 32-bit words by the Box-Muller transform, vectorised.
//!
//! Each pair of words `(w0, w1)` gives two independent normals: with `u0 = (w0 + 1/2) 2^-32` in
//! `(0, 1)` and `u1 = w1 2^-32` in `[0, 1)`, `r = sqrt(-2 ln u0)` and `(r cos 2 pi u1,
//! r sin 2 pi u1)`. Every pair uses exactly two words, so a block of words maps to a block of
//! normals with no rejection, and the loop runs in SIMD lanes: `ln`, `cos` and `sin` are
//! [`crate::fast_math`]'s branch-free polynomials (a few `f32` ulps), and on x86-64 CPUs with AVX2
//! and FMA the loop is compiled for them, chosen at run time.
//!
//! The smallest `u0` is `2^-33`, so `|z| <= sqrt(66 ln 2) = 6.76`: the draws miss only the
//! normal's mass beyond 6.76 standard deviations, 1.4e-11.

use crate::fast_math::{cos_sin_turn, ln_unit};

/// `2^-32` as `f32`.
const WORD: f32 = 1.0 / 4_294_967_296.0;

/// Fills `out` with standard normals made from `words`, two per pair of words.
///
/// `words` must hold at least `out.len()` rounded up to even; `out[2j]` and `out[2j + 1]` come
/// from `words[2j]` and `words[2j + 1]`.
pub(crate) fn fill(words: &[u32], out: &mut [f32]) {
    assert!(
        words.len() >= out.len().next_multiple_of(2),
        "{} words for {} normals",
        words.len(),
        out.len()
    );
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU has the features `fill_avx2` is compiled for.
        #[allow(unsafe_code)]
        return unsafe { fill_avx2(words, out) };
    }
    fill_portable(words, out);
}

/// [`fill_portable`] compiled for AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn fill_avx2(words: &[u32], out: &mut [f32]) {
    fill_portable(words, out);
}

#[inline(always)]
fn fill_portable(words: &[u32], out: &mut [f32]) {
    let mut pairs = out.chunks_exact_mut(2);
    for (pair, w) in (&mut pairs).zip(words.chunks_exact(2)) {
        let (z0, z1) = transform(w[0], w[1]);
        pair[0] = z0;
        pair[1] = z1;
    }
    let n = out.len();
    if n % 2 == 1 {
        out[n - 1] = transform(words[n - 1], words[n]).0;
    }
}

/// The two normals of one pair of words.
#[inline(always)]
fn transform(w0: u32, w1: u32) -> (f32, f32) {
    let u0 = (w0 as f32 + 0.5) * WORD;
    let u1 = w1 as f32 * WORD;
    // `w1 as f32` rounds to 24 bits, so u1 can round up to 1.0, which is the same angle as 0.
    let r = (-2.0 * ln_unit(u0.min(1.0))).sqrt();
    let (c, s) = cos_sin_turn(u1);
    (r * c, r * s)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The standard normal CDF.
    fn phi(x: f64) -> f64 {
        0.5 * erfc(-x / std::f64::consts::SQRT_2)
    }

    /// `erfc` by its Chebyshev fit (Numerical Recipes' `erfcc`, relative error below 1.2e-7).
    fn erfc(x: f64) -> f64 {
        let z = x.abs();
        let t = 1.0 / (1.0 + 0.5 * z);
        let r = t
            * (-z * z - 1.265_512_23
                + t * (1.000_023_68
                    + t * (0.374_091_96
                        + t * (0.096_784_18
                            + t * (-0.186_288_06
                                + t * (0.278_868_07
                                    + t * (-1.135_203_98
                                        + t * (1.488_515_87
                                            + t * (-0.822_152_23 + t * 0.170_872_77)))))))))
                .exp();
        if x >= 0.0 { r } else { 2.0 - r }
    }

    /// Chi-square of `z` against the normal's mass in 40 equal-width bins on [-5, 5] plus the two
    /// tails: 41 degrees of freedom, mean 41, sd 9.1.
    fn chi_square(z: &[f32]) -> f64 {
        let edges: Vec<f64> = (0..=40).map(|i| -5.0 + 0.25 * i as f64).collect();
        let mut counts = vec![0u64; 42];
        for &v in z {
            let k = edges.partition_point(|e| *e <= v as f64);
            counts[k] += 1;
        }
        let n = z.len() as f64;
        (0..42)
            .map(|k| {
                let lo = if k == 0 {
                    f64::NEG_INFINITY
                } else {
                    edges[k - 1]
                };
                let hi = if k == 41 { f64::INFINITY } else { edges[k] };
                let expect = n * (phi(hi) - phi(lo));
                (counts[k] as f64 - expect).powi(2) / expect
            })
            .sum()
    }

    fn words(n: usize, seed: u64) -> Vec<u32> {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        (0..n).map(|_| rng.random()).collect()
    }

    /// One million draws: the histogram fits the normal's bins (chi-square with 41 degrees of
    /// freedom below 41 + 6 sd), and the vectorised and portable loops agree. Negative control:
    /// the same words through a transform with the angle's quarter turns left out (only
    /// `|theta| <= pi / 4`) fail the same check.
    #[test]
    fn draws_are_standard_normal() {
        let n = 1 << 20;
        let w = words(n, 5);
        let mut z = vec![0.0f32; n];
        fill(&w, &mut z);
        let mut portable = vec![0.0f32; n];
        fill_portable(&w, &mut portable);
        let worst = z
            .iter()
            .zip(&portable)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(worst < 1e-5, "AVX2 and portable loops differ by {worst}");
        let x2 = chi_square(&z);
        assert!(x2 < 41.0 + 6.0 * 9.1, "chi-square {x2}");
        let wrong: Vec<f32> = w
            .chunks_exact(2)
            .flat_map(|p| {
                let u0 = (p[0] as f32 + 0.5) * WORD;
                let r = (-2.0 * (u0 as f64).ln()).sqrt() as f32;
                let theta = (p[1] as f32 * WORD - 0.5) * std::f32::consts::FRAC_PI_2;
                [r * theta.cos(), r * theta.sin()]
            })
            .collect();
        assert!(chi_square(&wrong) > 41.0 + 6.0 * 9.1, "the control passed");
    }

    /// The tails: the largest of 2^20 draws is where the normal puts it (|z| above 4 but within
    /// the generator's 6.76 bound), and the two signs are balanced to Monte-Carlo error.
    #[test]
    fn tails_are_reached_and_bounded() {
        let n = 1 << 20;
        let mut z = vec![0.0f32; n + 1];
        fill(&words(n + 2, 9), &mut z);
        let max = z.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        assert!(max > 4.0 && max <= 6.77, "max |z| {max}");
        let positive = z.iter().filter(|v| **v > 0.0).count() as f64;
        let sd = (n as f64 * 0.25).sqrt();
        assert!((positive - n as f64 / 2.0).abs() < 5.0 * sd);
    }
}
