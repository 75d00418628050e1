//! What a run folder holds, read for the report: its settings, the curves of `metrics.jsonl`
//! (and any other `*.jsonl`), the sample grids of every epoch, the other pictures, and the
//! evaluation files (`*.json`, `*.md`) the commands wrote.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde_json::Value;

use crate::plot::lines::{LineChart, Series};

/// Folders of a run that hold no report material (weights, nested runs of a benchmark).
const SKIP_DIRS: [&str; 3] = ["checkpoints", "best", "fits"];
/// At most this many pictures besides the epoch grids.
const MAX_PICTURES: usize = 48;
/// At most this many rows of one JSON file.
const MAX_ROWS: usize = 80;
/// Arrays longer than this are summarised, not listed.
const MAX_ARRAY: usize = 12;

/// One line of a `*.jsonl` file: its numeric fields.
pub type Row = BTreeMap<String, f64>;

/// The numeric fields of every line of a JSON-lines file (a line that does not parse, such as
/// one cut short by a crash, is skipped).
pub fn read_jsonl(path: &Path) -> Result<Vec<Row>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(text
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter_map(|v| {
            let map = v.as_object()?;
            Some(
                map.iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_f64()?)))
                    .collect(),
            )
        })
        .collect())
}

/// Pairs of fields drawn together, with their names and the title of their gap.
const PAIRS: [[&str; 5]; 2] = [
    [
        "e_pos",
        "e_neg",
        "energy of data E+",
        "energy of negatives E-",
        "gap E- - E+",
    ],
    [
        "f_data",
        "f_noise",
        "f(data)",
        "f(noise)",
        "gap f(noise) - f(data)",
    ],
];

/// The series of a metrics file against `step` (or `epoch`, or the line number).
struct Columns<'a> {
    rows: &'a [Row],
    x_key: Option<&'static str>,
}

impl Columns<'_> {
    fn x(&self, i: usize, r: &Row) -> f64 {
        self.x_key
            .and_then(|k| r.get(k).copied())
            .unwrap_or((i + 1) as f64)
    }

    /// `f(row)` against x, where it is defined.
    fn series(&self, name: &str, f: impl Fn(&Row) -> Option<f64>) -> Series {
        let points = self.rows.iter().enumerate();
        Series {
            name: name.to_string(),
            points: points
                .filter_map(|(i, r)| Some((self.x(i, r), f(r)?)))
                .collect(),
        }
    }

    fn chart(&self, title: &str, series: Vec<Series>) -> LineChart {
        LineChart {
            title: title.to_string(),
            x_label: self.x_key.unwrap_or("line").to_string(),
            series,
        }
    }
}

/// The charts of a metrics file: loss, the energies of data and negatives with their gap, then
/// every other numeric field on its own, against `step` (or `epoch`, or the line number).
pub fn charts(rows: &[Row], source: &str) -> Vec<LineChart> {
    let x_key = ["step", "epoch"]
        .into_iter()
        .find(|k| rows.iter().any(|r| r.contains_key(*k)));
    let c = Columns { rows, x_key };
    let mut keys: Vec<String> = rows.iter().flat_map(|r| r.keys().cloned()).collect();
    keys.sort();
    keys.dedup();
    keys.retain(|k| k != "epoch" && k != "step");
    let has = |k: &str| keys.iter().any(|key| key == k);
    let mut out = Vec::new();
    let mut used = vec!["loss".to_string()];
    if has("loss") {
        out.push(c.chart(
            &format!("loss ({source})"),
            vec![c.series("loss", |r| r.get("loss").copied())],
        ));
    }
    for [a, b, name_a, name_b, gap] in PAIRS.into_iter().filter(|p| has(p[0]) && has(p[1])) {
        let get = |k: &'static str| move |r: &Row| r.get(k).copied();
        out.push(c.chart(
            "energies",
            vec![c.series(name_a, get(a)), c.series(name_b, get(b))],
        ));
        out.push(c.chart(gap, vec![c.series(gap, |r| Some(r.get(b)? - r.get(a)?))]));
        used.extend([a.to_string(), b.to_string()]);
    }
    for key in keys.iter().filter(|k| !used.contains(k)) {
        let title = match key.as_str() {
            "seconds" if source == "metrics.jsonl" => "seconds per step".to_string(),
            "grad_norm" => "gradient norm".to_string(),
            "lr" => "learning rate".to_string(),
            other => other.replace('_', " "),
        };
        out.push(c.chart(&title, vec![c.series(key, |r| r.get(key).copied())]));
    }
    out.retain(|c| c.finite_points() > 0);
    out
}

/// The per-epoch grids by series, each `(epoch, picture)` in epoch order.
pub type EpochGrids = BTreeMap<String, Vec<(usize, Picture)>>;

/// A picture file of the run, with its path relative to the run folder.
#[derive(Debug, Clone)]
pub struct Picture {
    /// Relative path, shown as the caption.
    pub name: String,
    /// The file.
    pub path: PathBuf,
}

/// The pictures of a run folder: the per-epoch grids `samples/epoch-NNN-<series>.png` grouped
/// by series (in epoch order), and every other PNG or SVG (at most [`MAX_PICTURES`]).
pub fn pictures(root: &Path) -> (EpochGrids, Vec<Picture>) {
    let mut files = Vec::new();
    walk(root, root, 0, &mut files);
    files.sort_by(|a, b| {
        let depth = |p: &Picture| p.name.matches('/').count();
        depth(a).cmp(&depth(b)).then(a.name.cmp(&b.name))
    });
    let mut epochs = EpochGrids::new();
    let mut others = Vec::new();
    for pic in files {
        match epoch_grid(&pic.name) {
            Some((epoch, series)) => epochs.entry(series).or_default().push((epoch, pic)),
            None if others.len() < MAX_PICTURES => others.push(pic),
            None => {}
        }
    }
    for frames in epochs.values_mut() {
        frames.sort_by_key(|f| f.0);
    }
    (epochs, others)
}

