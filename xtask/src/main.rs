//! `cargo xtask`: how users drive the `ebm` app.
//!
//! `cargo xtask <command> [args...]` builds the `ebm` binary in release mode and runs it with the
//! arguments passed on, from the repository root (so `datasets/` and `runs/` resolve there).
//! GPU backends: `cargo xtask --features wgpu <command> ...` builds with that Cargo feature.
//! `cargo xtask help` lists the app's commands; `cargo xtask check-size` checks the workspace's
//! limits on file and function length ([`size`]); `cargo xtask doc-check` builds the docs with
//! rustdoc's warnings as errors.

mod size;

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
    if args[0] == "check-size" {
        return check_size(&root);
    }
    if args[0] == "doc-check" {
        return doc_check(&root);
    }
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
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    let binary = target.join("release/ebm");
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

/// `cargo xtask doc-check`: builds the workspace's documentation with every rustdoc warning an
/// error (a public item without docs, a broken intra-doc link), with the `wgpu` items included.
fn doc_check(root: &Path) -> Result<ExitCode> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(&cargo)
        .current_dir(root)
        .env("RUSTDOCFLAGS", "-D warnings")
        .args([
            "doc",
            "--workspace",
            "--no-deps",
            "--features",
            "ebm-core/wgpu",
        ])
        .status()
        .with_context(|| format!("running `{cargo} doc`"))?;
    Ok(if status.success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `cargo xtask check-size`: lists every file and function over the limits.
fn check_size(root: &Path) -> Result<ExitCode> {
    let roots: Vec<PathBuf> = ["crates", "xtask", "benches", "examples"]
        .iter()
        .map(|d| root.join(d))
        .collect();
    let violations = size::check(&roots).context("reading the sources")?;
    for v in &violations {
        println!("{v}");
    }
    println!(
        "{} over the limits ({} lines a file, {} a function)",
        violations.len(),
        size::MAX_FILE_LINES,
        size::MAX_FN_LINES
    );
    Ok(if violations.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
