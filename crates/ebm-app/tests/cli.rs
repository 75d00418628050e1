//! End to end through the binary: a tiny training run, resume, then sampling from its checkpoint.

mod common;

use std::path::Path;

use common::ebm;

#[test]
fn train_resume_sample_score_and_restore_write_what_they_say() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    train_and_resume(dir);
    let run = dir.join("runs/tiny");
    sample(dir, &run);
    score(dir, &run);
    restore(dir, &run);
    report(&run);
    closed_stdout(dir);
    weights(dir);
    refusals(dir);
}

/// The report of the run holds the training curves, every epoch's grids, the trajectory and
/// what `score`, `denoise` and `inpaint` measured, and passes in a browser; a damaged copy is
/// caught (the negative control of the browser check).
fn report(run: &Path) {
    let expect = [
        "trained by `ebm train`",
        "data-title=\"loss (metrics.jsonl)\"",
        "data-title=\"gap E- - E+\"",
        "data-title=\"seconds per step\"",
        "epoch 2",
        "trajectory.png",
        "score.json",
        "auroc",
        "restore/denoise/psnr.json",
        "psnr_restored_db",
    ];
    common::check_report(run, &expect);
    if let Some((verdict, _)) = common::self_check(&common::broken_copy(&run.join("report.html"))) {
        for problem in ["damaged", "blank plot empty", "console error: deliberate"] {
            assert!(
                verdict.contains(problem),
                "`{problem}` not caught: {verdict}"
            );
        }
    }
}

