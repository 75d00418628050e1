//! Running the `ebm` binary from integration tests.

use std::path::Path;
use std::process::Command;

/// Runs `ebm args...` in `dir`; returns whether it succeeded and its stdout and stderr together.
pub fn ebm(dir: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ebm"))
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}
