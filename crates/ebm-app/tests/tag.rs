//! `ebm tag` end to end on the 200-sentence treebank slice: train (structured and softmax),
//! eval beside the baselines, tag raw text, and errors on bad input.

mod common;

use std::path::PathBuf;

use common::ebm;

fn slice() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../datasets/ud-en-ewt/slice/en_ewt-ud-dev-200.conllu")
}

#[test]
fn tag_train_eval_and_raw_text_on_the_slice() {
    let dir = std::env::temp_dir().join(format!("ebm-tag-e2e-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let data = slice();
    let data = data.to_str().unwrap();
    let runs = dir.join("runs");
    let runs = runs.to_str().unwrap();
    for (objective, name) in [("ml", "crf"), ("softmax", "soft"), ("cd-ffbs", "cd")] {
        let (ok, out) = ebm(
            &dir,
            &[
                "tag",
                "train",
                "--train",
                data,
                "--dev",
                data,
                "--runs",
                runs,
                "--name",
                name,
                "--objective",
                objective,
                "--epochs",
                "6",
                "--batch-size",
                "8",
                "--hidden",
                "32",
                "--seed",
                "3",
            ],
        );
        assert!(ok, "{objective}: {out}");
        let run = dir.join("runs").join(name);
        for f in [
            "config.json",
            "vocab.json",
            "baseline.json",
            "model.bpk",
            "summary.json",
        ] {
            assert!(run.join(f).is_file(), "{objective}: missing {f}");
        }
        let metrics = std::fs::read_to_string(run.join("metrics.jsonl")).unwrap();
        assert_eq!(metrics.lines().count(), 6, "{metrics}");
        let last: serde_json::Value =
            serde_json::from_str(metrics.lines().last().unwrap()).unwrap();
        let acc = last["dev_accuracy"].as_f64().unwrap();
        // 6 epochs (150 steps) on its own 200 sentences: far above the 17 tags' chance and the
        // ~20% of always answering the commonest tag, if learning works at all.
        assert!(
            acc > 0.5,
            "{objective}: accuracy on the training slice {acc}"
        );
    }
    let (ok, out) = ebm(
        &dir,
        &[
            "tag",
            "eval",
            "--run",
            &format!("{runs}/crf"),
            "--softmax-run",
            &format!("{runs}/soft"),
            "--also",
            &format!("{runs}/cd"),
            "--test",
            data,
        ],
    );
    assert!(ok, "{out}");
    for needle in ["most-frequent-tag", "ml (", "softmax (", "cd-ffbs ("] {
        assert!(out.contains(needle), "missing {needle}: {out}");
    }
    assert!(dir.join("runs/crf/eval.json").is_file());
    // Every run after the first is compared with it token by token; the counts are consistent
    // with the accuracies: correct(run) - correct(first) = wins - losses.
    let rows: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("runs/crf/eval.json")).unwrap())
            .unwrap();
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

    // Raw text, including a word never seen in training.
    let text = dir.join("raw.txt");
    std::fs::write(
        &text,
        "The quixotically flibbertigibbet cat sat .\n\nI like it\n",
    )
    .unwrap();
    let (ok, out) = ebm(
        &dir,
        &[
            "tag",
            "--run",
            &format!("{runs}/crf"),
            text.to_str().unwrap(),
        ],
    );
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

    // Bad input: a malformed treebank names the file and line; a missing run is an error.
    let bad = dir.join("bad.conllu");
    std::fs::write(&bad, "# c\n1\tA\ta\tX\t_\t_\t_\t_\t_\t_\n2\tB\tb\n").unwrap();
    let (ok, out) = ebm(
        &dir,
        &[
            "tag",
            "train",
            "--train",
            bad.to_str().unwrap(),
            "--dev",
            data,
            "--runs",
            runs,
        ],
    );
    assert!(!ok);
    assert!(out.contains("bad.conllu:3"), "{out}");
    let (ok, out) = ebm(
        &dir,
        &["tag", "--run", "no/such/run", text.to_str().unwrap()],
    );
    assert!(!ok);
    assert!(out.contains("does not exist"), "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}
