//! `ebm anomaly` end to end through the binary: fit on a CSV, score a file and a stream read
//! row by row, the benchmark's outputs, and clear errors on bad input.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use common::ebm;

/// 400 normal rows on the line `b = 2a` (plus small noise) and 8 anomalies on `b = -2a`,
/// `|a| >= 0.5`, whose columns are each in the normal range: only the dependency between
/// columns gives them away.
fn write_csv(path: &Path) {
    let mut text = String::from("a,b,label\n");
    let mut state = 7u64;
    let mut uniform = || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1);
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    for i in 0..408 {
        let a = 2.0 * uniform() - 1.0;
        let noise = 0.05 * (uniform() - 0.5);
        let (a, b, label) = if i % 51 == 50 {
            let a = a.signum() * (0.5 + a.abs() / 2.0);
            (a, -2.0 * a, 1)
        } else {
            (a, 2.0 * a + noise, 0)
        };
        text += &format!("{a},{b},{label}\n");
    }
    std::fs::write(path, text).unwrap();
}

fn energies(output: &str) -> Vec<f64> {
    output
        .lines()
        .skip_while(|l| *l != "energy,alarm")
        .skip(1)
        .filter_map(|l| l.split(',').next()?.parse().ok())
        .collect()
}

#[test]
fn fit_score_and_stream() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("rows.csv");
    write_csv(&csv);
    let csv = csv.to_str().unwrap();
    let (ok, out) = ebm(
        dir.path(),
        &[
            "anomaly",
            "fit",
            "--data",
            csv,
            "--label",
            "label",
            "--run",
            "det",
            "--steps",
            "300",
            // 2% of the training rows are anomalies: a 1% threshold would sit among them.
            "--false-alarm",
            "0.05",
        ],
    );
    assert!(ok, "{out}");
    assert!(out.contains("alarm threshold"), "{out}");
    let expect = [
        "trained by `ebm anomaly fit`",
        "data-title=\"gap f(noise) - f(data)\"",
        "fit.json",
        "train_auroc",
    ];
    common::check_report(&dir.path().join("runs/det"), &expect);
    // A second fit into the same folder is refused and leaves the run's settings as they were.
    let config = std::fs::read_to_string(dir.path().join("runs/det/config.json")).unwrap();
    let (ok, out) = ebm(
        dir.path(),
        &[
            "anomaly", "fit", "--data", csv, "--run", "det", "--steps", "5",
        ],
    );
    assert!(!ok && out.contains("--resume"), "{out}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("runs/det/config.json")).unwrap(),
        config
    );
    let (ok, out) = ebm(
        dir.path(),
        &[
            "anomaly", "score", "--run", "det", "--data", csv, "--label", "label",
        ],
    );
    assert!(ok, "{out}");
    let e = energies(&out);
    assert_eq!(e.len(), 408);
    // The anomalies (every 51st row) rank above almost every normal row: AUROC reported >= 0.9.
    let auroc: f64 = out.split("AUROC ").nth(1).unwrap()[..6].parse().unwrap();
    assert!(auroc >= 0.9, "{out}");

    let streamed = stream(dir.path(), &["a,b", "0.5,1.0", "0.5,-1.0"]);
    assert!(streamed[1].0 > streamed[0].0, "{streamed:?}");
    assert_eq!(
        streamed[1].1, "1",
        "the off-line row raises the alarm: {streamed:?}"
    );
    assert_eq!(streamed[0].1, "0", "{streamed:?}");
    check_bad_input(dir.path());
}

/// Streams `lines` (a header, then rows) into `ebm anomaly score --data -`, reading each row's
/// `(energy, alarm)` back before the next row is written.
fn stream(dir: &Path, lines: &[&str]) -> Vec<(f64, String)> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ebm"))
        .current_dir(dir)
        .args(["anomaly", "score", "--run", "det", "--data", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    writeln!(stdin, "{}", lines[0]).unwrap();
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "energy,alarm");
    let mut streamed = Vec::new();
    for row in &lines[1..] {
        writeln!(stdin, "{row}").unwrap();
        stdin.flush().unwrap();
        line.clear();
        stdout.read_line(&mut line).unwrap();
        let (energy, alarm) = line.trim().split_once(',').unwrap();
        streamed.push((energy.parse::<f64>().unwrap(), alarm.to_string()));
    }
    drop(stdin);
    assert!(child.wait().unwrap().success());
    streamed
}

fn check_bad_input(dir: &Path) {
    // A ragged row names its line; a wrong number of columns names the detector's.
    let bad = dir.join("bad.csv");
    for (text, says) in [
        ("a,b\n1,2\n3\n", "line 3"),
        ("a,b,c\n1,2,3\n", "fitted on 2"),
    ] {
        std::fs::write(&bad, text).unwrap();
        let args = [
            "anomaly",
            "score",
            "--run",
            "det",
            "--data",
            bad.to_str().unwrap(),
        ];
        let (ok, out) = ebm(dir, &args);
        assert!(!ok && out.contains(says), "{out}");
    }
}

#[test]
fn bench_writes_table_json_and_splits() {
    let dir = tempfile::tempdir().unwrap();
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../datasets/adbench");
    let (ok, out) = ebm(
        dir.path(),
        &[
            "anomaly",
            "bench",
            "--data",
            data.to_str().unwrap(),
            "--only",
            "38_thyroid",
            "--seeds",
            "2",
            "--steps",
            "30",
            "--out",
            "b",
        ],
    );
    assert!(ok, "{out}");
    let bench: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("b/bench.json")).unwrap())
            .unwrap();
    let seeds = bench["sets"][0]["seeds"].as_array().unwrap();
    assert_eq!(seeds.len(), 2);
    for s in seeds {
        // Even 30 steps rank the thyroid anomalies well: the marginal expert alone does.
        assert!(s["auroc"].as_f64().unwrap() > 0.8, "{s}");
        assert!(s["auprc"].as_f64().unwrap() > 0.025, "{s}");
    }
    let splits: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("b/splits.json")).unwrap())
            .unwrap();
    let (train, test) = (
        splits[0]["train"].as_array().unwrap(),
        splits[0]["test"].as_array().unwrap(),
    );
    assert_eq!(train.len() + test.len(), 3772);
    assert_eq!(test.len(), 1132); // round(0.3 * 3772)
    assert!(
        std::fs::read_to_string(dir.path().join("b/bench.md"))
            .unwrap()
            .contains("38_thyroid")
    );
}
