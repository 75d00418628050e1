//! `ebm rbm train` then `ebm logz` end to end through the binary, on a tiny run: the run
//! directory's files, and the log-likelihood printed and written as JSON (exact log Z with 12
//! hidden units, and AIS beside it).

mod common;

use std::path::Path;

use common::{ebm, ebm_with_fault};

fn train_args<'a>(data: &'a str, run: &'a str, max_steps: &'a str) -> Vec<&'a str> {
    vec![
        "rbm",
        "train",
        "--data",
        data,
        "--hidden",
        "12",
        "--limit",
        "500",
        "--batch-size",
        "50",
        "--epochs",
        "2",
        "--max-steps",
        max_steps,
        "--lr",
        "0.01",
        "--run",
        run,
        "--seed",
        "3",
    ]
}

fn latest_model(run: &Path) -> Vec<u8> {
    let pointer = std::fs::read_to_string(run.join("checkpoints/latest")).unwrap();
    std::fs::read(
        run.join("checkpoints")
            .join(pointer.trim())
            .join("model.bpk"),
    )
    .unwrap()
}

#[test]
fn rbm_train_writes_a_run_and_logz_reports_the_held_out_log_likelihood() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../datasets/mnist-4k");
    let (ok, out) = ebm(dir, &train_args(data.to_str().unwrap(), "tiny", "10"));
    assert!(ok, "{out}");
    let run = dir.join("runs/tiny");
    for f in [
        "config.json",
        "metrics.jsonl",
        "checkpoints/latest",
        "filters.png",
        "samples.png",
    ] {
        assert!(run.join(f).is_file(), "{f} missing; output:\n{out}");
    }
    let metrics = std::fs::read_to_string(run.join("metrics.jsonl")).unwrap();
    assert_eq!(metrics.lines().count(), 10);
    let filters = image::open(run.join("filters.png")).unwrap();
    // 12 filters of 28x28 in 10 columns, 2-pixel borders, drawn 2x.
    assert_eq!(filters.width(), (10 * 30 + 2) * 2);
    logz_reports_the_likelihood(dir, &run);
    let expect = [
        "trained by `ebm rbm train`",
        "filters.png",
        "logz.json",
        "log_z",
    ];
    common::check_report(&run, &expect);

    // Stopped after 4 steps and resumed (only the length of the run changes): the same model.
    let (ok, out) = ebm(dir, &train_args(data.to_str().unwrap(), "cut", "4"));
    assert!(ok, "{out}");
    let (ok, out) = ebm(
        dir,
        &[
            "rbm",
            "train",
            "--run",
            "cut",
            "--resume",
            "--max-steps",
            "10",
        ],
    );
    assert!(ok, "{out}");
    assert!(
        latest_model(&dir.join("runs/cut")) == latest_model(&run),
        "resume differs"
    );
    // Killed at step 7 (after the first epoch's checkpoint) and resumed with no other flag.
    let args = train_args(data.to_str().unwrap(), "crashed", "10");
    let (ok, out) = ebm_with_fault(dir, &args, Some("step:7"));
    assert!(!ok, "{out}");
    let (ok, out) = ebm(dir, &["rbm", "train", "--run", "crashed", "--resume"]);
    assert!(ok, "{out}");
    assert!(
        latest_model(&dir.join("runs/crashed")) == latest_model(&run),
        "the crashed run resumed differs"
    );
    let (ok, out) = ebm(
        dir,
        &["rbm", "train", "--run", "cut", "--resume", "--hidden", "20"],
    );
    assert!(!ok && out.contains("--hidden"), "{out}");
    let (ok, out) = ebm(dir, &["rbm", "train", "--run", "zero", "--batch-size", "0"]);
    assert!(
        !ok && out.contains("batch_size") && !out.contains("panicked"),
        "{out}"
    );
}

fn logz_reports_the_likelihood(dir: &Path, run: &Path) {
    let (ok, out) = ebm(
        dir,
        &[
            "logz",
            "--run",
            "runs/tiny",
            "--ais",
            "--chains",
            "50",
            "--temperatures",
            "1000",
            "--reverse",
            "--reverse-sweeps",
            "200",
        ],
    );
    assert!(ok, "{out}");
    let line = out
        .lines()
        .find(|l| l.starts_with("held-out log-likelihood:"))
        .unwrap_or_else(|| panic!("no log-likelihood line in:\n{out}"));
    let ll: f64 = line.split_whitespace().nth(2).unwrap().parse().unwrap();
    assert!(ll.is_finite() && ll < 0.0, "{line}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("logz.json")).unwrap()).unwrap();
    assert_eq!(report["hidden"], 12);
    assert_eq!(report["held_out_images"], 100);
    assert!((report["held_out_log_likelihood"].as_f64().unwrap() - ll).abs() < 0.01);
    let exact = report["exact_log_z"].as_f64().unwrap();
    let (a, se) = (
        report["ais_log_z"].as_f64().unwrap(),
        report["ais_se"].as_f64().unwrap(),
    );
    assert!(
        (a - exact).abs() < 3.0 * se,
        "AIS {a} ± {se} vs exact {exact}"
    );
    assert!(report["reverse_ais_log_z"].as_f64().unwrap().is_finite());
    assert!(out.contains("sandwich:"), "{out}");
}
