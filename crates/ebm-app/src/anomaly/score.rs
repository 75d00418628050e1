//! `ebm anomaly score`: the energy of every row of a table, or of a stream of CSV rows on
//! standard input, one line out per row in, flagged against the fitted alarm threshold.

use std::io::{BufRead, Write};
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args;
use ebm_core::TabularEnergy;
use ebm_data::{CsvSchema, read_table};

use super::detector::Detector;
use super::metrics::ranking;
use crate::args::RunArgs;

/// Arguments of `ebm anomaly score`.
#[derive(Debug, Args)]
pub struct ScoreArgs {
    #[command(flatten)]
    pub run: RunArgs,
    /// The rows to score: a `.csv`, `.npz` or `.npy` file, or `-` for CSV on standard input (a
    /// header line, then rows; each row is scored and written as soon as it arrives).
    #[arg(long)]
    pub data: PathBuf,
    /// The label column (CSV) or label array (`.npz`): left out of the features; with labels,
    /// AUROC and AUPRC are reported on standard error.
    #[arg(long)]
    pub label: Option<String>,
}

/// Runs `ebm anomaly score`: CSV `energy,alarm` on standard output, one line per row.
pub fn run(args: ScoreArgs) -> Result<()> {
    let dir = args.run.existing("anomaly")?;
    let device = args.run.device.device()?;
    let (detector, energy) = Detector::load(&dir, &device)?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if args.data.as_os_str() == "-" {
        let stdin = std::io::stdin();
        return score_stream(
            &detector,
            &energy,
            stdin.lock(),
            &mut out,
            args.label.as_deref(),
        );
    }
    let table = read_table(&args.data, args.label.as_deref())?;
    check_columns(&detector, table.cols)?;
    let energies = energy.score_rows(&table.values)?;
    writeln!(out, "energy,alarm")?;
    for &e in &energies {
        writeln!(out, "{e},{}", u8::from(alarm(&detector, e)))?;
    }
    out.flush()?;
    if let Some((roc, prc)) = table.labels.as_deref().and_then(|l| ranking(&energies, l)) {
        eprintln!("{} rows: AUROC {roc:.4}, AUPRC {prc:.4}", energies.len());
    }
    Ok(())
}

/// Scores CSV rows from `input` one by one, writing and flushing a line per row.
pub fn score_stream(
    detector: &Detector,
    energy: &TabularEnergy,
    input: impl BufRead,
    out: &mut impl Write,
    label: Option<&str>,
) -> Result<()> {
    let mut lines = input.lines().enumerate();
    let header = loop {
        match lines.next() {
            Some((_, line)) => {
                let line = line.context("reading standard input")?;
                if !line.trim().is_empty() {
                    break line;
                }
            }
            None => bail!("standard input is empty: expected a CSV header line"),
        }
    };
    let schema = CsvSchema::from_header("-", &header, label)?;
    check_columns(detector, schema.n_features())?;
    writeln!(out, "energy,alarm")?;
    out.flush()?;
    for (i, line) in lines {
        let line = line.context("reading standard input")?;
        if line.trim().is_empty() {
            continue;
        }
        let (row, _) = schema.parse_row(&line, i + 1)?;
        let e = energy.score_rows(&row)?[0];
        writeln!(out, "{e},{}", u8::from(alarm(detector, e)))?;
        out.flush()?;
    }
    Ok(())
}

fn alarm(detector: &Detector, energy: f64) -> bool {
    detector.threshold.is_some_and(|t| energy > t)
}

fn check_columns(detector: &Detector, cols: usize) -> Result<()> {
    if cols != detector.columns.len() {
        bail!(
            "the rows have {cols} feature columns but the detector was fitted on {} ({})",
            detector.columns.len(),
            detector.columns.join(", ")
        );
    }
    Ok(())
}
