//! End to end through the binary: tiny conditional experts and a judge, classification by
//! energy, and compositions (AND, OR, NOT) sampled, written and scored.

mod common;

use std::path::Path;

use common::ebm;

#[test]
fn train_experts_classify_and_compose() {
    let dir = std::env::temp_dir().join(format!("ebm-compose-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../datasets/mnist-4k");
    let data = data.to_str().unwrap();
    let tiny = [
        "--data",
        data,
        "--limit",
        "80",
        "--steps",
        "2",
        "--hidden",
        "4",
        "--batch-size",
        "8",
        "--sampler-steps",
        "2",
        "--buffer",
        "16",
        "--experts",
        "poe",
    ];
    for target in ["judge", "digit", "even", "ge5", "loop"] {
        let mut args = vec!["train-conditional", "--target", target];
        args.extend(tiny);
        let (ok, text) = ebm(&dir, &args);
        assert!(ok, "{target}: {text}");
        assert!(text.contains("held-out accuracy"), "{text}");
        for f in ["net.json", "model.bpk", "train.json", "metrics.jsonl"] {
            assert!(
                dir.join("poe").join(target).join(f).is_file(),
                "{target}/{f}: {text}"
            );
        }
    }
    assert!(dir.join("poe/digit/buffer.png").is_file());
    let lines = std::fs::read_to_string(dir.join("poe/digit/metrics.jsonl"))
        .unwrap()
        .lines()
        .count();
    assert_eq!(lines, 2);

    let (ok, text) = ebm(&dir, &["classify", "--model", "poe/digit"]);
    assert!(ok, "{text}");
    assert!(
        text.contains("accuracy of argmin_y E(x, y) on 16 held-out images"),
        "{text}"
    );
    let (ok, text) = ebm(&dir, &["classify", "--model", "poe/even"]);
    assert!(ok && text.contains("`even`"), "{text}");

    let compose = |expr: &str, extra: &[&str]| {
        let mut args = vec![
            "compose",
            "--expr",
            expr,
            "--n",
            "4",
            "--steps",
            "3",
            "--experts",
            "poe",
        ];
        args.extend(extra);
        ebm(&dir, &args)
    };
    let (ok, text) = compose("even & ge5", &[]);
    assert!(ok, "{text}");
    assert!(text.contains("intended digits [6, 8]"), "{text}");
    assert!(
        text.contains("even (alone)") && text.contains("ge5 (alone)"),
        "{text}"
    );
    assert!(
        text.contains("chance (|set| / 10)") && text.contains("0.200"),
        "{text}"
    );
    for f in ["even_A_ge5.png", "even.png", "ge5.png", "even_A_ge5.json"] {
        assert!(dir.join("poe/compose").join(f).is_file(), "{f}: {text}");
    }
    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("poe/compose/even_A_ge5.json")).unwrap(),
    )
    .unwrap();
    let frac = report["composition"]["in_set"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&frac));
    assert_eq!(report["experts_alone"].as_array().unwrap().len(), 2);

    let (ok, text) = compose("digit=0 | digit=1", &["--no-baselines"]);
    assert!(ok && text.contains("intended digits [0, 1]"), "{text}");
    let (ok, text) = compose("ge5 & !loop", &["--no-baselines"]);
    assert!(ok && text.contains("intended digits [5, 7]"), "{text}");
    let (ok, text) = compose("!digit=8", &["--no-baselines"]);
    assert!(
        ok && text.contains("intended digits [0, 1, 2, 3, 4, 5, 6, 7, 9]"),
        "{text}"
    );

    // Bad input is refused with its column, no panic.
    let (ok, text) = compose("even & & ge5", &[]);
    assert!(
        !ok && text.contains("column 8") && !text.contains("panicked"),
        "{text}"
    );
    let (ok, text) = compose("even & odd", &[]);
    assert!(
        !ok && text.contains("column 8") && text.contains("unknown attribute `odd`"),
        "{text}"
    );
    let (ok, text) = compose("curvy", &[]);
    assert!(
        !ok && text.contains("ebm train-conditional --target curvy"),
        "{text}"
    );
    let (ok, text) = ebm(&dir, &["classify", "--model", "poe/nothing"]);
    assert!(!ok && text.contains("train.json"), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}
