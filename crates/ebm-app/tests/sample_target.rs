//! `ebm sample-target` end to end through the binary: small runs write a readable `.npy` of shape
//! `[chains, draws, dims]` and print the report; bad specs fail with a message naming the problem.

mod common;

use std::path::{Path, PathBuf};

fn ebm(args: &[&str]) -> (bool, String) {
    common::ebm(Path::new("."), args)
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ebm-sample-target-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn read_npy(path: &Path) -> (Vec<u64>, Vec<f32>) {
    let bytes = std::fs::read(path).unwrap();
    let npy = npyz::NpyFile::new(&bytes[..]).unwrap();
    let shape = npy.shape().to_vec();
    (shape, npy.into_vec::<f32>().unwrap())
}

#[test]
fn every_sampler_and_target_writes_draws_of_the_right_shape() {
    let dir = scratch("ok");
    let cases = [
        ("gauss:d=5", "mala", 5),
        ("illcond:d=4", "hmc", 4),
        ("mixture", "rwm", 2),
        ("banana", "ula", 2),
        ("funnel:d=3", "mala", 3),
    ];
    for (target, sampler, d) in cases {
        draws_of_the_right_shape(&dir, target, sampler, d);
    }
    same_seed_same_draws(&dir);
}

fn draws_of_the_right_shape(dir: &Path, target: &str, sampler: &str, d: usize) {
    {
        let out = dir.join(format!("{sampler}.npy"));
        let (ok, text) = ebm(&[
            "sample-target",
            "--target",
            target,
            "--sampler",
            sampler,
            "--chains",
            "8",
            "--warmup",
            "20",
            "--draws",
            "12",
            "--thin",
            "2",
            "--seed",
            "1",
            "--leapfrog",
            "3",
            "--device",
            "cpu",
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(ok, "{target} {sampler}: {text}");
        for word in [
            "acceptance",
            "bulk ESS min",
            "bulk ESS median",
            "R-hat max",
            "ESS/s",
        ] {
            assert!(
                text.contains(word),
                "{target} {sampler}: no `{word}` in {text}"
            );
        }
        let (shape, values) = read_npy(&out);
        assert_eq!(shape, vec![8, 12, d as u64], "{target} {sampler}");
        assert_eq!(values.len(), 8 * 12 * d);
        assert!(values.iter().all(|v| v.is_finite()), "{target} {sampler}");
        // Chains move: not every draw of a chain is the same.
        assert!(
            values[..d] != values[(11) * d..12 * d],
            "{target} {sampler}"
        );
    }
}

/// The same seed gives the same draws.
fn same_seed_same_draws(dir: &Path) {
    let again = dir.join("again.npy");
    let args = |out: &str| {
        vec![
            "sample-target".to_string(),
            "--target".into(),
            "gauss:d=3".into(),
            "--sampler".into(),
            "mala".into(),
            "--chains".into(),
            "4".into(),
            "--warmup".into(),
            "10".into(),
            "--draws".into(),
            "6".into(),
            "--seed".into(),
            "7".into(),
            "--out".into(),
            out.to_string(),
        ]
    };
    let first = dir.join("first.npy");
    for path in [&first, &again] {
        let a = args(path.to_str().unwrap());
        let a: Vec<&str> = a.iter().map(|s| s.as_str()).collect();
        let (ok, text) = ebm(&a);
        assert!(ok, "{text}");
    }
    assert_eq!(read_npy(&first), read_npy(&again));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn bad_arguments_fail_with_a_message_naming_the_problem() {
    let dir = scratch("bad");
    let out = dir.join("x.npy");
    let out = out.to_str().unwrap();
    let cases: [(&[&str], &str); 7] = [
        (
            &["--target", "gausss", "--sampler", "mala"],
            "unknown target `gausss`",
        ),
        (
            &["--target", "gauss:d=abc", "--sampler", "mala"],
            "bad `d=abc`",
        ),
        (&["--target", "gauss:d=0", "--sampler", "mala"], "bad `d=0`"),
        (
            &["--target", "banana:d=1", "--sampler", "mala"],
            "needs d >= 2",
        ),
        (
            &["--target", "gauss:k=3", "--sampler", "mala"],
            "unknown option `k`",
        ),
        (
            &["--target", "gauss", "--sampler", "nutz"],
            "unknown kernel `nutz`",
        ),
        (
            &[
                "--target",
                "gauss:d=2",
                "--sampler",
                "mala",
                "--step-size=-1",
            ],
            "--step-size must be finite and positive",
        ),
    ];
    for (args, want) in cases {
        let mut all = vec!["sample-target"];
        all.extend_from_slice(args);
        all.extend_from_slice(&[
            "--chains", "2", "--warmup", "2", "--draws", "4", "--out", out,
        ]);
        let (ok, text) = ebm(&all);
        assert!(!ok, "{args:?} should fail: {text}");
        assert!(text.contains(want), "{args:?}: no `{want}` in {text}");
        assert!(!text.contains("panicked"), "{args:?}: {text}");
    }
    assert!(!Path::new(out).exists());
    let _ = std::fs::remove_dir_all(&dir);
}

/// HMC's report counts divergent transitions: with a fixed step of 3 on `N(0, I)` (leapfrog is
/// unstable above 2) and no warm-up to adapt it away, every one of the 4 x 5 transitions
/// diverges; the kernel can be given as a spec word with parameters too.
#[test]
fn hmc_reports_its_divergences() {
    let dir = scratch("divergent");
    let out = dir.join("hmc.npy");
    let (ok, text) = ebm(&[
        "sample-target",
        "--target",
        "gauss:d=3",
        "--sampler",
        "hmc:eps=3,leapfrog=10",
        "--chains",
        "4",
        "--warmup",
        "0",
        "--draws",
        "5",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(ok, "{text}");
    assert!(text.contains("divergences      20 of 20"), "{text}");
    let (ok, text) = ebm(&[
        "sample-target",
        "--target",
        "gauss:d=3",
        "--sampler",
        "mala",
        "--chains",
        "4",
        "--warmup",
        "0",
        "--draws",
        "5",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(ok, "{text}");
    assert!(!text.contains("divergences"), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}
