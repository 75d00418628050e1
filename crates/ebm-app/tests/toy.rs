//! `ebm toy` end to end through the binary, and the KDE baseline against the exact density of
//! 8gaussians.

mod common;

use std::f64::consts::PI;

use common::ebm;

use ebm_data::ToyDataset;
use ebm_data::eight_gaussians_log_density;
use ebm_data::toy::{EIGHT_GAUSSIANS_ENTROPY, EIGHT_GAUSSIANS_STD};
use ebm_train::eval::log_spaced;
use ebm_train::{Kde, MeanSe};

fn points(set: ToyDataset, n: usize, seed: u64) -> Vec<[f64; 2]> {
    set.sample(n, seed)
        .into_iter()
        .map(|p| [f64::from(p[0]), f64::from(p[1])])
        .collect()
}

#[test]
fn kde_on_8gaussians_lands_near_the_exact_entropy() {
    let set = ToyDataset::EightGaussians;
    let (n, m) = (4000, 2000);
    let fit = Kde::fit(
        points(set, n, 1),
        &points(set, 1000, 2),
        &log_spaced(0.03, 0.5, 10),
    )
    .unwrap();
    let test = points(set, m, 3);
    let h = fit.kde.bandwidth();
    // Paired with the exact log density on the same held-out points, the gap
    // log p - log p_h estimates KL(p || p_h) >= 0. For components sd sigma = 0.354 that barely
    // overlap, KL ~ [ln(1 + r) + 1/(1 + r) - 1] (smoothing, r = h^2 / sigma^2)
    // + A / (8 pi n h^2) (variance, A ~ 8 * 4 pi sigma^2 the area within 2 sd of a centre),
    // about 0.02 nats here. The bound allows 3x this crude asymptotic estimate plus 4 standard
    // errors of the paired mean; below, KL >= 0 allows only the noise.
    let s2 = EIGHT_GAUSSIANS_STD * EIGHT_GAUSSIANS_STD;
    let r = h * h / s2;
    let area = 8.0 * 4.0 * PI * s2;
    let expected = (1.0 + r).ln() + 1.0 / (1.0 + r) - 1.0 + area / (8.0 * PI * n as f64 * h * h);
    let kde_log_p = fit.kde.log_densities(&test);
    let true_nll: Vec<f64> = test
        .iter()
        .map(|&x| -eight_gaussians_log_density(x))
        .collect();
    let gaps: Vec<f64> = true_nll
        .iter()
        .zip(&kde_log_p)
        .map(|(t, k)| -t - k)
        .collect();
    let gap = MeanSe::of(&gaps).unwrap();
    assert!(
        gap.mean > -4.0 * gap.se && gap.mean < 3.0 * expected + 4.0 * gap.se,
        "KDE gap {} ± {} (h {h}, expected ~{expected})",
        gap.mean,
        gap.se
    );
    // The KDE's held-out NLL is the entropy (2.838) plus the gap, within the Monte-Carlo error of
    // the points' mean log density.
    let kde_nll = MeanSe::of(&kde_log_p.iter().map(|l| -l).collect::<Vec<_>>()).unwrap();
    let truth = MeanSe::of(&true_nll).unwrap();
    let diff = kde_nll.mean - EIGHT_GAUSSIANS_ENTROPY;
    assert!(
        diff > -4.0 * truth.se - 1e-3 && diff < 3.0 * expected + 4.0 * kde_nll.se,
        "KDE NLL {} ± {} vs entropy {EIGHT_GAUSSIANS_ENTROPY}",
        kde_nll.mean,
        kde_nll.se
    );
}

#[test]
fn toy_writes_plots_metrics_and_a_table() {
    let dir = std::env::temp_dir().join(format!("ebm-toy-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let quick = [
        "--steps",
        "3",
        "--n-train",
        "400",
        "--n-val",
        "100",
        "--n-test",
        "200",
        "--grid",
        "41",
        "--n-samples",
        "64",
        "--sample-steps",
        "3",
        "--out",
        "out",
    ];
    let mut args = vec!["toy", "--dataset", "moons"];
    args.extend(quick);
    let (ok, text) = ebm(&dir, &args);
    assert!(ok, "{text}");
    let out = dir.join("out");
    for f in ["density.png", "samples.png", "samples.npy", "metrics.json"] {
        assert!(out.join(f).is_file(), "{f} missing: {text}");
    }
    let img = image::open(out.join("density.png")).unwrap();
    assert_eq!((img.width(), img.height()), (512, 512));
    let metrics: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap();
    for key in [
        "nll_ebm",
        "nll_kde",
        "mmd2",
        "mmd2_null_sd",
        "log_z",
        "edge_mass",
        "wall_seconds",
        "kde_bandwidth",
    ] {
        let v = metrics[key].as_f64();
        assert!(v.is_some_and(f64::is_finite), "{key} = {:?}", metrics[key]);
    }
    assert_eq!(metrics["dataset"], "moons");
    assert!(text.contains("| moons |"), "{text}");

    // A wrong name is an error that lists the valid ones, not a panic.
    let (ok, text) = ebm(&dir, &["toy", "--dataset", "spiral", "--steps", "1"]);
    assert!(!ok);
    assert!(
        text.contains("2spirals") && !text.contains("panicked"),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
