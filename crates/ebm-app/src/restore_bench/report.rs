//! What `ebm restore-bench` writes: the markdown table, the JSON file and the grids.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result};
use serde::Serialize;

use super::args::RestoreBenchArgs;
use crate::output::{write_atomic, write_grid};

/// One restorer's scores on one case.
#[derive(Debug, Clone, Serialize)]
pub struct Method {
    /// The restorer.
    pub name: String,
    /// Mean PSNR (dB) against the clean images.
    pub psnr: f64,
    /// Mean SSIM against the clean images.
    pub ssim: f64,
    /// Fraction the judge puts in the clean digit's class (none without a judge).
    pub judge_agreement: Option<f64>,
}

/// One case's results.
#[derive(Debug, Clone, Serialize)]
pub struct CaseResult {
    /// The case's token.
    pub case: String,
    /// kNN's k, chosen on the validation split.
    pub k: usize,
    /// Where the chains started (`knn`, `neighbours`, `corrupted` or `noise`).
    pub start: String,
    /// The prior's temperature T (given, or chosen on the validation digits).
    pub temperature: f64,
    /// Every restorer, the corrupted images first.
    pub methods: Vec<Method>,
    /// MALA's mean acceptance probability while sampling.
    pub acceptance: f64,
    /// MALA's mean step size at the end of annealing.
    pub step_size: f64,
    /// Wall-clock seconds of the case.
    pub seconds: f64,
}

#[derive(Serialize)]
struct Report<'a> {
    settings: &'a RestoreBenchArgs,
    judge_held_out_accuracy: Option<f64>,
    judge_agreement_on_clean: Option<f64>,
    cases: Vec<&'a CaseResult>,
}

/// One line per case for the console.
pub fn summary_line(r: &CaseResult) -> String {
    let mut s = format!("{:<9}", r.case);
    for m in &r.methods {
        let _ = write!(s, " | {} {:.2} dB", m.name, m.psnr);
    }
    let _ = write!(
        s,
        " | start {}, T {:.1e}, accept {:.2}, {:.0}s",
        r.start, r.temperature, r.acceptance, r.seconds
    );
    s
}

/// The markdown table: one row per case and restorer.
pub fn table(results: &[&CaseResult]) -> String {
    let mut s = String::from(
        "| case | restorer | PSNR (dB) | SSIM | judge agrees |\n|---|---|---:|---:|---:|\n",
    );
    for r in results {
        for m in &r.methods {
            let agree = m
                .judge_agreement
                .map_or_else(|| "-".to_string(), |a| format!("{:.1}%", 100.0 * a));
            let _ = writeln!(
                s,
                "| {} | {} | {:.2} | {:.3} | {agree} |",
                r.case, m.name, m.psnr, m.ssim
            );
        }
    }
    s
}

/// The grid's images: for every row of `rows` (each a batch like the test set), the first image
/// of every class (or the first ten images without labels), in class order.
pub fn grid_images(rows: &[Vec<f32>], labels: Option<&[u8]>, len: usize) -> Vec<f32> {
    let picks: Vec<usize> = match labels {
        Some(l) => (0..10u8)
            .filter_map(|c| l.iter().position(|&x| x == c))
            .collect(),
        None => (0..10.min(rows[0].len() / len.max(1))).collect(),
    };
    let mut out = Vec::with_capacity(rows.len() * picks.len() * len);
    for row in rows {
        for &i in &picks {
            out.extend_from_slice(&row[i * len..(i + 1) * len]);
        }
    }
    out
}

/// The judge's accuracy on its held-out split and its agreement with the labels of the clean
/// bench images.
#[derive(Debug, Clone, Copy)]
pub struct JudgeScores {
    /// Accuracy on the judge's own held-out split.
    pub held_out: f64,
    /// Fraction of the clean bench images put in their class.
    pub on_clean: f64,
}

/// Writes `results.md`, `results.json` and `<case>.png` under `out`.
pub fn write_outputs(
    out: &Path,
    args: &RestoreBenchArgs,
    judge: Option<JudgeScores>,
    results: &[(CaseResult, Vec<f32>)],
    len: usize,
    item: [usize; 3],
) -> Result<()> {
    let [c, h, w] = item;
    for (r, grid) in results {
        let n = grid.len() / len.max(1);
        let cols = n.clamp(1, 10);
        write_grid(
            &out.join(format!("{}.png", r.case)),
            grid,
            [n, c, h, w],
            cols,
            2,
        )?;
    }
    let rows: Vec<&CaseResult> = results.iter().map(|(r, _)| r).collect();
    let mut md = table(&rows);
    if let Some(j) = judge {
        let _ = writeln!(
            md,
            "\nThe judge puts {:.1}% of the clean images in their class.",
            100.0 * j.on_clean
        );
    }
    let report = Report {
        settings: args,
        judge_held_out_accuracy: judge.map(|j| j.held_out),
        judge_agreement_on_clean: judge.map(|j| j.on_clean),
        cases: rows,
    };
    let json = serde_json::to_string_pretty(&report)?;
    for (name, text) in [("results.md", &md), ("results.json", &json)] {
        let path = out.join(name);
        write_atomic(&path, |tmp| {
            std::fs::write(tmp, text).with_context(|| format!("writing {}", tmp.display()))
        })?;
    }
    println!("\n{md}");
    println!(
        "table: {}; JSON: {}; grids (columns: digits 0-9; rows: clean, corrupted, kNN, weighted kNN, [median], \
         posterior mean, min energy, then one row per chain): {}/<case>.png",
        out.join("results.md").display(),
        out.join("results.json").display(),
        out.display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_takes_one_image_per_class_in_order() {
        let labels = [3u8, 0, 1, 0, 2];
        let row: Vec<f32> = (0..5).map(|i| i as f32).collect();
        let g = grid_images(&[row.clone(), row], Some(&labels), 1);
        assert_eq!(g, vec![1.0, 2.0, 4.0, 0.0, 1.0, 2.0, 4.0, 0.0]);
    }

    #[test]
    fn table_has_a_row_per_restorer() {
        let r = CaseResult {
            case: "bottom".into(),
            k: 3,
            start: "knn".into(),
            temperature: 1e-5,
            methods: vec![
                Method {
                    name: "corrupted".into(),
                    psnr: 8.0,
                    ssim: 0.3,
                    judge_agreement: None,
                },
                Method {
                    name: "kNN (k=3)".into(),
                    psnr: 14.0,
                    ssim: 0.6,
                    judge_agreement: Some(0.9),
                },
            ],
            acceptance: 0.5,
            step_size: 1e-4,
            seconds: 1.0,
        };
        let t = table(&[&r]);
        assert!(
            t.contains("| bottom | corrupted | 8.00 | 0.300 | - |"),
            "{t}"
        );
        assert!(
            t.contains("| bottom | kNN (k=3) | 14.00 | 0.600 | 90.0% |"),
            "{t}"
        );
    }
}
