//! HMC's trajectory record: a step size far beyond leapfrog's stability limit makes every
//! trajectory diverge, a sane one none; the energy errors obey `E[exp(-Delta H)] = 1`; the runner
//! counts divergences only for kernels that report them.

use burn::tensor::{Device, Tensor, TensorData};
use ebm_core::{DiagGaussian, SeededRng};
use ebm_mcmc::{ChainState, Hmc, Kernel, KernelSpec, RunConfig, StepSize, TrajectoryInfo, run};

fn host(t: Tensor<1>) -> Vec<f64> {
    t.try_to_vec_as::<f32>()
        .unwrap()
        .into_iter()
        .map(f64::from)
        .collect()
}

fn no_adapt(draws: usize) -> RunConfig {
    RunConfig {
        warmup: 0,
        draws,
        thin: 1,
        adapt: None,
        diagnostics: false,
    }
}

/// On `N(0, I)` leapfrog is the linear map with `trace = 2 - eps^2` per coordinate, stable only
/// for `eps < 2`. At `eps = 3` its eigenvalues are `lambda + 1/lambda = -7`, `|lambda| = 6.85`, so
/// after 10 steps a start with a unit component along the growing direction reaches `|x| ~
/// 6.85^10 = 2.3e8` and `Delta H ~ 1e16 >> 1000`; a chain escapes only if that component is
/// below ~1e-6, probability ~1e-6 per chain and step. So all 64 x 20 transitions diverge (and are
/// rejected, so the chains stay where they are). At `eps = 0.2`, `|Delta H|` is `O(eps^2 sqrt(d))
/// ~ 0.1`: none diverges.
#[test]
fn hmc_reports_divergences_only_for_a_step_size_far_too_large() {
    let device = Device::flex();
    let target = DiagGaussian::standard(10, &device).unwrap();
    let (chains, draws) = (64, 20);
    let mut counts = Vec::new();
    for eps in [3.0, 0.2] {
        let mut kernel = KernelSpec::Hmc {
            eps,
            leapfrog: 10,
            jitter: 0.0,
        }
        .build()
        .unwrap();
        let mut rng = SeededRng::new(1);
        let init = rng.normal([chains, 10], &device);
        let out = run(
            &target,
            &mut kernel,
            init,
            &no_adapt(draws),
            &mut rng,
            |_| {},
        )
        .unwrap();
        let per_chain = out
            .report
            .divergences
            .clone()
            .expect("HMC reports divergences");
        assert_eq!(per_chain.len(), chains);
        counts.push(out.report.total_divergences().unwrap());
        eprintln!(
            "eps {eps}: {} divergences, accept {:?}",
            counts.last().unwrap(),
            &out.report.accept_rate[..4]
        );
    }
    assert!(
        counts[0] * 100 >= chains * draws * 95 && counts[1] == 0,
        "{counts:?} of {} transitions",
        chains * draws
    );
}

/// Kernels without a trajectory report no divergence count at all (not zero).
#[test]
fn other_kernels_report_no_divergence_count() {
    let device = Device::flex();
    let target = DiagGaussian::standard(2, &device).unwrap();
    for spec in ["rwm", "mala", "ula"] {
        let mut kernel = spec.parse::<KernelSpec>().unwrap().build().unwrap();
        let mut rng = SeededRng::new(2);
        let init = rng.normal([4, 2], &device);
        let out = run(&target, &mut kernel, init, &no_adapt(3), &mut rng, |_| {}).unwrap();
        assert_eq!(out.report.divergences, None, "{spec}");
    }
}

/// The divergence rule: `|Delta H| > threshold` or not finite.
#[test]
fn divergence_rule_flags_large_and_non_finite_errors() {
    let device = Device::flex();
    let errors = [
        0.0f32,
        999.0,
        -999.0,
        1001.0,
        -2000.0,
        f32::NAN,
        f32::INFINITY,
        f32::NEG_INFINITY,
    ];
    let t = Tensor::<1>::from_data(TensorData::new(errors.to_vec(), [errors.len()]), &device);
    let info = TrajectoryInfo::from_energy_error(t, TrajectoryInfo::DIVERGENCE_THRESHOLD);
    let flags: Vec<bool> = host(info.divergent.float())
        .iter()
        .map(|&d| d > 0.5)
        .collect();
    assert_eq!(flags, [false, false, false, true, true, true, true, true]);
}

