//! `ebm toy` end to end through the binary, and the KDE baseline against the exact density of
//! 8gaussians.

mod common;

use std::f64::consts::PI;
use std::path::Path;

use common::{ebm, ebm_with_fault};

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

/// A tiny run: 600 training points in batches of 256 (2 steps an epoch), 5 steps.
fn quick(run: &str) -> Vec<String> {
    [
        "toy",
        "--dataset",
        "moons",
        "--run",
        run,
        "--steps",
        "5",
        "--n-train",
        "600",
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
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn ebm_owned(dir: &Path, args: &[String]) -> (bool, String) {
    ebm(dir, &args.iter().map(String::as_str).collect::<Vec<_>>())
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn toy_writes_plots_metrics_and_a_table() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (ok, text) = ebm_owned(dir, &quick("out"));
    assert!(ok, "{text}");
    let out = dir.join("runs/out");
    for f in [
        "density.svg",
        "samples.svg",
        "report.html",
        "samples.npy",
        "metrics.json",
        "config.json",
        "metrics.jsonl",
    ] {
        assert!(out.join(f).is_file(), "{f} missing: {text}");
    }
    let expect = [
        "trained by `ebm toy`",
        "data-title=\"acceptance\"",
        "density.svg",
        "nll_ebm",
    ];
    common::check_report(&out, &expect);
    let svg = std::fs::read_to_string(out.join("density.svg")).unwrap();
    assert!(svg.contains("data:image/png;base64,") && svg.contains("density p(x)"));
    let metrics = json(&out.join("metrics.json"));
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
    let steps = std::fs::read_to_string(out.join("metrics.jsonl")).unwrap();
    assert_eq!(steps.lines().count(), 5, "{steps}");

    // A wrong name is an error that lists the valid ones, not a panic.
    let (ok, text) = ebm(dir, &["toy", "--dataset", "spiral", "--steps", "1"]);
    assert!(!ok);
    assert!(
        text.contains("2spirals") && !text.contains("panicked"),
        "{text}"
    );
}

/// The final weights, samples and measurements (without timings) of a finished run.
fn outcome(root: &Path) -> Vec<String> {
    let pointer = std::fs::read_to_string(root.join("checkpoints/latest")).unwrap();
    assert!(pointer.starts_with("step-00000005"), "{pointer}");
    let model = std::fs::read(
        root.join("checkpoints")
            .join(pointer.trim())
            .join("model.bpk"),
    );
    let mut metrics = json(&root.join("metrics.json"));
    for key in ["train_seconds", "wall_seconds"] {
        metrics.as_object_mut().unwrap().remove(key);
    }
    vec![
        format!("{:?}", model.unwrap()),
        format!("{:?}", std::fs::read(root.join("samples.npy")).unwrap()),
        metrics.to_string(),
    ]
}

#[test]
fn a_crashed_run_resumed_is_the_uninterrupted_run() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (ok, text) = ebm_owned(dir, &quick("straight"));
    assert!(ok, "{text}");
    let expected = outcome(&dir.join("runs/straight"));
    let first = quick("stopped");
    let first: Vec<&str> = first.iter().map(String::as_str).collect();
    let (ok, text) = ebm_with_fault(dir, &first, Some("step:4"));
    assert!(!ok, "{text}");
    assert!(!dir.join("runs/stopped/metrics.json").exists());
    let (ok, text) = ebm(dir, &["toy", "--run", "stopped", "--resume"]);
    assert!(ok, "{text}");
    assert!(
        outcome(&dir.join("runs/stopped")) == expected,
        "the resumed run differs"
    );
    // The negative control: another seed ends elsewhere.
    let mut other = quick("other");
    other.extend(["--seed".to_string(), "1".to_string()]);
    let (ok, text) = ebm_owned(dir, &other);
    assert!(ok, "{text}");
    assert!(
        outcome(&dir.join("runs/other"))[0] != expected[0],
        "the control matches"
    );
    // Flags that conflict with the saved run are refused by name.
    for (flag, value) in [
        ("--lr", "0.1"),
        ("--steps", "9"),
        ("--seed", "2"),
        ("--hidden", "8"),
    ] {
        let (ok, text) = ebm(dir, &["toy", "--run", "stopped", "--resume", flag, value]);
        assert!(!ok && text.contains(flag), "{flag}: {text}");
    }
}
