//! `ebm report --run DIR`: one self-contained `report.html` in the run folder, for every kind of
//! run: the settings, the training curves (loss, the energies of data and negatives and their
//! gap, acceptance, gradient norm, learning rate, seconds per step, and whatever else the
//! trainer logs), the sample grids of every epoch as a scrubber, the other pictures (final
//! samples, trajectories, densities, restorations) and the evaluation files the commands wrote
//! (`*.json`, `*.md`: AUROC, PSNR, NLL, accuracy, ...). Training commands refresh it after every
//! epoch and write it at the end.

mod collect;
mod html;

use std::fmt::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args;
use ebm_train::RunDir;

use crate::output::write_text;
use crate::run_kind::{RunKind, read_config_value};
use collect::{EpochGrids, Picture, Row, charts, evaluation_files, flatten, pictures, read_jsonl};
use html::{HEAD, SCRIPT, escape, key_value_table, markdown};

/// Arguments of `ebm report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The run folder: a single name under `runs/`, or a path.
    #[arg(long)]
    pub run: PathBuf,
}

/// Runs `ebm report`.
pub fn run(args: ReportArgs) -> Result<()> {
    let dir = RunDir::resolve(&args.run);
    if !dir.root().is_dir() {
        bail!("run folder {} does not exist", dir.root().display());
    }
    let path = write(&dir)?;
    println!("report: {}", path.display());
    Ok(())
}

/// Rewrites the run's report, warning (not failing) when it cannot: a report must never stop
/// training.
pub fn refresh(dir: &RunDir) {
    if let Err(e) = write(dir) {
        eprintln!(
            "warning: the report of {} was not written: {e:#}",
            dir.root().display()
        );
    }
}

/// Writes `report.html` into the run folder and returns its path.
pub fn write(dir: &RunDir) -> Result<PathBuf> {
    let root = dir.root();
    let name = root
        .canonicalize()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().to_string()))
        .unwrap_or_else(|| root.display().to_string());
    let config = read_config_value(dir).ok();
    let kind = config.as_ref().and_then(RunKind::of_config);
    let mut page = format!(
        "<!doctype html><html lang=en><head>{HEAD}<title>ebm report: {}</title></head><body>",
        escape(&name)
    );
    let _ = write!(page, "<h1>Run <code>{}</code></h1>", escape(&name));
    let metrics = read_jsonl(&dir.metrics_path()).unwrap_or_default();
    let _ = write!(
        page,
        "<p class=meta>{}</p>",
        escape(&summary(kind, &metrics))
    );
    page.push_str("<nav><a href='#curves'>curves</a><a href='#samples'>samples by epoch</a><a href='#pictures'>pictures</a><a href='#evaluation'>evaluation</a><a href='#settings'>settings</a></nav>");
    page.push_str(&curves_section(root, &metrics)?);
    let (epochs, others) = pictures(root);
    page.push_str(&epochs_section(&epochs)?);
    page.push_str(&pictures_section(&others)?);
    page.push_str(&evaluation_section(root));
    page.push_str("<h2 id=settings>Settings</h2>");
    match &config {
        Some(c) => page.push_str(&key_value_table(&flatten(c))),
        None => page.push_str("<p>No <code>config.json</code> in this folder.</p>"),
    }
    page.push_str("<p id=selfcheck>self-check: not run (scripts disabled?)</p>");
    page.push_str(SCRIPT);
    page.push_str("</body></html>\n");
    let path = dir.file("report.html");
    write_text(&path, &page)?;
    Ok(path)
}

/// One line: the kind of run and how far it got.
fn summary(kind: Option<RunKind>, metrics: &[Row]) -> String {
    let mut parts = vec![match kind {
        Some(k) => format!("trained by `ebm {}`", k.command()),
        None => "not a training run".to_string(),
    }];
    if let Some(last) = metrics.last() {
        if let Some(step) = last.get("step") {
            parts.push(format!("{step} steps"));
        }
        if let Some(epoch) = last.get("epoch") {
            parts.push(format!("{epoch} epochs"));
        }
        let seconds: f64 = metrics.iter().filter_map(|r| r.get("seconds")).sum();
        if seconds > 0.0 {
            parts.push(format!("{:.0} s of training steps", seconds));
        }
        if let Some(loss) = last.get("loss") {
            parts.push(format!("last loss {loss:.4}"));
        }
    }
    parts.join(" · ")
}