/// From exact draws of the target, a volume-preserving reversible integrator has
/// `E[exp(-Delta H)] = 1` (the acceptance identity), while `Delta H` itself has a positive mean
/// (Jensen). With 4000 chains the mean of `exp(-Delta H)` is checked to 4 standard errors; the
/// same statistic with the sign flipped (`exp(+Delta H)`, a deliberately wrong energy error)
/// misses 1 by far more, so the check can fail.
#[test]
fn energy_errors_satisfy_the_acceptance_identity() {
    let device = Device::flex();
    let (n, d) = (4000, 10);
    let target = DiagGaussian::standard(d, &device).unwrap();
    let hmc = Hmc::new(StepSize::Shared(0.9), 4).unwrap();
    let mut rng = SeededRng::new(4);
    let state = ChainState::new(&target, rng.normal([n, d], &device));
    let (_, info, trajectory) = hmc.step_traced(&target, state, &mut rng);
    let trajectory = trajectory.expect("HMC records its trajectory");
    let dh = host(trajectory.energy_error);
    assert!(host(trajectory.divergent.float()).iter().all(|&x| x == 0.0));
    let mean_se = |v: &[f64]| {
        let m = v.iter().sum::<f64>() / v.len() as f64;
        let var = v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len() - 1) as f64;
        (m, (var / v.len() as f64).sqrt())
    };
    let (m, se) = mean_se(&dh.iter().map(|x| (-x).exp()).collect::<Vec<_>>());
    let (wrong, wrong_se) = mean_se(&dh.iter().map(|x| x.exp()).collect::<Vec<_>>());
    let (mean_dh, _) = mean_se(&dh);
    eprintln!("E[exp(-dH)] = {m} ± {se}; wrong sign {wrong} ± {wrong_se}; E[dH] = {mean_dh}");
    assert!((m - 1.0).abs() < 4.0 * se, "E[exp(-dH)] = {m} ± {se}");
    assert!(
        (wrong - 1.0).abs() > 4.0 * wrong_se,
        "the control should fail: {wrong}"
    );
    assert!(mean_dh > 0.0);
    // The acceptance probability is min(1, exp(-Delta H)).
    for (a, x) in host(info.accept_prob).iter().zip(&dh) {
        assert!((a - (-x).exp().min(1.0)).abs() < 1e-4, "{a} vs {x}");
    }
}

/// NUTS records divergences too: with one coordinate of variance `1e-4` and `eps = 0.5`,
/// leapfrog's map along it has `lambda + 1/lambda = 2 - eps^2 / 1e-4 = -2498`, so the very first
/// step multiplies that coordinate by about 2500 and `Delta H` exceeds 1000 unless the start is
/// within ~1e-3 sd of the origin there (and the momentum small); nearly every transition
/// diverges (at least 95%: a start that close does occur among 160) and the chains stay put. At
/// `eps = 0.005` (a quarter of that sd) none does.
#[test]
fn nuts_reports_divergences_only_for_a_step_size_far_too_large() {
    let device = Device::flex();
    let target = DiagGaussian::new(&[0.0, 0.0], &[1e-4, 1.0], &device).unwrap();
    let (chains, draws) = (32, 5);
    let mut counts = Vec::new();
    for eps in [0.5, 0.005] {
        let spec = KernelSpec::Nuts { eps, max_depth: 6 };
        let mut kernel = spec.build().unwrap();
        let mut rng = SeededRng::new(1);
        let init = target.sample(chains, &mut rng);
        let out = run(
            &target,
            &mut kernel,
            init,
            &no_adapt(draws),
            &mut rng,
            |_| {},
        )
        .unwrap();
        counts.push(
            out.report
                .total_divergences()
                .expect("NUTS reports divergences"),
        );
        let steps = out
            .report
            .leapfrog_steps
            .clone()
            .expect("NUTS counts its steps");
        assert_eq!(steps.len(), chains);
        if eps > 0.1 {
            // A divergent first leaf ends the transition, and so does the U-turn of a first
            // leaf that flipped the narrow coordinate without diverging: one step each.
            assert!(steps.iter().all(|s| *s == draws as f64), "{steps:?}");
        }
    }
    assert!(
        counts[0] * 100 >= chains * draws * 95 && counts[1] == 0,
        "{counts:?} of {} transitions",
        chains * draws
    );
}

/// HMC with a fixed trajectory length `L eps` = 10 x 0.38 on `illcond:d=100` (variances 0.1 to
/// 10) resonates with the coordinates whose period `2 pi sd` is close to 3.8 (sd near 0.6): they
/// barely move, and 8 chains of 300 draws show a max R-hat far above 1.1 (the blackjax
/// comparison in BENCHMARKS.md measured 69 on 1,024 chains). Jittering `L` by 50% (uniform on
/// 5..=15 steps, shared by the chains) breaks the resonance: every coordinate mixes and the max
/// R-hat falls below 1.1.
#[test]
fn jittered_hmc_escapes_the_resonance_of_a_fixed_length() {
    let device = Device::flex();
    let target = DiagGaussian::log_spaced(100, 0.1, 10.0, &device).unwrap();
    let mut rhat = Vec::new();
    for jitter in [0.0, 0.5] {
        let spec = KernelSpec::Hmc {
            eps: 0.38052,
            leapfrog: 10,
            jitter,
        };
        let mut kernel = spec.build().unwrap();
        let mut rng = SeededRng::new(3);
        let init = target.sample(8, &mut rng);
        let mut config = no_adapt(300);
        config.diagnostics = true;
        let out = run(&target, &mut kernel, init, &config, &mut rng, |_| {}).unwrap();
        eprintln!(
            "jitter {jitter}: max R-hat {}, min ESS {}",
            out.report.max_rhat, out.report.min_ess_bulk
        );
        rhat.push(out.report.max_rhat);
    }
    assert!(rhat[0] > 1.5 && rhat[1] < 1.1, "{rhat:?}");
}
