//! Choosing a case's chain start and prior temperature on validation digits (`--init auto`, no
//! `--temperature`): the settings whose posterior mean restores `--start-val` validation digits
//! with the highest PSNR.

use anyhow::Result;
use ebm_core::SeededRng;

use super::args::Init;
use super::corruptions::{Case, corrupt};
use super::knn::Bank;
use super::{Bench, dims3, dims4, knn_masks, metrics, sampler};

impl Bench<'_> {
    /// The chains' start and the prior's temperature for `case`, each as given or chosen by
    /// the posterior mean's PSNR on `--start-val` validation digits. `--init auto` means the
    /// noisy image for Gaussian noise, the kNN completion for salt and pepper, and for a mask
    /// the best of the kNN completion, the single neighbours and the energy-weighted completion
    /// (at T = 1e-5 unless `--temperature` is given). An unset temperature is then chosen for
    /// that start by [`climb`] from 1e-5.
    pub(super) fn choose_settings(
        &self,
        case: Case,
        k_tau: (usize, f64),
        rng: &mut SeededRng,
    ) -> Result<(Init, f64)> {
        let given = match (self.args.init, case) {
            (Init::Auto, Case::Gaussian(_)) => Some(Init::Corrupted),
            (Init::Auto, Case::SaltPepper(_)) => Some(Init::Knn),
            (Init::Auto, Case::Mask(..)) => None,
            (init, _) => Some(init),
        };
        if let (Some(init), Some(t)) = (given, self.args.temperature) {
            return Ok((init, t));
        }
        let set = &self.start_val;
        let y = corrupt(
            case,
            &set.images,
            dims4(set, set.len()),
            self.args.sp_sigma,
            rng,
        );
        let (weights, keep) = knn_masks(case, &y);
        let bank = Bank {
            images: &self.val_bank.images,
            len: set.image_len(),
        };
        // A setting whose chains run off scores -inf: it is not chosen.
        let psnr = |init: Init, t: f64, rng: &mut SeededRng| -> Result<f64> {
            let start = self.start(init, &y, (&bank, &weights, &keep), k_tau, rng)?;
            match self.energy_restore(set, case, &y, (start, t), rng) {
                Ok(r) => Ok(metrics::batch_quality(&r.mean, &set.images, dims3(set)).0),
                Err(e) if e.downcast_ref::<sampler::Diverged>().is_some() => {
                    println!(
                        "{}: start {init:?} at T {t:.1e} diverged ({e:#}); not chosen",
                        case.slug()
                    );
                    Ok(f64::NEG_INFINITY)
                }
                Err(e) => Err(e),
            }
        };
        let t0 = self.args.temperature.unwrap_or(START_TEMPERATURE);
        let (init, at_t0) = match given {
            Some(init) => (init, None),
            None => {
                let mut best = (f64::NEG_INFINITY, Init::Knn);
                for init in [Init::Knn, Init::Neighbours, Init::Weighted] {
                    let p = psnr(init, t0, rng)?;
                    if p > best.0 {
                        best = (p, init);
                    }
                }
                (best.1, Some(best.0))
            }
        };
        let t = match self.args.temperature {
            Some(t) => t,
            None => climb(|t| psnr(init, t, rng), t0, at_t0)?,
        };
        Ok((init, t))
    }
}

/// Where the temperature search starts: the setting chosen on the tutorial's model.
const START_TEMPERATURE: f64 = 1e-5;

/// The temperature with the highest `score` on a half-decade grid, searched from `t0` (whose
/// score is `at_t0` if known): down while the score rises, else up while it rises, within three
/// decades of `t0`. One step past the best is scored on each side tried.
fn climb(mut score: impl FnMut(f64) -> Result<f64>, t0: f64, at_t0: Option<f64>) -> Result<f64> {
    let at = |i: i32| t0 * 10f64.powf(f64::from(i) / 2.0);
    let mut best = (at_t0.map_or_else(|| score(t0), Ok)?, 0);
    for dir in [-1, 1] {
        let mut i: i32 = dir;
        while i.abs() <= 6 {
            let p = score(at(i))?;
            if p <= best.0 {
                break;
            }
            best = (p, i);
            i += dir;
        }
        if best.1 != 0 {
            break;
        }
    }
    Ok(at(best.1))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The temperatures `climb` scores for a score peaked at `peak` (log-parabola), and its pick.
    fn climb_to(peak: f64, at_t0: Option<f64>) -> (Vec<f64>, f64) {
        let mut tried = Vec::new();
        let score = |t: f64| {
            tried.push(t);
            Ok(-(t.log10() - peak.log10()).powi(2))
        };
        let best = climb(score, 1e-5, at_t0).unwrap();
        (tried, best)
    }

    fn close(a: f64, b: f64) -> bool {
        (a / b - 1.0).abs() < 1e-9
    }

    #[test]
    fn climb_walks_the_half_decade_grid_toward_the_best_temperature() {
        // Down: 1e-5, 3.2e-6, 1e-6, 3.2e-7 (best), 1e-7 (worse), and no step up.
        let (tried, best) = climb_to(3e-7, None);
        assert!(close(best, 10f64.powf(-6.5)), "{best}");
        assert_eq!(tried.len(), 5, "{tried:?}");
        // Up after one step down fails.
        let (tried, best) = climb_to(1e-4, None);
        assert!(close(best, 1e-4), "{best}");
        assert!(close(tried[1], 10f64.powf(-5.5)) && close(tried[2], 10f64.powf(-4.5)));
        // A known score at the start is not recomputed; a peak at the start stays.
        let (tried, best) = climb_to(1e-5, Some(0.0));
        assert!(close(best, 1e-5) && tried.len() == 2, "{tried:?}");
        // A setting that diverged scores -inf and is passed over.
        let capped = |t: f64| {
            Ok(if t > 2e-5 {
                f64::NEG_INFINITY
            } else {
                t.log10()
            })
        };
        assert!(close(climb(capped, 1e-5, None).unwrap(), 1e-5));
        // The grid stops three decades up.
        let (_, best) = climb_to(1.0, None);
        assert!(close(best, 1e-2), "{best}");
    }
}