/// Output into a closed pipe (`ebm ... | head`) ends the process by `SIGPIPE`, not by a panic.
fn closed_stdout(dir: &Path) {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_ebm"))
        .current_dir(dir)
        .args(["report", "--run", "tiny"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        assert!(
            out.status.success() || out.status.signal() == Some(13),
            "{:?}: {stderr}",
            out.status
        );
    }
}

/// Export as safetensors and import into a new run: the same energies.
fn weights(dir: &Path) {
    let (ok, text) = ebm(
        dir,
        &["export", "--run", "runs/tiny", "--out", "tiny.safetensors"],
    );
    assert!(ok, "{text}");
    let import = [
        "import",
        "--safetensors",
        "tiny.safetensors",
        "--run",
        "back",
    ];
    let (ok, text) = ebm(dir, &import);
    assert!(ok, "{text}");
    let scores = |run: &str| {
        let (ok, text) = ebm(
            dir,
            &["score", "--run", run, "--limit", "8", "--outliers", "noise"],
        );
        assert!(ok, "{text}");
        std::fs::read_to_string(dir.join("runs").join(run).join("scores.csv")).unwrap()
    };
    assert_eq!(
        scores("tiny"),
        scores("back"),
        "the imported run scores as the exported one"
    );
    let (ok, text) = ebm(dir, &import);
    assert!(!ok && text.contains("already holds a run"), "{text}");
    pytorch(dir);
}

/// The UvA tutorial's PyTorch weights import into a run that the commands take; files that are
/// not the tutorial's network are errors naming them.
fn pytorch(dir: &Path) {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/uva");
    let pt = fixtures.join("cnn.pt");
    let (ok, text) = ebm(
        dir,
        &["import", "--pytorch", pt.to_str().unwrap(), "--run", "uva"],
    );
    assert!(ok, "{text}");
    let (ok, text) = ebm(dir, &["sample", "--run", "uva", "--n", "2", "--steps", "2"]);
    assert!(ok, "{text}");
    // Files that are not the tutorial's network: errors naming them, never a panic.
    let not_pt = fixtures.join("inputs.npy");
    for (flag, file) in [("--pytorch", &not_pt), ("--safetensors", &pt)] {
        let (ok, text) = ebm(dir, &["import", flag, file.to_str().unwrap(), "--run", "x"]);
        let name = file.file_name().unwrap().to_str().unwrap();
        assert!(
            !ok && text.contains(name) && !text.contains("panicked"),
            "{text}"
        );
    }
}

fn lines(path: &Path) -> usize {
    std::fs::read_to_string(path).unwrap().lines().count()
}

/// A tiny training setup: 32 digits, small model, few sampler steps.
fn quick_args(data: &str) -> [&str; 14] {
    [
        "--data",
        data,
        "--limit",
        "32",
        "--batch-size",
        "8",
        "--sampler-steps",
        "5",
        "--buffer",
        "32",
        "--hidden",
        "8",
        "--fresh-steps",
        "5",
    ]
}

fn mnist() -> String {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../datasets/mnist-4k");
    data.to_str().unwrap().to_string()
}

fn train_and_resume(dir: &Path) {
    let data = mnist();
    let mut args = vec![
        "train",
        "--run",
        "tiny",
        "--epochs",
        "1",
        "--reinit-noise",
        "0.25",
    ];
    args.extend(quick_args(&data));
    let (ok, text) = ebm(dir, &args);
    assert!(ok, "{text}");
    let run = dir.join("runs/tiny");
    for f in [
        "config.json",
        "metrics.jsonl",
        "samples.npy",
        "samples.png",
        "start-samples.npy",
        "samples/epoch-001-fresh.png",
        "checkpoints/latest",
    ] {
        assert!(run.join(f).is_file(), "missing {f}: {text}");
    }
    assert_eq!(
        lines(&run.join("metrics.jsonl")),
        4,
        "32 images / batch 8 = 4 steps"
    );
    let config = std::fs::read_to_string(run.join("config.json")).unwrap();
    assert!(config.contains("\"reinit_noise\": 0.25"), "{config}");

    // Training again under the same name without --resume is refused; --resume extends the run.
    let (ok, text) = ebm(dir, &args);
    assert!(!ok && text.contains("--resume"), "{text}");
    let (ok, text) = ebm(
        dir,
        &["train", "--run", "tiny", "--resume", "--epochs", "2"],
    );
    assert!(ok, "{text}");
    assert_eq!(lines(&run.join("metrics.jsonl")), 8);
    assert_eq!(
        std::fs::read_to_string(run.join("checkpoints/latest")).unwrap(),
        "step-00000008"
    );
    short_run(dir);
}

fn short_run(dir: &Path) {
    let data = mnist();
    // Short-run negatives from a fitted base: saved in the settings, no buffer samples, kept on
    // resume.
    let mut args = vec![
        "train",
        "--run",
        "short",
        "--max-steps",
        "2",
        "--negatives",
        "short-run",
        "--base",
        "3",
    ];
    args.extend(quick_args(&data));
    let (ok, text) = ebm(dir, &args);
    assert!(
        ok && text.contains("short-run chains; fresh chains from a 3-component"),
        "{text}"
    );
    let short = dir.join("runs/short");
    let config = std::fs::read_to_string(short.join("config.json")).unwrap();
    assert!(
        config.contains("short_run") && config.contains("mixture"),
        "{config}"
    );
    assert!(short.join("samples.npy").is_file() && !short.join("buffer-samples.npy").exists());
    for (flag, value) in [
        ("--negatives", "persistent"),
        ("--base", "4"),
        ("--reinit-noise", "0.5"),
    ] {
        let resume = ["train", "--run", "short", "--resume", flag, value];
        let (ok, text) = ebm(dir, &resume);
        assert!(!ok && text.contains(flag), "{text}");
    }
}

fn sample(dir: &Path, run: &Path) {
    let (ok, text) = ebm(
        dir,
        &[
            "sample",
            "--run",
            "runs/tiny",
            "--n",
            "4",
            "--steps",
            "4",
            "--snapshots",
            "2",
        ],
    );
    assert!(ok, "{text}");
    let npy = std::fs::read(run.join("samples/sample.npy")).unwrap();
    let npy = npyz::NpyFile::new(&npy[..]).unwrap();
    assert_eq!(npy.shape(), &[4, 1, 28, 28]);
    let img = image::open(run.join("samples/trajectory.png")).unwrap();
    assert_eq!(
        img.width(),
        (3 * 30 + 2) * 3,
        "3 frames of 28 px with 2 px borders, drawn 3x"
    );
    // Another sampler by its word; a bad word is refused by name.
    let base = [
        "sample",
        "--run",
        "runs/tiny",
        "--n",
        "2",
        "--steps",
        "2",
        "--sampler",
    ];
    let (ok, text) = ebm(dir, &[&base[..], &["mala:eps=0.001"]].concat());
    assert!(ok, "{text}");
    let (ok, text) = ebm(dir, &[&base[..], &["leapfrog:eps=1"]].concat());
    assert!(!ok && text.contains("--sampler `leapfrog:eps=1`"), "{text}");
}

fn score(dir: &Path, run: &Path) {
    let (ok, text) = ebm(
        dir,
        &[
            "score",
            "--run",
            "runs/tiny",
            "--limit",
            "16",
            "--outliers",
            "noise,flip",
        ],
    );
    assert!(ok, "{text}");
    assert!(
        text.contains("AUROC") && text.contains("uniform noise") && text.contains("upside down"),
        "{text}"
    );
    let csv = std::fs::read_to_string(run.join("scores.csv")).unwrap();
    assert_eq!(
        csv.lines().count(),
        1 + 16 * 3,
        "header + 16 data + 16 noise + 16 flipped"
    );
    let (ok, text) = ebm(
        dir,
        &["score", "--run", "runs/tiny", "--outliers", "/no/such/set"],
    );
    assert!(!ok && text.contains("/no/such/set"), "{text}");
}

fn restore(dir: &Path, run: &Path) {
    for (cmd, extra) in [
        ("denoise", vec!["--sigma", "0.3"]),
        ("inpaint", vec!["--mask", "random", "--missing", "0.4"]),
    ] {
        let mut a = vec![cmd, "--run", "runs/tiny", "--n", "4", "--steps", "3"];
        a.extend(extra);
        let (ok, text) = ebm(dir, &a);
        assert!(ok, "{text}");
        assert!(
            text.contains("PSNR corrupted vs clean") && text.contains("restored vs clean"),
            "{text}"
        );
        assert!(
            run.join(format!("restore/{cmd}/before-after.png"))
                .is_file(),
            "{text}"
        );
    }
    let (ok, text) = ebm(
        dir,
        &["inpaint", "--run", "runs/tiny", "--mask", "diagonal"],
    );
    assert!(!ok && text.contains("diagonal"), "{text}");
    // Images of another size than the network's are an error naming the file, not a panic.
    let small = dir.join("small");
    std::fs::create_dir_all(&small).unwrap();
    image::GrayImage::new(20, 20)
        .save(small.join("a.png"))
        .unwrap();
    let (ok, text) = ebm(
        dir,
        &[
            "denoise",
            "--run",
            "runs/tiny",
            "--data",
            small.to_str().unwrap(),
        ],
    );
    assert!(
        !ok && text.contains("20x20") && !text.contains("panicked"),
        "{text}"
    );
}

fn refusals(dir: &Path) {
    let (ok, text) = ebm(dir, &["sample", "--run", "runs/absent"]);
    assert!(!ok && text.contains("does not exist"), "{text}");
    let (ok, text) = ebm(dir, &["train", "--run", "x", "--data", "/no/such/path"]);
    assert!(!ok && text.contains("/no/such/path"), "{text}");
    let (ok, text) = ebm(dir, &["train", "--run", "y", "--device", "tpu"]);
    assert!(
        !ok && text.contains("tpu") && text.contains("possible values"),
        "{text}"
    );
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../datasets/mnist-4k");
    let data = data.to_str().unwrap();
    let (ok, text) = ebm(
        dir,
        &["train", "--run", "z", "--data", data, "--batch-size", "0"],
    );
    assert!(
        !ok && text.contains("batch_size") && !text.contains("panicked"),
        "{text}"
    );
}
