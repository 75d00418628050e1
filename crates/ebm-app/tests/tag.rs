//! `ebm tag` end to end on the 200-sentence treebank slice: train (structured and softmax),
//! eval beside the baselines, tag raw text, errors on bad input; a run stopped early and
//! resumed is the uninterrupted run, and flags that conflict with a resumed run are refused.

mod common;

use std::path::{Path, PathBuf};

use common::{ebm, ebm_with_fault};

fn slice() -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../datasets/ud-en-ewt/slice/en_ewt-ud-dev-200.conllu");
    p.to_str().unwrap().to_string()
}

/// `ebm tag train` on the slice (train and dev both) into `runs/<run>`, tiny and seeded.
fn train(dir: &Path, run: &str, objective: &str, extra: &[&str]) -> (bool, String) {
    train_with_fault(dir, run, objective, extra, None)
}

/// [`train`], aborted by `EBM_FAULT=fault` when given.
fn train_with_fault(
    dir: &Path,
    run: &str,
    objective: &str,
    extra: &[&str],
    fault: Option<&str>,
) -> (bool, String) {
    let data = slice();
    let mut args = vec![
        "tag",
        "train",
        "--train",
        &data,
        "--dev",
        &data,
        "--run",
        run,
        "--objective",
        objective,
        "--batch-size",
        "8",
        "--seed",
        "3",
    ];
    args.extend(extra);
    ebm_with_fault(dir, &args, fault)
}

fn json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// Trains the three objectives; each keeps a best epoch well above chance.
fn train_three(dir: &Path) {
    for (objective, name) in [("ml", "crf"), ("softmax", "soft"), ("cd-ffbs", "cd")] {
        let (ok, out) = train(dir, name, objective, &["--epochs", "6", "--hidden", "32"]);
        assert!(ok, "{objective}: {out}");
        let run = dir.join("runs").join(name);
        for f in [
            "config.json",
            "baseline.json",
            "summary.json",
            "metrics.jsonl",
            "dev.jsonl",
        ] {
            assert!(run.join(f).is_file(), "{objective}: missing {f}");
        }
        assert!(
            run.join("best/latest").is_file(),
            "{objective}: no best checkpoint"
        );
        let dev = std::fs::read_to_string(run.join("dev.jsonl")).unwrap();
        assert_eq!(dev.lines().count(), 6, "{dev}");
        let expect = [
            "trained by `ebm tag train`",
            "data-title=\"dev accuracy\"",
            "summary.json",
        ];
        common::check_report(&run, &expect);
        let acc = json(&run.join("summary.json"))["best_dev_accuracy"]
            .as_f64()
            .unwrap();
        // 6 epochs (150 steps) on its own 200 sentences: far above the 17 tags' chance and the
        // ~20% of always answering the commonest tag, if learning works at all.
        assert!(
            acc > 0.5,
            "{objective}: accuracy on the training slice {acc}"
        );
    }
}

/// `tag eval` reports every run; the paired counts agree with the accuracies.
fn check_eval(dir: &Path) {
    let data = slice();
    let (ok, out) = ebm(
        dir,
        &[
            "tag", "eval", "--run", "crf", "--also", "soft", "--also", "cd", "--test", &data,
        ],
    );
    assert!(ok, "{out}");
    for needle in ["most-frequent-tag", "ml (", "softmax (", "cd-ffbs ("] {
        assert!(out.contains(needle), "missing {needle}: {out}");
    }
    // Every run after the first is compared with it token by token; the counts are consistent
    // with the accuracies: correct(run) - correct(first) = wins - losses.
    let rows = json(&dir.join("runs/crf/eval.json"));
    let rows = rows.as_array().unwrap();
    assert!(rows[1]["paired"].is_null(), "{out}");
    for row in &rows[2..] {
        let p = &row["paired"];
        let (wins, losses) = (p["wins"].as_i64().unwrap(), p["losses"].as_i64().unwrap());
        let diff = row["correct"].as_i64().unwrap() - rows[1]["correct"].as_i64().unwrap();
        assert_eq!(diff, wins - losses, "{row}");
        assert!(p["z"].as_f64().unwrap().is_finite());
    }
    assert_eq!(out.matches("McNemar z").count(), 2, "{out}");
}

