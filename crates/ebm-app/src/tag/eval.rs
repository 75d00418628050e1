//! `ebm tag eval`: UPOS accuracy on the test split of the run (`--run`), the most-frequent-tag
//! baseline, the softmax baseline beside it and further runs (`--also`), each compared with the
//! first token by token.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Result;
use burn::tensor::Device;
use clap::Args;
use ebm_tag::{MostFrequentTag, Sentence};
use ebm_train::RunDir;
use serde::Serialize;

use super::data::{DataArgs, read_sentences};
use super::run::{LoadedRun, Summary, load_run, read_json};
use crate::args::RunArgs;
use crate::output::write_json;

/// Arguments of `ebm tag eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// The structured tagger's run (`--run`, default `runs/tag-ml`) and the device.
    #[command(flatten)]
    run: RunArgs,
    /// Further runs to report beside it, for example the softmax baseline and the CD
    /// objectives (a path, or a name under `runs/`). Without it, `tag-softmax` beside the run is
    /// reported if it was trained.
    #[arg(long, num_args = 1..)]
    also: Vec<PathBuf>,
    #[command(flatten)]
    data: DataArgs,
}

/// One row of the evaluation table.
#[derive(Debug, Serialize)]
struct EvalRow {
    model: String,
    accuracy: f64,
    correct: usize,
    tokens: usize,
    train_seconds: Option<f64>,
    eval_seconds: f64,
    /// Against the first run (`--run`), token by token: how many this model gets right that the
    /// first gets wrong (`wins`), the reverse (`losses`), and McNemar's statistic
    /// `z = (wins - losses) / sqrt(wins + losses)` (|z| > 1.96: different at the 5% level).
    paired: Option<Paired>,
}

/// A paired comparison of two taggers on the same tokens (see [`EvalRow::paired`]).
#[derive(Debug, Serialize)]
struct Paired {
    wins: usize,
    losses: usize,
    z: f64,
}

impl Paired {
    fn new(this: &[bool], first: &[bool]) -> Self {
        let wins = this.iter().zip(first).filter(|&(a, b)| *a && !*b).count();
        let losses = this.iter().zip(first).filter(|&(a, b)| !*a && *b).count();
        let z = (wins as f64 - losses as f64) / ((wins + losses) as f64).sqrt().max(1.0);
        Self { wins, losses, z }
    }
}

/// The runs to report: `--run`, then `--also` (or, without it, `tag-softmax` beside the run).
fn runs_to_report(args: &EvalArgs, main: &RunDir) -> Vec<RunDir> {
    let mut runs = vec![main.clone()];
    if args.also.is_empty() {
        let sibling = main
            .root()
            .parent()
            .map(|p| RunDir::new(p.join("tag-softmax")));
        match sibling.filter(|s| s.root() != main.root() && s.root().join("config.json").is_file())
        {
            Some(s) => runs.push(s),
            None => eprintln!(
                "note: no softmax baseline run (train one with `ebm tag train --objective softmax`, and give it with --also)"
            ),
        }
    }
    runs.extend(args.also.iter().map(|p| RunDir::resolve(p)));
    runs
}

/// Whether each test token is tagged right by `run`.
fn hits(run: &LoadedRun, test: &[Sentence], device: &Device) -> Result<Vec<bool>> {
    let forms: Vec<Vec<String>> = test.iter().map(|s| s.forms.clone()).collect();
    let structured = run.config.tagger.structured;
    let pred = run
        .model
        .predict(&forms, run.vocab(), device, structured, 256)?;
    Ok(pred
        .iter()
        .zip(test)
        .flat_map(|(p, s)| {
            p.iter()
                .zip(&s.tags)
                .map(|(a, b)| run.vocab().tags[*a] == *b)
        })
        .collect())
}

/// The row of one run, paired with the first run's hits (`first` empty for the first).
fn run_row(
    dir: &RunDir,
    test: &[Sentence],
    device: &Device,
    first: &mut Vec<bool>,
) -> Result<EvalRow> {
    let run = load_run(dir, device)?;
    let t0 = Instant::now();
    let hits = hits(&run, test, device)?;
    let correct = hits.iter().filter(|&&h| h).count();
    let paired = if first.is_empty() {
        *first = hits.clone();
        None
    } else {
        Some(Paired::new(&hits, first))
    };
    let summary: Option<Summary> = read_json(&dir.file("summary.json")).ok();
    Ok(EvalRow {
        model: format!(
            "{} ({})",
            run.config.settings.objective.word(),
            dir.root().display()
        ),
        accuracy: correct as f64 / hits.len().max(1) as f64,
        correct,
        tokens: hits.len(),
        train_seconds: summary.map(|s| s.train_seconds),
        eval_seconds: t0.elapsed().as_secs_f64(),
        paired,
    })
}

fn baseline_row(dir: &RunDir, test: &[Sentence]) -> Result<EvalRow> {
    let baseline: MostFrequentTag = read_json(&dir.file("baseline.json"))?;
    let t0 = Instant::now();
    let (c, n) = baseline.accuracy(test);
    Ok(EvalRow {
        model: "most-frequent-tag".into(),
        accuracy: c as f64 / n.max(1) as f64,
        correct: c,
        tokens: n,
        train_seconds: None,
        eval_seconds: t0.elapsed().as_secs_f64(),
        paired: None,
    })
}

fn print_table(test_path: &Path, rows: &[EvalRow]) {
    println!("UPOS accuracy on {}:", test_path.display());
    for r in rows {
        let trained = r.train_seconds.map(|s| format!("  trained {s:.0} s"));
        println!(
            "  {:<48} {:>6.2}%  ({}/{}){}",
            r.model,
            100.0 * r.accuracy,
            r.correct,
            r.tokens,
            trained.as_deref().unwrap_or("")
        );
        if let Some(p) = &r.paired {
            println!(
                "      vs the first: {} tokens right where it is wrong, {} wrong where it is right, McNemar z = {:+.2}",
                p.wins, p.losses, p.z
            );
        }
    }
}

/// Runs `ebm tag eval`; writes the table to the run's `eval.json`.
pub fn eval(args: EvalArgs) -> Result<()> {
    let device = args.run.device.device()?;
    let main = args.run.existing("tag-ml")?;
    let test_path = args.data.split("test")?;
    let test = read_sentences(&test_path, "test")?;
    let mut rows = vec![baseline_row(&main, &test)?];
    let mut first_hits = Vec::new();
    for dir in runs_to_report(&args, &main) {
        rows.push(run_row(&dir, &test, &device, &mut first_hits)?);
    }
    print_table(&test_path, &rows);
    write_json(&main.file("eval.json"), &rows)
}
