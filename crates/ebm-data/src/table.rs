//! [`Table`]: numeric rows with named columns and optional 0/1 labels, from CSV or NumPy files.
//!
//! [`read_table`] picks the reader by extension: `.csv` ([`read_csv`]), `.npz`
//! (the array `X`, `[rows, cols]`, and the labels `y` when present, as ADBench stores its sets)
//! or `.npy` (one `[rows, cols]` array, no labels). Every value must be finite: a NaN or an
//! infinity is [`DataError::NonFinite`] naming the row and column, not imputed.

use std::path::{Path, PathBuf};

use crate::csv::read_csv;
use crate::error::DataError;
use crate::npy::{NpyArray, read_npy, read_npz};

/// Rows of numbers with named columns and, for labelled data, one 0/1 label per row
/// (1 = anomaly in the anomaly-detection sets).
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// Where the rows came from (for messages).
    pub source: PathBuf,
    /// The column names (`x0, x1, ...` for NumPy arrays).
    pub columns: Vec<String>,
    /// The number of rows.
    pub rows: usize,
    /// The number of columns.
    pub cols: usize,
    /// The values, row-major: `rows * cols` of them.
    pub values: Vec<f64>,
    /// One label per row, if the source has labels.
    pub labels: Option<Vec<u8>>,
}

impl Table {
    /// A table of `rows` rows of `columns.len()` values, checked: at least one row and one
    /// column, as many values and labels as rows ask for, every value finite.
    pub fn new(
        source: impl Into<PathBuf>,
        columns: Vec<String>,
        rows: usize,
        values: Vec<f64>,
        labels: Option<Vec<u8>>,
    ) -> Result<Self, DataError> {
        let source = source.into();
        let cols = columns.len();
        let malformed = |reason: String| DataError::Malformed {
            path: source.clone(),
            reason,
        };
        if rows == 0 || cols == 0 {
            return Err(malformed(format!("no data: {rows} rows of {cols} columns")));
        }
        if values.len() != rows * cols {
            return Err(malformed(format!(
                "{} values for {rows} rows of {cols} columns",
                values.len()
            )));
        }
        if let Some(l) = labels.as_ref().filter(|l| l.len() != rows) {
            return Err(malformed(format!("{} labels for {rows} rows", l.len())));
        }
        if let Some(i) = values.iter().position(|v| !v.is_finite()) {
            return Err(DataError::NonFinite {
                path: source,
                row: i / cols + 1,
                column: columns[i % cols].clone(),
                value: values[i],
            });
        }
        Ok(Self {
            source,
            columns,
            rows,
            cols,
            values,
            labels,
        })
    }

    /// The values of row `i`.
    pub fn row(&self, i: usize) -> &[f64] {
        &self.values[i * self.cols..(i + 1) * self.cols]
    }

    /// The rows at `indices`, in that order, with their labels.
    pub fn select(&self, indices: &[usize]) -> Table {
        let values = indices.iter().flat_map(|&i| self.row(i)).copied().collect();
        let labels = self
            .labels
            .as_ref()
            .map(|l| indices.iter().map(|&i| l[i]).collect());
        Table {
            source: self.source.clone(),
            columns: self.columns.clone(),
            rows: indices.len(),
            cols: self.cols,
            values,
            labels,
        }
    }

    /// The labels, or an error naming the source when it has none.
    pub fn require_labels(&self) -> Result<&[u8], DataError> {
        self.labels.as_deref().ok_or_else(|| DataError::Malformed {
            path: self.source.clone(),
            reason: "no labels (an .npz needs an array `y`, a CSV a label column)".into(),
        })
    }
}

/// Reads a table from a `.csv`, `.npz` or `.npy` file (see the module docs). `label` names the
/// CSV label column or the `.npz` label array (default `y`, read when present).
pub fn read_table(path: impl AsRef<Path>, label: Option<&str>) -> Result<Table, DataError> {
    let path = path.as_ref();
    match path.extension().and_then(|e| e.to_str()) {
        Some("csv") => read_csv(path, label),
        Some("npz") => npz_table(path, label),
        Some("npy") => array_table(path, read_npy(path)?, None),
        _ => Err(DataError::Malformed {
            path: path.to_path_buf(),
            reason: "unknown table format: expected a .csv, .npz or .npy file".into(),
        }),
    }
}

fn npz_table(path: &Path, label: Option<&str>) -> Result<Table, DataError> {
    let archive = read_npz(path)?;
    let x = archive.get("X")?.clone();
    let y = match label {
        Some(name) => Some(archive.get(name)?),
        None => archive.get("y").ok(),
    };
    let labels = y.map(|y| labels_of(path, y)).transpose()?;
    array_table(path, x, labels)
}

fn labels_of(path: &Path, y: &NpyArray) -> Result<Vec<u8>, DataError> {
    if y.shape.len() != 1 {
        return Err(DataError::Malformed {
            path: path.to_path_buf(),
            reason: format!("labels must be one-dimensional, got shape {:?}", y.shape),
        });
    }
    Ok(y.data.iter().map(|&v| u8::from(v != 0.0)).collect())
}

fn array_table(path: &Path, x: NpyArray, labels: Option<Vec<u8>>) -> Result<Table, DataError> {
    let [rows, cols] = x.shape[..] else {
        return Err(DataError::Malformed {
            path: path.to_path_buf(),
            reason: format!("features must be a 2-D array, got shape {:?}", x.shape),
        });
    };
    let columns = (0..cols).map(|j| format!("x{j}")).collect();
    Table::new(path, columns, rows, x.data, labels)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(values: Vec<f64>) -> Result<Table, DataError> {
        Table::new(
            "t",
            vec!["a".into(), "b".into()],
            2,
            values,
            Some(vec![0, 1]),
        )
    }

    #[test]
    fn checks_shape_and_finiteness() {
        let t = table(vec![1.0, 2.0, 3.0, 4.0]).unwrap();
        assert_eq!(t.row(1), &[3.0, 4.0]);
        assert_eq!(t.select(&[1]).values, vec![3.0, 4.0]);
        assert_eq!(t.select(&[1]).labels, Some(vec![1]));
        assert!(table(vec![1.0, 2.0, 3.0]).is_err());
        let err = table(vec![1.0, 2.0, f64::INFINITY, 4.0])
            .unwrap_err()
            .to_string();
        assert!(err.contains("row 2") && err.contains("`a`"), "{err}");
    }

    #[test]
    fn reads_the_shipped_npz() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../datasets/adbench");
        let t = read_table(dir.join("38_thyroid.npz"), None).unwrap();
        assert_eq!((t.rows, t.cols), (3772, 6));
        let anomalies = t
            .require_labels()
            .unwrap()
            .iter()
            .filter(|&&l| l == 1)
            .count();
        assert_eq!(anomalies, 93);
        assert!(read_table(dir.join("README.md"), None).is_err());
    }
}