fn curves_section(root: &Path, metrics: &[Row]) -> Result<String> {
    let mut html = String::from("<h2 id=curves>Training curves</h2>");
    let mut sources = vec![("metrics.jsonl".to_string(), metrics.to_vec())];
    for entry in std::fs::read_dir(root)
        .with_context(|| format!("reading {}", root.display()))?
        .flatten()
    {
        let file = entry.file_name().to_string_lossy().to_string();
        if file.ends_with(".jsonl") && file != "metrics.jsonl" {
            sources.push((file, read_jsonl(&entry.path()).unwrap_or_default()));
        }
    }
    let mut any = false;
    for (source, rows) in &sources {
        let list = charts(rows, source);
        if list.is_empty() {
            continue;
        }
        any = true;
        let _ = write!(html, "<h3>{}</h3><div class=charts>", escape(source));
        for chart in list {
            let svg = chart.to_svg()?;
            let _ = write!(
                html,
                "<figure class=chart data-title=\"{}\">{svg}</figure>",
                escape(&chart.title)
            );
        }
        html.push_str("</div>");
    }
    if !any {
        html.push_str("<p>No metrics logged (yet).</p>");
    }
    Ok(html)
}

/// A file as a `data:` URI.
fn data_uri(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let mime = if path.extension().is_some_and(|e| e == "svg") {
        "image/svg+xml"
    } else {
        "image/png"
    };
    Ok(crate::plot::data_uri(mime, &bytes))
}

fn epochs_section(epochs: &EpochGrids) -> Result<String> {
    let mut html = String::from("<h2 id=samples>Samples by epoch</h2>");
    if epochs.is_empty() {
        html.push_str("<p>This run writes no per-epoch sample grids.</p>");
    }
    for (series, frames) in epochs {
        let what = match series.as_str() {
            "buffer" => "the replay buffer",
            "fresh" => "fresh chains from noise",
            other => other,
        };
        let _ = write!(
            html,
            "<h3>{}</h3><div class=scrubber><input type=range min=0 max={} value={} aria-label=\"epoch\"> <span class=label></span><div>",
            escape(what),
            frames.len() - 1,
            frames.len() - 1
        );
        let mut strip = String::from("<div class=strip>");
        for (epoch, pic) in frames {
            let uri = data_uri(&pic.path)?;
            let alt = escape(&pic.name);
            let _ = write!(
                html,
                "<img class=frame data-label=\"epoch {epoch}\" alt=\"{alt}\" src=\"{uri}\">"
            );
            let _ = write!(
                strip,
                "<img alt=\"{alt} (thumbnail)\" title=\"epoch {epoch}\" src=\"{uri}\">"
            );
        }
        strip.push_str("</div>");
        let _ = write!(html, "</div>{strip}</div>");
    }
    Ok(html)
}

fn pictures_section(pictures: &[Picture]) -> Result<String> {
    let mut html = String::from("<h2 id=pictures>Pictures</h2>");
    if pictures.is_empty() {
        html.push_str("<p>No pictures in this run folder.</p>");
    }
    html.push_str("<div class=gallery>");
    for pic in pictures {
        let alt = escape(&pic.name);
        let _ = write!(
            html,
            "<figure><img alt=\"{alt}\" src=\"{}\"><figcaption>{alt}</figcaption></figure>",
            data_uri(&pic.path)?
        );
    }
    html.push_str("</div>");
    Ok(html)
}

fn evaluation_section(root: &Path) -> String {
    let mut html = String::from("<h2 id=evaluation>Evaluation</h2>");
    let files = evaluation_files(root);
    if files.is_empty() {
        html.push_str(
            "<p>No evaluation files yet (the commands that evaluate a run write them).</p>",
        );
    }
    for path in files {
        let name = path
            .strip_prefix(root)
            .unwrap_or(&path)
            .to_string_lossy()
            .to_string();
        let _ = write!(html, "<h3><code>{}</code></h3>", escape(&name));
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) => {
                let _ = write!(html, "<p>unreadable: {}</p>", escape(&e.to_string()));
                continue;
            }
        };
        if name.ends_with(".md") {
            html.push_str(&markdown(&text));
        } else {
            match serde_json::from_str::<serde_json::Value>(&text) {
                Ok(v) => html.push_str(&key_value_table(&flatten(&v))),
                Err(e) => {
                    let _ = write!(html, "<p>not valid JSON: {}</p>", escape(&e.to_string()));
                }
            }
        }
    }
    html
}
