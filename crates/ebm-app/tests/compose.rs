//! End to end through the binary: tiny conditional experts and a judge trained through the one
//! training loop, classification by energy, and compositions (AND, OR, NOT) sampled, written and
//! scored; a crashed `train-conditional` resumed with `--resume` ends byte-identical to the
//! uninterrupted run, and flags that conflict with the saved run are refused by name. Samples are
//! judged by `eval-samples` with the same judge.

mod common;

use std::path::Path;
use std::process::Command;

use common::{ebm, tiny};

fn run_ok(dir: &Path, args: &[String]) -> String {
    let (ok, text) = ebm(dir, &args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(ok, "{args:?}: {text}");
    text
}

/// Trains the judge and four experts of two steps each under `dir/poe`.
fn train_experts(dir: &Path) {
    for target in ["judge", "digit", "even", "ge5", "loop"] {
        let run = format!("poe/{target}");
        let text = run_ok(dir, &tiny(target, &run, "1", Some("2")));
        assert!(text.contains("held-out accuracy"), "{text}");
        for f in [
            "config.json",
            "metrics.jsonl",
            "summary.json",
            "checkpoints/latest",
        ] {
            assert!(dir.join(&run).join(f).is_file(), "{target}/{f}: {text}");
        }
    }
    assert!(dir.join("poe/digit/buffer.png").is_file());
    // JEM's recipe flags: saved in the settings.
    let mut args = tiny("digit", "poe/jem", "1", Some("2"));
    args.extend(
        [
            "--informative-init",
            "--generative-weight",
            "0.3",
            "--shift",
            "1",
            "--lr-decay-every",
            "1",
        ]
        .map(String::from),
    );
    run_ok(dir, &args);
    let config = std::fs::read_to_string(dir.join("poe/jem/config.json")).unwrap();
    for want in [
        "\"informative_init\": true",
        "\"generative_weight\": 0.3",
        "\"max_shift\": 1",
        "\"lr_decay_every\": 1",
        "\"lr_decay\": 0.1",
    ] {
        assert!(config.contains(want), "{want}: {config}");
    }
    assert!(!dir.join("poe/judge/buffer.png").exists());
    let lines = std::fs::read_to_string(dir.join("poe/digit/metrics.jsonl"))
        .unwrap()
        .lines()
        .count();
    assert_eq!(lines, 2);
}

fn check_classify(dir: &Path) {
    let (ok, text) = ebm(dir, &["classify", "--run", "poe/digit"]);
    assert!(ok, "{text}");
    assert!(
        text.contains("accuracy of argmin_y E(x, y) on 16 held-out images")
            && text.contains("expected calibration error")
            && text.contains("upside down"),
        "{text}"
    );
    for from in ["noise", "buffer"] {
        let args = [
            "classify",
            "--run",
            "poe/digit",
            "--generate",
            "1",
            "--steps",
            "2",
        ];
        let mut args = args.to_vec();
        args.extend(["--judge", "poe/judge", "--from", from]);
        let (ok, text) = ebm(dir, &args);
        assert!(ok && text.contains("worst class"), "{text}");
        let grid = format!("poe/digit/generated-by-class-from-{from}.png");
        assert!(dir.join(&grid).is_file(), "{text}");
        // Every sample, one a class: 10 images of 28x28 after the `.npy` header.
        let npy = std::fs::read(dir.join(grid.replace(".png", ".npy"))).unwrap();
        assert!(npy.len() >= 10 * 28 * 28 * 4 && npy.starts_with(b"\x93NUMPY"));
    }
    let json = std::fs::read_to_string(dir.join("poe/digit/classify.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json["generation"]["by_class"].as_array().unwrap().len(), 10);
    assert_eq!(json["out_of_distribution"].as_array().unwrap().len(), 4);
    let expect = [
        "trained by `ebm train-conditional`",
        "classify.json",
        "accuracy",
        "buffer.png",
        "true \\ predicted",
        "AUROC of max softmax",
        "generated-by-class-from-buffer.png",
    ];
    common::check_report(&dir.join("poe/digit"), &expect);
    let (ok, text) = ebm(dir, &["classify", "--run", "poe/even"]);
    assert!(ok && text.contains("`even`"), "{text}");
    let (ok, text) = ebm(dir, &["classify", "--run", "poe/nothing"]);
    assert!(
        !ok && text.contains("poe/nothing") && !text.contains("panicked"),
        "{text}"
    );
}

fn compose(dir: &Path, expr: &str, extra: &[&str]) -> (bool, String) {
    let mut args = vec![
        "compose", "--expr", expr, "--n", "4", "--steps", "3", "--run", "poe",
    ];
    args.extend(extra);
    ebm(dir, &args)
}

fn check_compose_and(dir: &Path) {
    let (ok, text) = compose(dir, "even & ge5", &[]);
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
}

fn check_compose_or_not(dir: &Path) {
    let (ok, text) = compose(dir, "digit=0 | digit=1", &["--no-baselines", "--base", "3"]);
    assert!(ok && text.contains("intended digits [0, 1]"), "{text}");
    assert!(
        text.contains("from a 3-component Gaussian mixture"),
        "{text}"
    );
    let (ok, text) = compose(dir, "ge5 & !loop", &["--no-baselines"]);
    assert!(ok && text.contains("intended digits [5, 7]"), "{text}");
    let (ok, text) = compose(dir, "even & ge5", &["--from-digit"]);
    assert!(ok && text.contains("even (alone)"), "{text}");
    let (ok, text) = compose(dir, "!digit=8", &["--no-baselines"]);
    assert!(
        ok && text.contains("intended digits [0, 1, 2, 3, 4, 5, 6, 7, 9]"),
        "{text}"
    );
}

/// Bad input is refused with its column, no panic.
fn check_compose_errors(dir: &Path) {
    let (ok, text) = compose(dir, "even & & ge5", &[]);
    assert!(
        !ok && text.contains("column 8") && !text.contains("panicked"),
        "{text}"
    );
    let (ok, text) = compose(dir, "even & odd", &[]);
    assert!(
        !ok && text.contains("column 8") && text.contains("unknown attribute `odd`"),
        "{text}"
    );
    let (ok, text) = compose(dir, "curvy", &[]);
    assert!(
        !ok && text.contains("ebm train-conditional --target curvy"),
        "{text}"
    );
}

#[test]
fn train_experts_classify_and_compose() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    train_experts(dir);
    check_classify(dir);
    check_compose_and(dir);
    check_compose_or_not(dir);
    check_compose_errors(dir);
    check_eval_samples(dir);
}

/// Writes `values` as an `f32` `.npy` of `shape`.
fn write_npy(path: &Path, values: &[f32], shape: &[u64]) {
    use npyz::WriterBuilder;
    let file = std::fs::File::create(path).unwrap();
    let mut w = npyz::WriteOptions::new()
        .default_dtype()
        .shape(shape)
        .writer(file)
        .begin_nd()
        .unwrap();
    w.extend(values.iter().copied()).unwrap();
    w.finish().unwrap();
}

/// `eval-samples --judge poe/judge` on `name`.npy: the figures it writes, parsed.
fn eval_samples(dir: &Path, name: &str) -> serde_json::Value {
    let file = format!("{name}.npy");
    let (ok, text) = ebm(
        dir,
        &["eval-samples", "--samples", &file, "--judge", "poe/judge"],
    );
    assert!(
        ok && text.contains("32 samples") && text.contains("Fréchet distance"),
        "{text}"
    );
    let json = std::fs::read_to_string(dir.join(format!("{name}.quality.json"))).unwrap();
    serde_json::from_str(&json).unwrap()
}

/// Real digits sit closer to the held-out digits than uniform noise does, in the judge's
/// features; the histogram counts every sample; bad files are refused by name.
fn check_eval_samples(dir: &Path) {
    let digits = ebm_data::load_images(common::data(), &ebm_data::LoadOptions::grey())
        .unwrap()
        .stratified(32, 7)
        .unwrap();
    write_npy(&dir.join("digits.npy"), &digits.images, &[32, 1, 28, 28]);
    let noise = ebm_core::SeededRng::new(5).uniform_vec(32 * 784, -1.0, 1.0);
    write_npy(&dir.join("noise.npy"), &noise, &[32, 784]);
    let (real, fake) = (eval_samples(dir, "digits"), eval_samples(dir, "noise"));
    let fd = |q: &serde_json::Value, key: &str| q[key].as_f64().unwrap();
    assert!(
        fd(&real, "frechet") < fd(&real, "frechet_ceiling"),
        "{real}"
    );
    assert!(fd(&real, "frechet") < fd(&fake, "frechet"), "{real} {fake}");
    let counted: u64 = real["histogram"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_u64().unwrap())
        .sum();
    assert_eq!(counted, 32);
    write_npy(&dir.join("ragged.npy"), &[0.0; 40], &[4, 10]);
    for (file, expect) in [
        ("missing.npy", "missing.npy"),
        ("ragged.npy", "not square images"),
    ] {
        let (ok, text) = ebm(
            dir,
            &["eval-samples", "--samples", file, "--judge", "poe/judge"],
        );
        assert!(
            !ok && text.contains(expect) && !text.contains("panicked"),
            "{text}"
        );
    }
}

/// The final weights, replay buffer and outputs of a finished run of 16 steps. (optimizer.bpk is
/// not compared byte for byte: burn writes its per-parameter state in hash-map order, which
/// differs between two uninterrupted runs of the same seed.)
fn outcome(root: &Path) -> Vec<Vec<u8>> {
    let pointer = std::fs::read_to_string(root.join("checkpoints/latest")).unwrap();
    assert!(pointer.starts_with("step-00000016"), "{pointer}");
    let ckpt = root.join("checkpoints").join(pointer.trim());
    let files = ["model.bpk", "buffer.f32"].map(|f| ckpt.join(f));
    let outputs = ["summary.json", "buffer.png"].map(|f| root.join(f));
    files
        .iter()
        .chain(&outputs)
        .map(|p| std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
        .collect()
}

#[test]
fn a_crashed_run_resumed_is_the_uninterrupted_run() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    run_ok(dir, &tiny("digit", "straight", "2", None));
    let expected = outcome(&dir.join("runs/straight"));
    for fault in ["step:5", "checkpoint:8:synced", "step:11"] {
        let run = format!("crash-{}", fault.replace(':', "-"));
        let crashed = Command::new(env!("CARGO_BIN_EXE_ebm"))
            .current_dir(dir)
            .args(tiny("digit", &run, "2", None))
            .env("EBM_FAULT", fault)
            .output()
            .unwrap();
        assert!(!crashed.status.success(), "{fault} did not crash");
        run_ok(
            dir,
            &["train-conditional", "--run", run.as_str(), "--resume"].map(String::from),
        );
        assert!(
            outcome(&dir.join("runs").join(&run)) == expected,
            "{fault}: differs"
        );
    }
    // Negative control: another seed gives other weights, so the comparison can fail.
    let mut other = tiny("digit", "other", "2", None);
    other.extend(["--seed".to_string(), "1".to_string()]);
    run_ok(dir, &other);
    assert!(outcome(&dir.join("runs/other"))[0] != expected[0]);
}

#[test]
fn flags_that_conflict_with_the_saved_run_are_refused_by_name() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    run_ok(dir, &tiny("even", "r", "1", Some("2")));
    let conflicts = [
        ("--target", "digit"),
        ("--lr", "0.1"),
        ("--hidden", "8"),
        ("--seed", "3"),
        ("--buffer", "32"),
        ("--lr-decay-every", "100"),
    ];
    for (flag, value) in conflicts {
        let (ok, text) = ebm(
            dir,
            &["train-conditional", "--run", "r", "--resume", flag, value],
        );
        assert!(
            !ok && text.contains(flag) && !text.contains("panicked"),
            "{flag}: {text}"
        );
    }
    // The length of the run may change: resumed with a larger step limit it goes on.
    let (ok, text) = ebm(
        dir,
        &[
            "train-conditional",
            "--run",
            "r",
            "--resume",
            "--max-steps",
            "3",
        ],
    );
    assert!(ok, "{text}");
    let lines = std::fs::read_to_string(dir.join("runs/r/metrics.jsonl")).unwrap();
    assert_eq!(lines.lines().count(), 3);
    // A new run into a folder with checkpoints is refused; a batch of 0 is an error, no panic.
    let again = tiny("even", "r", "1", None);
    let (ok, text) = ebm(dir, &again.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(!ok && text.contains("--resume"), "{text}");
    let mut zero = tiny("even", "z", "1", None);
    let at = zero.iter().position(|a| a == "--batch-size").unwrap();
    zero[at + 1] = "0".to_string();
    let (ok, text) = ebm(dir, &zero.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(
        !ok && text.contains("batch_size") && !text.contains("panicked"),
        "{text}"
    );
}
