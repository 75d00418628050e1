//! `cargo xtask`: how users drive the `ebm` app.
//!
//! `cargo xtask <command> [args...]` builds the `ebm` binary in release mode and runs it with the
//! arguments passed on, from the repository root (so `datasets/` and `runs/` resolve there).
//! GPU backends: `cargo xtask --features wgpu <command> ...` builds with that Cargo feature.
//! `cargo xtask help` lists the app's commands.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{Context, Result, bail};

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(err) => {
            eprintln!("xtask: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<ExitCode> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut features = Vec::new();
    while args.first().is_some_and(|a| a == "--features") {
        args.remove(0);
        if args.is_empty() {
            bail!("`--features` needs a value, e.g. `cargo xtask --features wgpu train`");
        }
        features.push(args.remove(0));
    }
    if args.is_empty() {
        args.push("help".into());
    }
    let root = workspace_root()?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut build = Command::new(&cargo);
    build
        .current_dir(&root)
        .args(["build", "--release", "--package", "ebm-app", "--bin", "ebm"]);
    if !features.is_empty() {
        build.args(["--features", &features.join(",")]);
    }
    let status = build
        .status()
        .with_context(|| format!("running `{cargo} build`"))?;
    if !status.success() {
        bail!("building the `ebm` binary failed ({status})");
    }
    let binary = root.join("target/release/ebm");
    let status = Command::new(&binary)
        .current_dir(&root)
        .args(&args)
        .status()
        .with_context(|| format!("running {}", binary.display()))?;
    Ok(ExitCode::from(
        status.code().unwrap_or(1).clamp(0, 255) as u8
    ))
}

/// The workspace root: the parent of this crate's manifest directory.
fn workspace_root() -> Result<PathBuf> {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .map(Path::to_path_buf)
        .context("xtask's manifest directory has no parent")
}
