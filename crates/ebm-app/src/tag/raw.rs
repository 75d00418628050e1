//! `ebm tag [FILE]`: tags raw text with a trained run, one sentence a line.

use std::io::{BufRead, Write};
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;

use super::run::load_run;
use crate::args::RunArgs;

/// Arguments of raw tagging.
#[derive(Debug, Args)]
pub struct RawArgs {
    /// Text to tag, one sentence a line, whitespace-tokenised (standard input if absent).
    input: Option<PathBuf>,
    /// The tagger's run (`--run`, default `runs/tag-ml`) and the device.
    #[command(flatten)]
    run: RunArgs,
}

/// The lines of the input file, or of standard input.
fn read_lines(input: Option<&PathBuf>) -> Result<Vec<String>> {
    match input {
        Some(path) => Ok(std::fs::read_to_string(path)
            .with_context(|| format!("reading {}", path.display()))?
            .lines()
            .map(str::to_string)
            .collect()),
        None => std::io::stdin()
            .lock()
            .lines()
            .collect::<std::io::Result<_>>()
            .context("reading standard input"),
    }
}

/// Tags every line and prints `token/TAG` pairs (an empty line stays empty).
pub fn tag_raw(args: RawArgs) -> Result<()> {
    let device = args.run.device.device()?;
    let dir = args.run.dir("tag-ml");
    let run = load_run(&dir, &device)?;
    let lines = read_lines(args.input.as_ref())?;
    let forms: Vec<Vec<String>> = lines
        .iter()
        .map(|l| l.split_whitespace().map(str::to_string).collect())
        .collect();
    let structured = run.config.tagger.structured;
    let pred = run
        .model
        .predict(&forms, run.vocab(), &device, structured, 64)?;
    let mut out = std::io::stdout().lock();
    for (f, p) in forms.iter().zip(&pred) {
        let pairs: Vec<String> = f
            .iter()
            .zip(p)
            .map(|(w, t)| format!("{w}/{}", run.vocab().tags[*t]))
            .collect();
        writeln!(out, "{}", pairs.join(" ")).context("writing standard output")?;
    }
    Ok(())
}
