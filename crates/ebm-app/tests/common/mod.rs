//! Running the `ebm` binary from integration tests.

use std::path::Path;
use std::process::Command;

/// Runs `ebm args...` in `dir`; returns whether it succeeded and its stdout and stderr together.
pub fn ebm(dir: &Path, args: &[&str]) -> (bool, String) {
    ebm_with_fault(dir, args, None)
}

/// [`ebm`] with `EBM_FAULT=fault` set when given (the process aborts at that point; see
/// `ebm_train::fit::fault`).
#[allow(dead_code)]
pub fn ebm_with_fault(dir: &Path, args: &[&str], fault: Option<&str>) -> (bool, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ebm"));
    command.current_dir(dir).args(args);
    if let Some(fault) = fault {
        command.env("EBM_FAULT", fault);
    }
    let out = command.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// The embedded digits, `datasets/mnist-4k`.
#[allow(dead_code)]
pub fn data() -> String {
    let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../datasets/mnist-4k");
    d.to_str().unwrap().to_string()
}

/// The arguments of a tiny `train-conditional` run of `target` into the run folder `run`: 80 images (64 to train, 16 held out),
/// batches of 8, 2 sampler steps, `epochs` epochs of 8 steps, at most `max_steps`.
#[allow(dead_code)]
pub fn tiny(target: &str, run: &str, epochs: &str, max_steps: Option<&str>) -> Vec<String> {
    let d = data();
    let mut args: Vec<&str> = vec![
        "train-conditional",
        "--target",
        target,
        "--run",
        run,
        "--data",
        &d,
        "--limit",
        "80",
        "--hidden",
        "4",
        "--batch-size",
        "8",
        "--sampler-steps",
        "2",
        "--buffer",
        "16",
        "--epochs",
        epochs,
    ];
    if let Some(m) = max_steps {
        args.extend(["--max-steps", m]);
    }
    args.iter().map(|s| s.to_string()).collect()
}