/// `(epoch, series)` of `samples/epoch-NNN-<series>.png`.
fn epoch_grid(name: &str) -> Option<(usize, String)> {
    let file = name.strip_prefix("samples/epoch-")?.strip_suffix(".png")?;
    let (epoch, series) = file.split_once('-')?;
    Some((epoch.parse().ok()?, series.to_string()))
}

fn walk(root: &Path, dir: &Path, depth: usize, out: &mut Vec<Picture>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = path
            .strip_prefix(root)
            .unwrap_or(&path)
            .to_string_lossy()
            .replace('\\', "/");
        let file_name = entry.file_name().to_string_lossy().to_string();
        if file_name.starts_with('.') {
            continue;
        }
        if path.is_dir() {
            if depth < 2 && !SKIP_DIRS.contains(&file_name.as_str()) {
                walk(root, &path, depth + 1, out);
            }
        } else if file_name.ends_with(".png") || file_name.ends_with(".svg") {
            out.push(Picture { name, path });
        }
    }
}

/// The evaluation files of a run (`*.json` but its settings, `*.md`), root first.
pub fn evaluation_files(root: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut dirs = vec![(root.to_path_buf(), 0)];
    while let Some((dir, depth)) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().to_string();
            if name.starts_with('.') {
                continue;
            }
            if path.is_dir() {
                if depth < 2 && !SKIP_DIRS.contains(&name.as_str()) && name != "samples" {
                    dirs.push((path, depth + 1));
                }
            } else if (name.ends_with(".json") && !(depth == 0 && name == "config.json"))
                || name.ends_with(".md")
            {
                files.push(path);
            }
        }
    }
    files.sort_by(|a, b| {
        let depth = |p: &PathBuf| {
            p.strip_prefix(root)
                .map(|r| r.components().count())
                .unwrap_or(9)
        };
        depth(a).cmp(&depth(b)).then(a.cmp(b))
    });
    files
}

/// `(key path, value)` rows of a JSON value: scalars as they are, long arrays summarised, at
/// most [`MAX_ROWS`] rows.
pub fn flatten(value: &Value) -> Vec<(String, String)> {
    let mut rows = Vec::new();
    flatten_into("", value, &mut rows);
    if rows.len() > MAX_ROWS {
        let more = rows.len() - MAX_ROWS;
        rows.truncate(MAX_ROWS);
        rows.push(("...".into(), format!("{more} more values")));
    }
    rows
}

fn flatten_into(prefix: &str, value: &Value, rows: &mut Vec<(String, String)>) {
    let key = |k: &str| {
        if prefix.is_empty() {
            k.to_string()
        } else {
            format!("{prefix}.{k}")
        }
    };
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                flatten_into(&key(k), v, rows);
            }
        }
        Value::Array(items) if items.len() > MAX_ARRAY => {
            rows.push((prefix.to_string(), format!("[{} values]", items.len())));
        }
        Value::Array(items) if items.iter().all(|v| !v.is_object() && !v.is_array()) => {
            let text: Vec<String> = items.iter().map(scalar).collect();
            rows.push((prefix.to_string(), format!("[{}]", text.join(", "))));
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                flatten_into(&key(&i.to_string()), v, rows);
            }
        }
        other => rows.push((prefix.to_string(), scalar(other))),
    }
}

/// A scalar as text: numbers to at most 6 significant digits.
fn scalar(v: &Value) -> String {
    match v {
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => i.to_string(),
            (None, Some(f)) => format!("{}", (f * 1e6).round() / 1e6)
                .chars()
                .take(14)
                .collect(),
            _ => n.to_string(),
        },
        Value::String(s) => s.clone(),
        Value::Null => "–".into(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(pairs: &[(&str, f64)]) -> Row {
        pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    #[test]
    fn cd_metrics_give_loss_energies_gap_and_the_rest() {
        let rows: Vec<Row> = (1..=5)
            .map(|s| {
                row(&[
                    ("step", s as f64),
                    ("loss", 0.1),
                    ("e_pos", -1.0),
                    ("e_neg", 0.5),
                    ("lr", 1e-3),
                    ("seconds", 0.2),
                ])
            })
            .collect();
        let titles: Vec<String> = charts(&rows, "metrics.jsonl")
            .into_iter()
            .map(|c| c.title)
            .collect();
        assert_eq!(
            titles,
            [
                "loss (metrics.jsonl)",
                "energies",
                "gap E- - E+",
                "learning rate",
                "seconds per step"
            ]
        );
        let gap = &charts(&rows, "m")[2].series[0].points;
        assert_eq!(gap[0], (1.0, 1.5));
    }

    #[test]
    fn epoch_grids_are_recognised_and_json_is_flattened() {
        assert_eq!(
            epoch_grid("samples/epoch-012-fresh.png"),
            Some((12, "fresh".into()))
        );
        assert_eq!(epoch_grid("samples/trajectory.png"), None);
        let v: Value =
            serde_json::json!({"a": {"b": 1.23456789, "c": [1, 2]}, "big": vec![0; 50], "s": null});
        let rows = flatten(&v);
        assert_eq!(rows[0], ("a.b".into(), "1.234568".into()));
        assert_eq!(rows[1], ("a.c".into(), "[1, 2]".into()));
        assert_eq!(rows[2], ("big".into(), "[50 values]".into()));
    }
}