/// Raw text, including a word never seen in training, gets one known tag per token.
fn check_raw(dir: &Path) -> PathBuf {
    let text = dir.join("raw.txt");
    std::fs::write(
        &text,
        "The quixotically flibbertigibbet cat sat .\n\nI like it\n",
    )
    .unwrap();
    let (ok, out) = ebm(dir, &["tag", "--run", "crf", text.to_str().unwrap()]);
    assert!(ok, "{out}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert_eq!(lines[1], "");
    let pairs: Vec<&str> = lines[0].split(' ').collect();
    assert_eq!(pairs.len(), 6, "{out}");
    assert!(pairs[1].starts_with("quixotically/"));
    let tags = [
        "ADJ", "ADP", "ADV", "AUX", "CCONJ", "DET", "INTJ", "NOUN", "NUM", "PART", "PRON", "PROPN",
        "PUNCT", "SCONJ", "SYM", "VERB", "X",
    ];
    for p in pairs
        .iter()
        .chain(lines[2].split(' ').collect::<Vec<_>>().iter())
    {
        let tag = p.rsplit('/').next().unwrap();
        assert!(tags.contains(&tag), "{p}");
    }
    text
}

/// A malformed treebank names the file and line; a missing run is an error; a new run into a
/// folder that has checkpoints is refused.
fn check_bad_input(dir: &Path, text: &Path) {
    let bad = dir.join("bad.conllu");
    std::fs::write(&bad, "# c\n1\tA\ta\tX\t_\t_\t_\t_\t_\t_\n2\tB\tb\n").unwrap();
    let (ok, out) = ebm(
        dir,
        &[
            "tag",
            "train",
            "--train",
            bad.to_str().unwrap(),
            "--dev",
            &slice(),
            "--run",
            "bad",
        ],
    );
    assert!(!ok);
    assert!(out.contains("bad.conllu:3"), "{out}");
    let (ok, out) = ebm(
        dir,
        &["tag", "--run", "no/such/run", text.to_str().unwrap()],
    );
    assert!(!ok);
    assert!(out.contains("does not exist"), "{out}");
    let (ok, out) = train(dir, "crf", "ml", &["--epochs", "1"]);
    assert!(!ok && out.contains("--resume"), "{out}");
}

#[test]
fn tag_train_eval_and_raw_text_on_the_slice() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    train_three(dir);
    check_eval(dir);
    let text = check_raw(dir);
    check_bad_input(dir, &text);
}

/// What a finished run leaves: the final and best weights (byte for byte), the summary without
/// its timing, the dev accuracies, the step losses, and the tags it gives a text.
fn outcome(dir: &Path, run: &str) -> Vec<String> {
    let root = dir.join("runs").join(run);
    let mut summary = json(&root.join("summary.json"));
    summary.as_object_mut().unwrap().remove("train_seconds");
    let column = |file: &str, key: &str| -> String {
        let text = std::fs::read_to_string(root.join(file)).unwrap();
        let values: Vec<String> = text
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()[key].to_string())
            .collect();
        values.join(",")
    };
    std::fs::write(dir.join("raw.txt"), "The cat sat on the mat .\n").unwrap();
    let (ok, tags) = ebm(dir, &["tag", "--run", run, "raw.txt"]);
    assert!(ok, "{tags}");
    let weights = |store: &str| -> String {
        let store = ebm_train::CheckpointStore::new(root.join(store));
        let latest = store.latest().expect("a checkpoint");
        format!("{:?}", std::fs::read(latest.join("model.bpk")).unwrap())
    };
    vec![
        weights("checkpoints"),
        weights("best"),
        summary.to_string(),
        column("dev.jsonl", "dev_accuracy"),
        column("metrics.jsonl", "loss"),
        tags,
    ]
}

#[test]
fn a_crashed_run_resumed_is_the_uninterrupted_run() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    // 2 epochs of 25 batches, with word dropout and dropout drawing from the run's stream.
    let tiny = ["--epochs", "2", "--hidden", "8"];
    for objective in ["ml", "cd-gibbs"] {
        let (ok, out) = train(dir, &format!("{objective}-straight"), objective, &tiny);
        assert!(ok, "{out}");
        let stopped = format!("{objective}-stopped");
        // Killed at step 30, in the second epoch: the last checkpoint is the first epoch's end.
        let (ok, out) = train_with_fault(dir, &stopped, objective, &tiny, Some("step:30"));
        assert!(!ok, "{out}");
        let (ok, out) = ebm(dir, &["tag", "train", "--run", &stopped, "--resume"]);
        assert!(ok, "{out}");
        let straight = outcome(dir, &format!("{objective}-straight"));
        assert!(
            straight == outcome(dir, &stopped),
            "{objective}: the resumed run differs"
        );
        // The negative control: a run with another learning rate ends with other weights.
        let other_args = [&tiny[..], &["--lr", "0.003"]].concat();
        let (ok, out) = train(dir, &format!("{objective}-other"), objective, &other_args);
        assert!(ok, "{out}");
        let other = outcome(dir, &format!("{objective}-other"));
        assert!(
            straight[..2] != other[..2],
            "{objective}: the control matches"
        );
    }
}

#[test]
fn flags_that_conflict_with_a_resumed_run_are_refused_by_name() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (ok, out) = train(
        dir,
        "r",
        "ml",
        &["--epochs", "1", "--hidden", "8", "--max-steps", "3"],
    );
    assert!(ok, "{out}");
    for (flag, value) in [
        ("--lr", "0.1"),
        ("--hidden", "16"),
        ("--seed", "1"),
        ("--batch-size", "4"),
        ("--objective", "softmax"),
        ("--limit", "50"),
    ] {
        let (ok, text) = ebm(
            dir,
            &["tag", "train", "--run", "r", "--resume", flag, value],
        );
        assert!(!ok && text.contains(flag), "{flag}: {text}");
    }
    // The length of the run may change.
    let (ok, text) = ebm(
        dir,
        &["tag", "train", "--run", "r", "--resume", "--max-steps", "5"],
    );
    assert!(ok, "{text}");
    let lines = std::fs::read_to_string(dir.join("runs/r/metrics.jsonl")).unwrap();
    assert_eq!(lines.lines().count(), 5);
}
