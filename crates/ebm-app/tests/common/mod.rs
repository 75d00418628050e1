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
