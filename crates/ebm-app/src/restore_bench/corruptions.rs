//! The corruptions of the restoration bench, and what a restorer may know about each.
//!
//! * Masks (`bottom`, `top`, `left`, `right`, `center`, `random50`, `random80`): the missing
//!   pixels are shown as 0 (mid-grey); the observed ones are exact.
//! * Gaussian noise (`gauss0.3`, `gauss0.6`): `y = clamp(x + sigma z, -1, 1)`, every pixel.
//! * Salt and pepper (`sp0.2`): each pixel is, with probability `p`, replaced by -1 or +1 (even
//!   odds). A pixel strictly inside `(-1, 1)` is therefore exact; one at -1 or +1 may be noise.
//!
//! A [`Corrupted`] batch carries the observed values `y`, a mask of the pixels known exactly
//! (clamped by every restorer) and, for the noise cases, the Gaussian likelihood
//! `|x - y|^2 / (2 s^2)` the posterior puts on the other pixels.

use anyhow::{Result, bail};
use ebm_core::SeededRng;

use crate::restore::{MaskKind, mask};

/// One corruption of the bench.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Case {
    /// Missing pixels: the region, and the missing fraction of `Random`.
    Mask(MaskKind, f64),
    /// Additive Gaussian noise of this standard deviation, clamped to `[-1, 1]`.
    Gaussian(f32),
    /// Salt-and-pepper noise on this fraction of the pixels.
    SaltPepper(f64),
}

/// The bench's cases, in the order the issue lists them.
pub const DEFAULT_CASES: &str =
    "bottom,top,left,right,center,random50,random80,gauss0.3,gauss0.6,sp0.2";

impl Case {
    /// Parses one token: a mask name, `random<percent>`, `gauss<sigma>` or `sp<fraction>`.
    pub fn parse(token: &str) -> Result<Self> {
        let t = token.trim();
        let mask = |k| Ok(Case::Mask(k, 0.0));
        match t {
            "bottom" => return mask(MaskKind::Bottom),
            "top" => return mask(MaskKind::Top),
            "left" => return mask(MaskKind::Left),
            "right" => return mask(MaskKind::Right),
            "center" => return mask(MaskKind::Center),
            _ => {}
        }
        let number = |prefix: &str| t.strip_prefix(prefix).map(str::parse::<f64>);
        let case = if let Some(Ok(pct)) = number("random") {
            (pct > 0.0 && pct < 100.0).then_some(Case::Mask(MaskKind::Random, pct / 100.0))
        } else if let Some(Ok(s)) = number("gauss") {
            (s > 0.0 && s.is_finite()).then_some(Case::Gaussian(s as f32))
        } else if let Some(Ok(p)) = number("sp") {
            (p > 0.0 && p < 1.0).then_some(Case::SaltPepper(p))
        } else {
            None
        };
        match case {
            Some(c) => Ok(c),
            None => bail!(
                "unknown or out-of-range case `{t}`: expected bottom, top, left, right, center, \
                 random<percent in (0, 100)>, gauss<sigma > 0> or sp<fraction in (0, 1)>"
            ),
        }
    }

    /// The token it parses from (also its file name).
    pub fn slug(&self) -> String {
        match self {
            Case::Mask(MaskKind::Random, m) => format!("random{}", (m * 100.0).round()),
            Case::Mask(k, _) => format!("{k:?}").to_lowercase(),
            Case::Gaussian(s) => format!("gauss{s}"),
            Case::SaltPepper(p) => format!("sp{p}"),
        }
    }

    /// Whether restorers clamp the observed pixels and fill the others (inpainting), rather than
    /// denoise every pixel.
    pub fn is_inpainting(&self) -> bool {
        matches!(self, Case::Mask(..))
    }
}

/// A corrupted batch and what is known about it.
#[derive(Debug, Clone)]
pub struct Corrupted {
    /// The corrupted images `y`, `[n, c, h, w]` flattened.
    pub values: Vec<f32>,
    /// 1 where the pixel is known exactly (clamped), 0 where it is to be restored.
    pub known: Vec<f32>,
    /// The standard deviation `s` of the Gaussian likelihood on the pixels not known, if any.
    pub likelihood_sigma: Option<f32>,
}

