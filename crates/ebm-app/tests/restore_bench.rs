//! End to end through the binary: `ebm restore-bench` on a tiny image run and a tiny judge
//! writes its table, JSON and grids, with every restorer scored; bad flags are refused by name.

mod common;

use std::path::Path;

use common::{data, ebm, tiny};

fn train_tiny(dir: &Path) {
    let d = data();
    let (ok, text) = ebm(
        dir,
        &[
            "train",
            "--run",
            "tiny",
            "--epochs",
            "1",
            "--data",
            &d,
            "--limit",
            "32",
            "--batch-size",
            "8",
            "--sampler-steps",
            "3",
            "--buffer",
            "32",
            "--hidden",
            "8",
            "--fresh-steps",
            "2",
        ],
    );
    assert!(ok, "{text}");
    let judge = tiny("judge", "poe/judge", "1", Some("2"));
    let (ok, text) = ebm(dir, &judge.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(ok, "{text}");
}

#[test]
fn restore_bench_writes_table_json_and_grids() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    train_tiny(dir);
    let cases = "bottom,center,random80,gauss0.6,sp0.2";
    let (ok, text) = ebm(
        dir,
        &[
            "restore-bench",
            "--run",
            "runs/tiny",
            "--judge",
            "poe/judge",
            "--n",
            "10",
            "--val",
            "10",
            "--start-val",
            "5",
            "--chains",
            "2",
            "--steps",
            "6",
            "--keep",
            "2",
            "--stages",
            "2",
            "--cases",
            cases,
            "--out",
            "bench",
        ],
    );
    assert!(ok, "{text}");
    let out = dir.join("bench");
    let md = std::fs::read_to_string(out.join("results.md")).unwrap();
    for case in cases.split(',') {
        assert!(out.join(format!("{case}.png")).is_file(), "{case}: {text}");
        for m in [
            "corrupted",
            "kNN (k=",
            "energy-weighted kNN (tau=",
            "energy: posterior mean",
            "energy: min energy",
        ] {
            assert!(md.contains(&format!("| {case} | {m}")), "{case} {m}: {md}");
        }
    }
    assert!(md.contains("| gauss0.6 | median 3x3"), "{md}");
    assert!(!md.contains("| bottom | median"), "{md}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap();
    let first = &json["cases"][0];
    assert_eq!(first["case"], "bottom");
    let agree = first["methods"][1]["judge_agreement"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&agree), "{json}");
    // `--init auto`: a choice on validation digits for the masks, fixed for the noise cases.
    let start = |i: usize| json["cases"][i]["start"].as_str().unwrap().to_string();
    assert!(
        ["knn", "neighbours", "weighted"].contains(&start(0).as_str()),
        "{json}"
    );
    assert_eq!((start(3), start(4)), ("corrupted".into(), "knn".into()));
    temperatures_on_the_grid(&json);
    // The grid: ten columns (one per digit), rows clean, corrupted, kNN, weighted kNN, mean,
    // min energy and two chains = 8 rows of 28x28 at scale 2 with a 2-pixel border.
    let img = image::open(out.join("bottom.png")).unwrap();
    assert_eq!(
        (img.width(), img.height()),
        ((10 * 30 + 2) * 2, (8 * 30 + 2) * 2)
    );

    refusals(dir);
}

/// Without `--temperature`, each case's T is chosen on the half-decade grid through 1e-5.
fn temperatures_on_the_grid(json: &serde_json::Value) {
    for case in json["cases"].as_array().unwrap() {
        let t = case["temperature"].as_f64().unwrap();
        let steps = 2.0 * (t / 1e-5).log10();
        assert!(
            steps.abs() < 6.0 + 1e-9 && (steps - steps.round()).abs() < 1e-9,
            "{json}"
        );
    }
}

/// Bad flags are errors naming them.
fn refusals(dir: &std::path::Path) {
    for (flag, value) in [
        ("--cases", "diagonal"),
        ("--keep", "999"),
        ("--temperature", "0"),
    ] {
        let (ok, text) = ebm(dir, &["restore-bench", "--run", "runs/tiny", flag, value]);
        assert!(
            !ok && text.contains(if flag == "--cases" { value } else { flag }),
            "{text}"
        );
    }
}