/// Corrupts `clean` (`dims` = `[n, c, h, w]`) by `case`. `sp_sigma` is the likelihood width
/// given to the salt-and-pepper pixels at -1 or +1.
pub fn corrupt(
    case: Case,
    clean: &[f32],
    dims: [usize; 4],
    sp_sigma: f32,
    rng: &mut SeededRng,
) -> Corrupted {
    debug_assert!(
        sp_sigma > 0.0 || !matches!(case, Case::SaltPepper(_)),
        "salt and pepper needs a likelihood width > 0"
    );
    match case {
        Case::Mask(kind, missing) => {
            let known = mask(kind, missing, dims, rng);
            let values = clean.iter().zip(&known).map(|(x, m)| x * m).collect();
            Corrupted {
                values,
                known,
                likelihood_sigma: None,
            }
        }
        Case::Gaussian(sigma) => {
            let z = rng.normal_vec(clean.len());
            let values = clean
                .iter()
                .zip(z)
                .map(|(x, z)| (x + sigma * z).clamp(-1.0, 1.0))
                .collect();
            Corrupted {
                values,
                known: vec![0.0; clean.len()],
                likelihood_sigma: Some(sigma),
            }
        }
        Case::SaltPepper(p) => {
            let values: Vec<f32> = clean
                .iter()
                .map(|&x| match rng.uniform_f64() {
                    u if u < p / 2.0 => -1.0,
                    u if u < p => 1.0,
                    _ => x,
                })
                .collect();
            let known = values
                .iter()
                .map(|&v| if v.abs() < 1.0 { 1.0 } else { 0.0 })
                .collect();
            Corrupted {
                values,
                known,
                likelihood_sigma: Some(sp_sigma),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cases_parse_and_name_themselves() {
        let all: Vec<Case> = DEFAULT_CASES
            .split(',')
            .map(|t| Case::parse(t).unwrap())
            .collect();
        assert_eq!(all.len(), 10);
        for c in &all {
            assert_eq!(Case::parse(&c.slug()).unwrap(), *c);
        }
        assert_eq!(all[5], Case::Mask(MaskKind::Random, 0.5));
        for bad in [
            "diagonal",
            "random0",
            "random100",
            "gauss-1",
            "sp1.5",
            "gaussx",
        ] {
            assert!(
                Case::parse(bad).unwrap_err().to_string().contains(bad),
                "{bad}"
            );
        }
    }

    #[test]
    fn masks_hide_the_right_pixels_and_noise_keeps_the_range() {
        let dims = [2, 1, 28, 28];
        let clean = vec![0.5f32; 2 * 28 * 28];
        let mut rng = SeededRng::new(1);
        let c = corrupt(
            Case::Mask(MaskKind::Bottom, 0.0),
            &clean,
            dims,
            0.5,
            &mut rng,
        );
        assert_eq!(c.known.iter().filter(|m| **m == 0.0).count(), 2 * 14 * 28);
        assert_eq!((c.values[0], c.values[27 * 28]), (0.5, 0.0));
        let c = corrupt(
            Case::Mask(MaskKind::Random, 0.8),
            &clean,
            dims,
            0.5,
            &mut rng,
        );
        let missing = c.known.iter().filter(|m| **m == 0.0).count() as f64 / clean.len() as f64;
        // Binomial(1568, 0.8): sd 0.010; 5 sd.
        assert!((missing - 0.8).abs() < 0.05, "{missing}");
        let c = corrupt(Case::Gaussian(0.6), &clean, dims, 0.5, &mut rng);
        assert!(c.values.iter().all(|v| (-1.0..=1.0).contains(v)));
        assert_eq!(c.likelihood_sigma, Some(0.6));
        let c = corrupt(Case::SaltPepper(0.2), &clean, dims, 0.5, &mut rng);
        let hit = c.values.iter().filter(|v| v.abs() == 1.0).count() as f64 / clean.len() as f64;
        // Binomial(1568, 0.2): sd 0.010; 5 sd.
        assert!((hit - 0.2).abs() < 0.05, "{hit}");
        assert!(
            c.known
                .iter()
                .zip(&c.values)
                .all(|(k, v)| (*k == 1.0) == (v.abs() < 1.0))
        );
    }
}
